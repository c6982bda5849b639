-- The venture's founding, its share classes and the append-only share ledger.

-- One row once founded: the primary key makes founding happen at most once.
CREATE TABLE venture (
    id             INT            NOT NULL CONSTRAINT pk_venture PRIMARY KEY CONSTRAINT ck_venture_one_row CHECK (id = 1),
    founded_at_ms  BIGINT         NOT NULL,
    founded_by     NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    -- Bumped by every ledger append (optimistic concurrency): two settlements never both apply.
    ledger_version BIGINT NOT NULL CONSTRAINT df_venture_ledger_version DEFAULT 0
);
GO

CREATE TABLE share_class (
    id               NVARCHAR(32) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_share_class PRIMARY KEY,
    kind             INT     NOT NULL CONSTRAINT ck_share_class_kind CHECK (kind IN (1, 2)),
    votes_per_share  BIGINT  NOT NULL CONSTRAINT ck_share_class_votes CHECK (votes_per_share >= 0),
    authorised       BIGINT  NOT NULL CONSTRAINT ck_share_class_authorised CHECK (authorised > 0),
    transferable     INT     NOT NULL CONSTRAINT ck_share_class_transferable CHECK (transferable IN (0, 1))
);
GO

CREATE TABLE share_ledger (
    sequence        BIGINT IDENTITY(1,1) NOT NULL CONSTRAINT pk_share_ledger PRIMARY KEY,
    entry_kind      INT     NOT NULL CONSTRAINT ck_share_ledger_kind CHECK (entry_kind IN (1, 2, 3)),
    class_id        NVARCHAR(32) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_share_ledger_class REFERENCES share_class (id),
    from_holder_id  NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NULL CONSTRAINT fk_share_ledger_from REFERENCES organisation (id),
    to_holder_id    NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NULL CONSTRAINT fk_share_ledger_to REFERENCES organisation (id),
    quantity        BIGINT  NOT NULL CONSTRAINT ck_share_ledger_quantity CHECK (quantity > 0),
    recorded_at_ms  BIGINT  NOT NULL,
    reason          NVARCHAR(500) NOT NULL,
    CONSTRAINT ck_share_ledger_parties CHECK ((entry_kind = 1 AND from_holder_id IS NULL AND to_holder_id IS NOT NULL)
        OR (entry_kind = 2 AND from_holder_id IS NOT NULL AND to_holder_id IS NOT NULL)
        OR (entry_kind = 3 AND from_holder_id IS NOT NULL AND to_holder_id IS NULL))
);
GO

CREATE TABLE share_transfer (
    id                 NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_share_transfer PRIMARY KEY,
    class_id           NVARCHAR(32) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_share_transfer_class REFERENCES share_class (id),
    seller_id          NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_share_transfer_seller REFERENCES organisation (id),
    buyer_id           NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_share_transfer_buyer REFERENCES organisation (id),
    quantity           BIGINT        NOT NULL CONSTRAINT ck_share_transfer_quantity CHECK (quantity > 0),
    state              INT           NOT NULL CONSTRAINT ck_share_transfer_state CHECK (state IN (1, 2, 3, 4)),
    approval_reason    NVARCHAR(500) NULL,
    requested_at_ms    BIGINT        NOT NULL,
    decided_at_ms      BIGINT        NULL,
    decision_reason    NVARCHAR(500) NULL,
    ledger_sequence    BIGINT        NULL CONSTRAINT fk_share_transfer_ledger REFERENCES share_ledger (sequence),
    version            BIGINT        NOT NULL,
    CONSTRAINT ck_share_transfer_parties CHECK (seller_id <> buyer_id)
);
GO
CREATE INDEX ix_share_transfer_state ON share_transfer (state, requested_at_ms);
GO
