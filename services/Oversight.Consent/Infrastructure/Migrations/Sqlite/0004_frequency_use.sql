-- A use of a consent with a frequency limit, reserved by a delivery's check when the consent allows
-- its subject. Uses are counted from these and from the disclosures Exchange reports, so a limit holds
-- before a delivery's DataDisclosed has crossed the bus (the broker down, two deliveries at once).
-- A delivery is one use of a consent, however many of its pages are checked.
CREATE TABLE frequency_use (
    consent_id   TEXT    NOT NULL,
    delivery_id  TEXT    NOT NULL,
    used_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (consent_id, delivery_id)
);
