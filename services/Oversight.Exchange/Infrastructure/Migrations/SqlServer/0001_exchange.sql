-- The Exchange module's own tables. Times are Unix epoch milliseconds (UTC).
-- Ids and names are NVARCHAR with a binary collation: they compare and sort exactly, as in SQLite.
-- Lists of ids (dataset ids, fields, purposes, categories) are JSON arrays; schemas are JSON.

-- The catalog. search_text is the lower-cased name and description, for the catalog search.
CREATE TABLE dataset (
    id               NVARCHAR(36) COLLATE Latin1_General_100_BIN2  NOT NULL CONSTRAINT pk_dataset PRIMARY KEY,
    owner_id         NVARCHAR(64) COLLATE Latin1_General_100_BIN2  NOT NULL,
    name             NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
    data_category    NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    fields           NVARCHAR(MAX)  NOT NULL,
    description      NVARCHAR(4000) NOT NULL,
    search_text      NVARCHAR(MAX)  NOT NULL,
    state            INT            NOT NULL CONSTRAINT ck_dataset_state CHECK (state IN (1, 2)),
    published_at_ms  BIGINT         NOT NULL,
    retired_at_ms    BIGINT         NULL,
    record_count     BIGINT         NOT NULL CONSTRAINT df_dataset_record_count DEFAULT 0 CONSTRAINT ck_dataset_record_count CHECK (record_count >= 0),
    version          BIGINT         NOT NULL
);
GO
CREATE INDEX ix_dataset_name ON dataset (name, id);
GO
CREATE INDEX ix_dataset_owner ON dataset (owner_id, name, id);
GO

-- Each dataset's data key, wrapped by the master key named by master_key_id.
CREATE TABLE vault_data_key (
    dataset_id       NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_vault_data_key PRIMARY KEY
                     CONSTRAINT fk_vault_data_key_dataset REFERENCES dataset (id),
    master_key_id    NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    wrapped_key      VARBINARY(256) NOT NULL,
    created_at_ms    BIGINT         NOT NULL,
    wrapped_at_ms    BIGINT         NOT NULL,
    version          BIGINT         NOT NULL
);
GO
CREATE INDEX ix_vault_data_key_master ON vault_data_key (master_key_id);
GO

-- The vault: one row per (dataset, record key). sealed holds the subject id, the time and the field
-- values, AES-256-GCM under the dataset's key with the dataset id and record key as associated data;
-- subject_ref is a keyed hash of the subject id (a blind index), content_mac a keyed hash of the
-- plaintext (an unchanged re-upload is not written again). No column holds a raw subject id or value.
CREATE TABLE vault_record (
    dataset_id       NVARCHAR(36) COLLATE Latin1_General_100_BIN2  NOT NULL CONSTRAINT fk_vault_record_dataset REFERENCES dataset (id),
    record_key       NVARCHAR(256) COLLATE Latin1_General_100_BIN2 NOT NULL,
    subject_ref      VARBINARY(32)  NOT NULL,
    occurred_at_ms   BIGINT         NOT NULL,
    sealed           VARBINARY(MAX) NOT NULL,
    content_mac      VARBINARY(32)  NOT NULL,
    stored_at_ms     BIGINT         NOT NULL,
    CONSTRAINT pk_vault_record PRIMARY KEY (dataset_id, record_key)
);
GO
CREATE INDEX ix_vault_record_subject ON vault_record (dataset_id, subject_ref);
GO

-- Uploads: one row per client-chosen upload id, counted batch by batch in each batch's transaction.
CREATE TABLE vault_upload (
    owner_id         NVARCHAR(64) COLLATE Latin1_General_100_BIN2  NOT NULL,
    upload_id        NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    dataset_id       NVARCHAR(36) COLLATE Latin1_General_100_BIN2  NOT NULL CONSTRAINT fk_vault_upload_dataset REFERENCES dataset (id),
    state            INT            NOT NULL CONSTRAINT ck_vault_upload_state CHECK (state IN (1, 2)),
    batches          BIGINT         NOT NULL,
    accepted         BIGINT         NOT NULL,
    replaced         BIGINT         NOT NULL,
    unchanged        BIGINT         NOT NULL,
    rejected         BIGINT         NOT NULL,
    rejections       NVARCHAR(MAX)  NOT NULL,
    started_at_ms    BIGINT         NOT NULL,
    completed_at_ms  BIGINT         NULL,
    CONSTRAINT pk_vault_upload PRIMARY KEY (owner_id, upload_id)
);
GO

-- Read models of Governance's events.
CREATE TABLE known_alliance (
    id               NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_known_alliance PRIMARY KEY,
    institution_id   NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    standing         INT            NOT NULL CONSTRAINT ck_known_alliance_standing CHECK (standing IN (1, 2, 3)),
    purposes         NVARCHAR(MAX)  NOT NULL,
    data_categories  NVARCHAR(MAX)  NOT NULL,
    fields           NVARCHAR(MAX)  NOT NULL,
    identified_data  INT            NOT NULL CONSTRAINT ck_known_alliance_identified CHECK (identified_data IN (0, 1)),
    max_retention_ms BIGINT         NOT NULL,
    valid_from_ms    BIGINT         NOT NULL,
    valid_until_ms   BIGINT         NOT NULL,
    version          BIGINT         NOT NULL
);
GO
CREATE INDEX ix_known_alliance_institution ON known_alliance (institution_id);
GO

CREATE TABLE exchange_standing (
    id               INT            NOT NULL CONSTRAINT pk_exchange_standing PRIMARY KEY CONSTRAINT ck_exchange_standing_id CHECK (id = 1),
    frozen           INT            NOT NULL CONSTRAINT ck_exchange_standing_frozen CHECK (frozen IN (0, 1)),
    reason           NVARCHAR(500)  NOT NULL,
    version          BIGINT         NOT NULL
);
GO
INSERT INTO exchange_standing (id, frozen, reason, version) VALUES (1, 0, N'', 0);
GO

-- Requests and their decisions.
CREATE TABLE data_request (
    id               NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_data_request PRIMARY KEY,
    institution_id   NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    dataset_ids      NVARCHAR(MAX)  NOT NULL,
    purpose          NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    fields           NVARCHAR(MAX)  NOT NULL,
    subject_count    INT            NOT NULL,
    occur_after_ms   BIGINT         NULL,
    occur_before_ms  BIGINT         NULL,
    state            INT            NOT NULL CONSTRAINT ck_data_request_state CHECK (state IN (1, 2)),
    rejections       NVARCHAR(MAX)  NOT NULL,
    alliance_id      NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NULL,
    alliance_version BIGINT         NOT NULL,
    rules_version    INT            NOT NULL,
    identified       INT            NOT NULL CONSTRAINT ck_data_request_identified CHECK (identified IN (0, 1)),
    decided_at_ms    BIGINT         NOT NULL,
    audit_sequence   BIGINT         NOT NULL
);
GO
CREATE INDEX ix_data_request_institution ON data_request (institution_id, id);
GO

-- The subjects a request is limited to, by dataset, as that dataset's blind index of them.
CREATE TABLE data_request_subject (
    data_request_id  NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_data_request_subject_request REFERENCES data_request (id),
    dataset_id       NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL,
    subject_ref      VARBINARY(32)  NOT NULL,
    CONSTRAINT pk_data_request_subject PRIMARY KEY (data_request_id, dataset_id, subject_ref)
);
GO
