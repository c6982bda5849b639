-- Executive appointments: passed by a proposal, in office only once the regulator approves.

CREATE TABLE executive_appointment (
    id                 TEXT    NOT NULL PRIMARY KEY,
    proposal_id        TEXT    NOT NULL UNIQUE REFERENCES proposal (id),
    person_name        TEXT    NOT NULL,
    role               TEXT    NOT NULL,
    state              INTEGER NOT NULL CHECK (state IN (1, 2, 3, 4)),
    effective_at_ms    INTEGER NULL,
    ended_at_ms        INTEGER NULL,
    decision_reason    TEXT    NULL,
    version            INTEGER NOT NULL
);
-- One holder per role in office: the database refuses a second approval, whatever the code does.
CREATE UNIQUE INDEX ux_executive_one_per_role ON executive_appointment (role) WHERE state = 2;
