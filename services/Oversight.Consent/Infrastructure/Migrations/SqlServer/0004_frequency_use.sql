-- A use of a consent with a frequency limit, reserved by a delivery's check when the consent allows
-- its subject. Uses are counted from these and from the disclosures Exchange reports, so a limit holds
-- before a delivery's DataDisclosed has crossed the bus (the broker down, two deliveries at once).
-- A delivery is one use of a consent, however many of its pages are checked.
CREATE TABLE frequency_use (
    consent_id   NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL,
    delivery_id  NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    used_at_ms   BIGINT NOT NULL,
    CONSTRAINT pk_frequency_use PRIMARY KEY (consent_id, delivery_id)
);
GO
