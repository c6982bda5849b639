-- Alliances with government-backed institutions: formed by a passed proposal, ACTIVE only once the
-- regulator approves. The scope is kept as the protobuf message it was proposed with.

CREATE TABLE alliance (
    id               NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_alliance PRIMARY KEY,
    proposal_id      NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT uq_alliance_proposal UNIQUE
                     CONSTRAINT fk_alliance_proposal REFERENCES proposal (id),
    institution_id   NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_alliance_institution REFERENCES organisation (id),
    scope            VARBINARY(MAX) NOT NULL,
    valid_until_ms   BIGINT         NOT NULL,
    state            INT            NOT NULL CONSTRAINT ck_alliance_state CHECK (state IN (1, 2, 3, 4, 5, 6)),
    state_reason     NVARCHAR(500)  NULL,
    updated_at_ms    BIGINT         NOT NULL,
    version          BIGINT         NOT NULL
);
GO
CREATE INDEX ix_alliance_expiry ON alliance (valid_until_ms) WHERE state IN (2, 3);
GO
