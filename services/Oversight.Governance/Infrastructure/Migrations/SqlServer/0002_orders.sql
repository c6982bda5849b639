-- The regulator's orders: statutory mandates and the exchange's freeze.
-- Ids are NVARCHAR (as clients send every string) with a binary collation: they compare exactly,
-- as in SQLite, and index seeks need no conversion.

CREATE TABLE statutory_mandate (
    id               NVARCHAR(36) COLLATE Latin1_General_100_BIN2    NOT NULL CONSTRAINT pk_statutory_mandate PRIMARY KEY,
    legal_reference  NVARCHAR(500)  NOT NULL,
    recipient_id     NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL CONSTRAINT fk_statutory_mandate_recipient REFERENCES organisation (id),
    purposes         VARCHAR(1100)  NOT NULL,
    data_categories  VARCHAR(4200)  NOT NULL,
    valid_from_ms    BIGINT         NOT NULL,
    valid_until_ms   BIGINT         NULL,
    enacted_at_ms    BIGINT         NOT NULL,
    repealed_at_ms   BIGINT         NULL,
    repeal_reason    NVARCHAR(500)  NULL,
    version          BIGINT         NOT NULL,
    CONSTRAINT ck_statutory_mandate_validity CHECK (valid_until_ms IS NULL OR valid_until_ms > valid_from_ms)
);
GO

-- One row: whether data may leave the exchange at all.
CREATE TABLE exchange_status (
    id             INT            NOT NULL CONSTRAINT pk_exchange_status PRIMARY KEY CONSTRAINT ck_exchange_status_one_row CHECK (id = 1),
    frozen         INT            NOT NULL CONSTRAINT ck_exchange_status_frozen CHECK (frozen IN (0, 1)),
    reason         NVARCHAR(500)  NOT NULL,
    order_id       NVARCHAR(36) COLLATE Latin1_General_100_BIN2    NOT NULL,
    updated_at_ms  BIGINT         NOT NULL,
    version        BIGINT         NOT NULL
);
GO
INSERT INTO exchange_status (id, frozen, reason, order_id, updated_at_ms, version) VALUES (1, 0, '', '', 0, 0);
GO
