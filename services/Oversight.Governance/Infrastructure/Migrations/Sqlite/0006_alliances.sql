-- Alliances with government-backed institutions: formed by a passed proposal, ACTIVE only once the
-- regulator approves. The scope is kept as the protobuf message it was proposed with.

CREATE TABLE alliance (
    id               TEXT    NOT NULL PRIMARY KEY,
    proposal_id      TEXT    NOT NULL UNIQUE REFERENCES proposal (id),
    institution_id   TEXT    NOT NULL REFERENCES organisation (id),
    scope            BLOB    NOT NULL,
    valid_until_ms   INTEGER NOT NULL,
    state            INTEGER NOT NULL CHECK (state IN (1, 2, 3, 4, 5, 6)),
    state_reason     TEXT    NULL,
    updated_at_ms    INTEGER NOT NULL,
    version          INTEGER NOT NULL
);
CREATE INDEX ix_alliance_expiry ON alliance (valid_until_ms) WHERE state IN (2, 3);
