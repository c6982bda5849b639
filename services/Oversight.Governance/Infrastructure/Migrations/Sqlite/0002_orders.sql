-- The regulator's orders: statutory mandates and the exchange's freeze.

CREATE TABLE statutory_mandate (
    id               TEXT    NOT NULL PRIMARY KEY,
    legal_reference  TEXT    NOT NULL,
    recipient_id     TEXT    NOT NULL REFERENCES organisation (id),
    purposes         TEXT    NOT NULL,
    data_categories  TEXT    NOT NULL,
    valid_from_ms    INTEGER NOT NULL,
    valid_until_ms   INTEGER NULL,
    enacted_at_ms    INTEGER NOT NULL,
    repealed_at_ms   INTEGER NULL,
    repeal_reason    TEXT    NULL,
    version          INTEGER NOT NULL,
    CHECK (valid_until_ms IS NULL OR valid_until_ms > valid_from_ms)
);

-- One row: whether data may leave the exchange at all.
CREATE TABLE exchange_status (
    id             INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    frozen         INTEGER NOT NULL CHECK (frozen IN (0, 1)),
    reason         TEXT    NOT NULL,
    order_id       TEXT    NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    version        INTEGER NOT NULL
);
INSERT INTO exchange_status (id, frozen, reason, order_id, updated_at_ms, version) VALUES (1, 0, '', '', 0, 0);
