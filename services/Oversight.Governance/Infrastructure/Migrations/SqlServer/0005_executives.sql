-- Executive appointments: passed by a proposal, in office only once the regulator approves.

CREATE TABLE executive_appointment (
    id                 NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_executive_appointment PRIMARY KEY,
    proposal_id        NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT uq_executive_appointment_proposal UNIQUE
                       CONSTRAINT fk_executive_appointment_proposal REFERENCES proposal (id),
    person_name        NVARCHAR(200)  NOT NULL,
    role               NVARCHAR(32) COLLATE Latin1_General_100_BIN2 NOT NULL,
    state              INT            NOT NULL CONSTRAINT ck_executive_appointment_state CHECK (state IN (1, 2, 3, 4)),
    effective_at_ms    BIGINT         NULL,
    ended_at_ms        BIGINT         NULL,
    decision_reason    NVARCHAR(500)  NULL,
    version            BIGINT         NOT NULL
);
GO
-- One holder per role in office: the database refuses a second approval, whatever the code does.
CREATE UNIQUE INDEX ux_executive_one_per_role ON executive_appointment (role) WHERE state = 2;
GO
