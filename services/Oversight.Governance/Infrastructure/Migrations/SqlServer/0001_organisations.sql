-- The Governance module's registry of organisations and its append-only audit.
-- Ids are NVARCHAR (as clients send every string) with a binary collation: they compare exactly,
-- as in SQLite, and index seeks need no conversion.
-- Times are Unix epoch milliseconds (UTC); affiliations are space-separated organisation ids.

CREATE TABLE organisation (
    id             NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL CONSTRAINT pk_organisation PRIMARY KEY,
    kind           NVARCHAR(32) COLLATE Latin1_General_100_BIN2    NOT NULL CONSTRAINT ck_organisation_kind CHECK (kind IN ('platform', 'institution', 'regulator', 'state_investor', 'operator')),
    name           NVARCHAR(200)  NOT NULL,
    jurisdiction   VARCHAR(2)     NOT NULL,
    affiliations   VARCHAR(2200)  NOT NULL,
    created_at_ms  BIGINT         NOT NULL,
    updated_at_ms  BIGINT         NOT NULL,
    version        BIGINT         NOT NULL
);
GO
-- Exactly one regulator: the database refuses a second, whatever the code does.
CREATE UNIQUE INDEX ux_organisation_one_regulator ON organisation (kind) WHERE kind = 'regulator';
GO

CREATE TABLE governance_audit (
    sequence       BIGINT IDENTITY(1,1) NOT NULL CONSTRAINT pk_governance_audit PRIMARY KEY,
    at_ms          BIGINT         NOT NULL,
    actor_id       NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL,
    actor_kind     NVARCHAR(32) COLLATE Latin1_General_100_BIN2    NOT NULL,
    action         VARCHAR(64)    NOT NULL,
    target         VARCHAR(200)   NOT NULL,
    detail         NVARCHAR(MAX)  NOT NULL
);
GO
