-- The Consent module's own tables. Times are Unix epoch milliseconds (UTC).
-- Ids are NVARCHAR (as clients send every string) with a binary collation: they compare exactly,
-- as in SQLite, and index seeks need no conversion.
-- Artefacts never change after issue except for status columns; category and purpose lists are
-- space-separated ids (ids contain no spaces).

CREATE TABLE purpose (
    id            NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL CONSTRAINT pk_purpose PRIMARY KEY,
    display_name  NVARCHAR(128)  NOT NULL,
    description   NVARCHAR(1000) NOT NULL
);
GO

CREATE TABLE data_category (
    id            NVARCHAR(128) COLLATE Latin1_General_100_BIN2   NOT NULL CONSTRAINT pk_data_category PRIMARY KEY,
    parent_id     NVARCHAR(128) COLLATE Latin1_General_100_BIN2   NULL CONSTRAINT fk_data_category_parent REFERENCES data_category (id),
    display_name  NVARCHAR(128)  NOT NULL,
    sensitive     INT            NOT NULL CONSTRAINT ck_data_category_sensitive CHECK (sensitive IN (0, 1)),
    description   NVARCHAR(1000) NOT NULL
);
GO

CREATE TABLE known_organisation (
    id            NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL CONSTRAINT pk_known_organisation PRIMARY KEY,
    kind          NVARCHAR(32) COLLATE Latin1_General_100_BIN2    NOT NULL,
    name          NVARCHAR(200)  NOT NULL,
    jurisdiction  VARCHAR(2)     NOT NULL,
    version       BIGINT         NOT NULL,
    updated_at_ms BIGINT         NOT NULL
);
GO

CREATE TABLE consent_artefact (
    id                NVARCHAR(36) COLLATE Latin1_General_100_BIN2    NOT NULL CONSTRAINT pk_consent_artefact PRIMARY KEY,
    subject_id        NVARCHAR(128) COLLATE Latin1_General_100_BIN2  NOT NULL,
    controller_id     NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL,
    recipient_id      NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL,
    purpose_id        NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL CONSTRAINT fk_consent_artefact_purpose REFERENCES purpose (id),
    data_categories   VARCHAR(4200)  NOT NULL,
    valid_from_ms     BIGINT         NOT NULL,
    valid_until_ms    BIGINT         NOT NULL,
    mode              INT            NOT NULL CONSTRAINT ck_consent_artefact_mode CHECK (mode IN (1, 2)),
    data_life_s       BIGINT         NOT NULL CONSTRAINT ck_consent_artefact_data_life CHECK (data_life_s >= 0),
    frequency_max     INT            NULL CONSTRAINT ck_consent_artefact_frequency_max CHECK (frequency_max > 0),
    frequency_period  INT            NULL CONSTRAINT ck_consent_artefact_frequency_period CHECK (frequency_period IN (1, 2, 3)),
    record_from_ms    BIGINT         NULL,
    record_until_ms   BIGINT         NULL,
    evidence_json     NVARCHAR(MAX)  NOT NULL,
    status            INT            NOT NULL CONSTRAINT ck_consent_artefact_status CHECK (status IN (1, 2, 3, 4, 5)),
    status_reason     NVARCHAR(500)  NULL,
    supersedes_id     NVARCHAR(36) COLLATE Latin1_General_100_BIN2    NULL CONSTRAINT fk_consent_artefact_supersedes REFERENCES consent_artefact (id),
    superseded_by_id  NVARCHAR(36) COLLATE Latin1_General_100_BIN2    NULL,
    created_at_ms     BIGINT         NOT NULL,
    updated_at_ms     BIGINT         NOT NULL,
    version           BIGINT         NOT NULL,
    receipt_jws       VARCHAR(MAX)   NOT NULL,
    receipt_key_id    NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL,
    CONSTRAINT ck_consent_artefact_validity CHECK (valid_until_ms > valid_from_ms),
    CONSTRAINT ck_consent_artefact_view_keeps_nothing CHECK (mode = 2 OR data_life_s = 0)
);
GO
CREATE UNIQUE INDEX ux_consent_artefact_supersedes ON consent_artefact (supersedes_id) WHERE supersedes_id IS NOT NULL;
CREATE INDEX ix_consent_artefact_check ON consent_artefact (controller_id, recipient_id, subject_id);
CREATE INDEX ix_consent_artefact_subject ON consent_artefact (subject_id, created_at_ms, id);
CREATE INDEX ix_consent_artefact_controller ON consent_artefact (controller_id, created_at_ms, id);
CREATE INDEX ix_consent_artefact_expiry ON consent_artefact (valid_until_ms) WHERE status IN (1, 2);
GO

-- Every state change, in commit order; the sequence is the consistency token's clock.
CREATE TABLE consent_change (
    sequence       BIGINT IDENTITY(1,1) NOT NULL CONSTRAINT pk_consent_change PRIMARY KEY,
    consent_id     NVARCHAR(36) COLLATE Latin1_General_100_BIN2    NOT NULL CONSTRAINT fk_consent_change_artefact REFERENCES consent_artefact (id),
    version        BIGINT         NOT NULL,
    status         INT            NOT NULL,
    reason         NVARCHAR(500)  NULL,
    actor_id       NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL,
    changed_at_ms  BIGINT         NOT NULL,
    CONSTRAINT uq_consent_change_version UNIQUE (consent_id, version)
);
GO

CREATE TABLE statutory_mandate (
    id               NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL CONSTRAINT pk_statutory_mandate PRIMARY KEY,
    legal_reference  NVARCHAR(500)  NOT NULL,
    recipient_id     NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL,
    purposes         VARCHAR(2000)  NOT NULL,
    data_categories  VARCHAR(4200)  NOT NULL,
    valid_from_ms    BIGINT         NOT NULL,
    valid_until_ms   BIGINT         NULL,
    repealed_at_ms   BIGINT         NULL,
    version          BIGINT         NOT NULL,
    enacted_at_ms    BIGINT         NOT NULL
);
GO
CREATE INDEX ix_statutory_mandate_recipient ON statutory_mandate (recipient_id);
GO

CREATE TABLE disclosure (
    delivery_id      NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL,
    subject_id       NVARCHAR(128) COLLATE Latin1_General_100_BIN2  NOT NULL,
    controller_id    NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL,
    recipient_id     NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL,
    purpose_id       NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL,
    data_categories  VARCHAR(4200)  NOT NULL,
    consent_id       NVARCHAR(36) COLLATE Latin1_General_100_BIN2    NULL,
    mandate_id       NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NULL,
    disclosed_at_ms  BIGINT         NOT NULL,
    CONSTRAINT pk_disclosure PRIMARY KEY (delivery_id, subject_id)
);
GO
CREATE INDEX ix_disclosure_subject ON disclosure (subject_id, disclosed_at_ms);
CREATE INDEX ix_disclosure_consent ON disclosure (consent_id, disclosed_at_ms);
GO

CREATE TABLE erasure_request (
    id                     NVARCHAR(36) COLLATE Latin1_General_100_BIN2    NOT NULL CONSTRAINT pk_erasure_request PRIMARY KEY,
    subject_id             NVARCHAR(128) COLLATE Latin1_General_100_BIN2  NOT NULL,
    controller_id          NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL,
    status                 INT            NOT NULL CONSTRAINT ck_erasure_request_status CHECK (status IN (1, 2)),
    created_at_ms          BIGINT         NOT NULL,
    completed_at_ms        BIGINT         NULL,
    erased_record_count    BIGINT         NOT NULL CONSTRAINT df_erasure_request_erased DEFAULT 0,
    revoked_consent_count  INT            NOT NULL CONSTRAINT df_erasure_request_revoked DEFAULT 0
);
GO
