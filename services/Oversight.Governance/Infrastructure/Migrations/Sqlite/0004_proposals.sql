-- Proposals with their frozen rules and tally, and every ballot ever cast (the last one per holder counts).

CREATE TABLE proposal (
    id               TEXT    NOT NULL PRIMARY KEY,
    category         INTEGER NOT NULL CHECK (category IN (1, 2, 3)),
    title            TEXT    NOT NULL,
    action           BLOB    NOT NULL,
    proposer_id      TEXT    NOT NULL,
    open_at_ms       INTEGER NOT NULL,
    close_at_ms      INTEGER NOT NULL,
    related_parties  TEXT    NOT NULL,
    rule_version     INTEGER NOT NULL,
    quorum_num       INTEGER NOT NULL,
    quorum_den       INTEGER NOT NULL CHECK (quorum_den > 0),
    majority_num     INTEGER NOT NULL,
    majority_den     INTEGER NOT NULL CHECK (majority_den > 0),
    withdrawn_at_ms  INTEGER NULL,
    outcome          INTEGER NULL CHECK (outcome IN (1, 2, 3, 4)),
    entitled_weight  INTEGER NULL,
    for_weight       INTEGER NULL,
    against_weight   INTEGER NULL,
    abstain_weight   INTEGER NULL,
    recused          TEXT    NULL,
    explanation      TEXT    NULL,
    tallied_at_ms    INTEGER NULL,
    created_at_ms    INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    CHECK (close_at_ms > open_at_ms)
);
CREATE INDEX ix_proposal_due ON proposal (close_at_ms) WHERE outcome IS NULL AND withdrawn_at_ms IS NULL;

CREATE TABLE ballot (
    sequence     INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id  TEXT    NOT NULL REFERENCES proposal (id),
    holder_id    TEXT    NOT NULL REFERENCES organisation (id),
    choice       INTEGER NOT NULL CHECK (choice IN (1, 2, 3)),
    weight       INTEGER NOT NULL CHECK (weight > 0),
    cast_at_ms   INTEGER NOT NULL
);
CREATE INDEX ix_ballot_proposal ON ballot (proposal_id, holder_id, sequence);
