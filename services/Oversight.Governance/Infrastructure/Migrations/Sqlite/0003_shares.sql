-- The venture's founding, its share classes and the append-only share ledger.

-- One row once founded: the primary key makes founding happen at most once.
CREATE TABLE venture (
    id             INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    founded_at_ms  INTEGER NOT NULL,
    founded_by     TEXT    NOT NULL,
    -- Bumped by every ledger append (optimistic concurrency): two settlements never both apply.
    ledger_version INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE share_class (
    id               TEXT    NOT NULL PRIMARY KEY,
    kind             INTEGER NOT NULL CHECK (kind IN (1, 2)),
    votes_per_share  INTEGER NOT NULL CHECK (votes_per_share >= 0),
    authorised       INTEGER NOT NULL CHECK (authorised > 0),
    transferable     INTEGER NOT NULL CHECK (transferable IN (0, 1))
);

CREATE TABLE share_ledger (
    sequence        INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_kind      INTEGER NOT NULL CHECK (entry_kind IN (1, 2, 3)),
    class_id        TEXT    NOT NULL REFERENCES share_class (id),
    from_holder_id  TEXT    NULL REFERENCES organisation (id),
    to_holder_id    TEXT    NULL REFERENCES organisation (id),
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    recorded_at_ms  INTEGER NOT NULL,
    reason          TEXT    NOT NULL,
    CHECK ((entry_kind = 1 AND from_holder_id IS NULL AND to_holder_id IS NOT NULL)
        OR (entry_kind = 2 AND from_holder_id IS NOT NULL AND to_holder_id IS NOT NULL)
        OR (entry_kind = 3 AND from_holder_id IS NOT NULL AND to_holder_id IS NULL))
);

CREATE TABLE share_transfer (
    id                 TEXT    NOT NULL PRIMARY KEY,
    class_id           TEXT    NOT NULL REFERENCES share_class (id),
    seller_id          TEXT    NOT NULL REFERENCES organisation (id),
    buyer_id           TEXT    NOT NULL REFERENCES organisation (id),
    quantity           INTEGER NOT NULL CHECK (quantity > 0),
    state              INTEGER NOT NULL CHECK (state IN (1, 2, 3, 4)),
    approval_reason    TEXT    NULL,
    requested_at_ms    INTEGER NOT NULL,
    decided_at_ms      INTEGER NULL,
    decision_reason    TEXT    NULL,
    ledger_sequence    INTEGER NULL REFERENCES share_ledger (sequence),
    version            INTEGER NOT NULL,
    CHECK (seller_id <> buyer_id)
);
CREATE INDEX ix_share_transfer_state ON share_transfer (state, requested_at_ms);
