-- Proposals with their frozen rules and tally, and every ballot ever cast (the last one per holder counts).

CREATE TABLE proposal (
    id               NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_proposal PRIMARY KEY,
    category         INT            NOT NULL CONSTRAINT ck_proposal_category CHECK (category IN (1, 2, 3)),
    title            NVARCHAR(200)  NOT NULL,
    action           VARBINARY(MAX) NOT NULL,
    proposer_id      NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    open_at_ms       BIGINT         NOT NULL,
    close_at_ms      BIGINT         NOT NULL,
    related_parties  NVARCHAR(2200) NOT NULL,
    rule_version     INT            NOT NULL,
    quorum_num       BIGINT         NOT NULL,
    quorum_den       BIGINT         NOT NULL CONSTRAINT ck_proposal_quorum_den CHECK (quorum_den > 0),
    majority_num     BIGINT         NOT NULL,
    majority_den     BIGINT         NOT NULL CONSTRAINT ck_proposal_majority_den CHECK (majority_den > 0),
    withdrawn_at_ms  BIGINT         NULL,
    outcome          INT            NULL CONSTRAINT ck_proposal_outcome CHECK (outcome IN (1, 2, 3, 4)),
    entitled_weight  BIGINT         NULL,
    for_weight       BIGINT         NULL,
    against_weight   BIGINT         NULL,
    abstain_weight   BIGINT         NULL,
    recused          NVARCHAR(2200) NULL,
    explanation      NVARCHAR(1000) NULL,
    tallied_at_ms    BIGINT         NULL,
    created_at_ms    BIGINT         NOT NULL,
    version          BIGINT         NOT NULL,
    CONSTRAINT ck_proposal_window CHECK (close_at_ms > open_at_ms)
);
GO
CREATE INDEX ix_proposal_due ON proposal (close_at_ms) WHERE outcome IS NULL AND withdrawn_at_ms IS NULL;
GO

CREATE TABLE ballot (
    sequence     BIGINT IDENTITY(1,1) NOT NULL CONSTRAINT pk_ballot PRIMARY KEY,
    proposal_id  NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_ballot_proposal REFERENCES proposal (id),
    holder_id    NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_ballot_holder REFERENCES organisation (id),
    choice       INT            NOT NULL CONSTRAINT ck_ballot_choice CHECK (choice IN (1, 2, 3)),
    weight       BIGINT         NOT NULL CONSTRAINT ck_ballot_weight CHECK (weight > 0),
    cast_at_ms   BIGINT         NOT NULL
);
GO
CREATE INDEX ix_ballot_proposal ON ballot (proposal_id, holder_id, sequence);
GO
