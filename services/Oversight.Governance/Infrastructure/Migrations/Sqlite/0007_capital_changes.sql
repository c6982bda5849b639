-- Changes of share capital that passed proposals order, the regulator's cancellation of a
-- proposal, and appointments withdrawn before the regulator decided.

ALTER TABLE proposal ADD COLUMN cancelled_at_ms INTEGER NULL;

CREATE TABLE capital_change (
    id               TEXT    NOT NULL PRIMARY KEY,
    proposal_id      TEXT    NOT NULL UNIQUE REFERENCES proposal (id),
    kind             INTEGER NOT NULL CHECK (kind IN (1, 2)),
    state            INTEGER NOT NULL CHECK (state IN (1, 2, 3, 4)),
    approval_reason  TEXT    NULL,
    created_at_ms    INTEGER NOT NULL,
    decided_at_ms    INTEGER NULL,
    decision_reason  TEXT    NULL,
    ledger_sequence  INTEGER NULL REFERENCES share_ledger (sequence),
    version          INTEGER NOT NULL
);
CREATE INDEX ix_capital_change_state ON capital_change (state, id);

-- One line per holder: the shares issued to it or cancelled from it.
CREATE TABLE capital_change_line (
    change_id  TEXT    NOT NULL REFERENCES capital_change (id),
    holder_id  TEXT    NOT NULL REFERENCES organisation (id),
    class_id   TEXT    NOT NULL REFERENCES share_class (id),
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (change_id, holder_id)
);

CREATE INDEX ix_share_transfer_id ON share_transfer (state, id);

-- Appointments gain a fifth state, WITHDRAWN; SQLite changes a CHECK by rebuilding the table.
CREATE TABLE executive_appointment_v2 (
    id                 TEXT    NOT NULL PRIMARY KEY,
    proposal_id        TEXT    NOT NULL UNIQUE REFERENCES proposal (id),
    person_name        TEXT    NOT NULL,
    role               TEXT    NOT NULL,
    state              INTEGER NOT NULL CHECK (state IN (1, 2, 3, 4, 5)),
    effective_at_ms    INTEGER NULL,
    ended_at_ms        INTEGER NULL,
    decision_reason    TEXT    NULL,
    version            INTEGER NOT NULL
);
INSERT INTO executive_appointment_v2 (id, proposal_id, person_name, role, state, effective_at_ms, ended_at_ms, decision_reason, version)
SELECT id, proposal_id, person_name, role, state, effective_at_ms, ended_at_ms, decision_reason, version FROM executive_appointment;
DROP TABLE executive_appointment;
ALTER TABLE executive_appointment_v2 RENAME TO executive_appointment;
CREATE UNIQUE INDEX ux_executive_one_per_role ON executive_appointment (role) WHERE state = 2;
