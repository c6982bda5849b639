-- The Exchange module's own tables. Times are Unix epoch milliseconds (UTC).
-- Lists of ids (dataset ids, fields, purposes, categories) are JSON arrays; schemas are JSON.

-- The catalog. search_text is the lower-cased name and description, for the catalog search.
CREATE TABLE dataset (
    id               TEXT    NOT NULL PRIMARY KEY,
    owner_id         TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    data_category    TEXT    NOT NULL,
    fields           TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    search_text      TEXT    NOT NULL,
    state            INTEGER NOT NULL CHECK (state IN (1, 2)),
    published_at_ms  INTEGER NOT NULL,
    retired_at_ms    INTEGER NULL,
    record_count     INTEGER NOT NULL DEFAULT 0 CHECK (record_count >= 0),
    version          INTEGER NOT NULL
);
CREATE INDEX ix_dataset_name ON dataset (name, id);
CREATE INDEX ix_dataset_owner ON dataset (owner_id, name, id);

-- Each dataset's data key, wrapped by the master key named by master_key_id.
CREATE TABLE vault_data_key (
    dataset_id       TEXT    NOT NULL PRIMARY KEY REFERENCES dataset (id),
    master_key_id    TEXT    NOT NULL,
    wrapped_key      BLOB    NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    wrapped_at_ms    INTEGER NOT NULL,
    version          INTEGER NOT NULL
);
CREATE INDEX ix_vault_data_key_master ON vault_data_key (master_key_id);

-- The vault: one row per (dataset, record key). sealed holds the subject id, the time and the field
-- values, AES-256-GCM under the dataset's key with the dataset id and record key as associated data;
-- subject_ref is a keyed hash of the subject id (a blind index), content_mac a keyed hash of the
-- plaintext (an unchanged re-upload is not written again). No column holds a raw subject id or value.
CREATE TABLE vault_record (
    dataset_id       TEXT    NOT NULL REFERENCES dataset (id),
    record_key       TEXT    NOT NULL,
    subject_ref      BLOB    NOT NULL,
    occurred_at_ms   INTEGER NOT NULL,
    sealed           BLOB    NOT NULL,
    content_mac      BLOB    NOT NULL,
    stored_at_ms     INTEGER NOT NULL,
    PRIMARY KEY (dataset_id, record_key)
);
CREATE INDEX ix_vault_record_subject ON vault_record (dataset_id, subject_ref);

-- Uploads: one row per client-chosen upload id, counted batch by batch in each batch's transaction.
CREATE TABLE vault_upload (
    owner_id         TEXT    NOT NULL,
    upload_id        TEXT    NOT NULL,
    dataset_id       TEXT    NOT NULL REFERENCES dataset (id),
    state            INTEGER NOT NULL CHECK (state IN (1, 2)),
    batches          INTEGER NOT NULL,
    accepted         INTEGER NOT NULL,
    replaced         INTEGER NOT NULL,
    unchanged        INTEGER NOT NULL,
    rejected         INTEGER NOT NULL,
    rejections       TEXT    NOT NULL,
    started_at_ms    INTEGER NOT NULL,
    completed_at_ms  INTEGER NULL,
    PRIMARY KEY (owner_id, upload_id)
);

-- Read models of Governance's events.
CREATE TABLE known_alliance (
    id               TEXT    NOT NULL PRIMARY KEY,
    institution_id   TEXT    NOT NULL,
    standing         INTEGER NOT NULL CHECK (standing IN (1, 2, 3)),
    purposes         TEXT    NOT NULL,
    data_categories  TEXT    NOT NULL,
    fields           TEXT    NOT NULL,
    identified_data  INTEGER NOT NULL CHECK (identified_data IN (0, 1)),
    max_retention_ms INTEGER NOT NULL,
    valid_from_ms    INTEGER NOT NULL,
    valid_until_ms   INTEGER NOT NULL,
    version          INTEGER NOT NULL
);
CREATE INDEX ix_known_alliance_institution ON known_alliance (institution_id);

CREATE TABLE exchange_standing (
    id               INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    frozen           INTEGER NOT NULL CHECK (frozen IN (0, 1)),
    reason           TEXT    NOT NULL,
    version          INTEGER NOT NULL
);
INSERT INTO exchange_standing (id, frozen, reason, version) VALUES (1, 0, '', 0);

-- Requests and their decisions.
CREATE TABLE data_request (
    id               TEXT    NOT NULL PRIMARY KEY,
    institution_id   TEXT    NOT NULL,
    dataset_ids      TEXT    NOT NULL,
    purpose          TEXT    NOT NULL,
    fields           TEXT    NOT NULL,
    subject_count    INTEGER NOT NULL,
    occur_after_ms   INTEGER NULL,
    occur_before_ms  INTEGER NULL,
    state            INTEGER NOT NULL CHECK (state IN (1, 2)),
    rejections       TEXT    NOT NULL,
    alliance_id      TEXT    NULL,
    alliance_version INTEGER NOT NULL,
    rules_version    INTEGER NOT NULL,
    identified       INTEGER NOT NULL CHECK (identified IN (0, 1)),
    decided_at_ms    INTEGER NOT NULL,
    audit_sequence   INTEGER NOT NULL
);
CREATE INDEX ix_data_request_institution ON data_request (institution_id, id);

-- The subjects a request is limited to, by dataset, as that dataset's blind index of them.
CREATE TABLE data_request_subject (
    data_request_id  TEXT    NOT NULL REFERENCES data_request (id),
    dataset_id       TEXT    NOT NULL,
    subject_ref      BLOB    NOT NULL,
    PRIMARY KEY (data_request_id, dataset_id, subject_ref)
);
