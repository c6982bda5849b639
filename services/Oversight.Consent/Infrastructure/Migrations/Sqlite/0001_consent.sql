-- The Consent module's own tables. Times are Unix epoch milliseconds (UTC).
-- Artefacts never change after issue except for status columns; category and purpose lists are
-- space-separated ids (ids contain no spaces).

CREATE TABLE purpose (
    id            TEXT NOT NULL PRIMARY KEY,
    display_name  TEXT NOT NULL,
    description   TEXT NOT NULL
);

CREATE TABLE data_category (
    id            TEXT    NOT NULL PRIMARY KEY,
    parent_id     TEXT    NULL REFERENCES data_category (id),
    display_name  TEXT    NOT NULL,
    sensitive     INTEGER NOT NULL CHECK (sensitive IN (0, 1)),
    description   TEXT    NOT NULL
);

CREATE TABLE known_organisation (
    id            TEXT    NOT NULL PRIMARY KEY,
    kind          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    jurisdiction  TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE consent_artefact (
    id                TEXT    NOT NULL PRIMARY KEY,
    subject_id        TEXT    NOT NULL,
    controller_id     TEXT    NOT NULL,
    recipient_id      TEXT    NOT NULL,
    purpose_id        TEXT    NOT NULL REFERENCES purpose (id),
    data_categories   TEXT    NOT NULL,
    valid_from_ms     INTEGER NOT NULL,
    valid_until_ms    INTEGER NOT NULL,
    mode              INTEGER NOT NULL CHECK (mode IN (1, 2)),
    data_life_s       INTEGER NOT NULL CHECK (data_life_s >= 0),
    frequency_max     INTEGER NULL CHECK (frequency_max > 0),
    frequency_period  INTEGER NULL CHECK (frequency_period IN (1, 2, 3)),
    record_from_ms    INTEGER NULL,
    record_until_ms   INTEGER NULL,
    evidence_json     TEXT    NOT NULL,
    status            INTEGER NOT NULL CHECK (status IN (1, 2, 3, 4, 5)),
    status_reason     TEXT    NULL,
    supersedes_id     TEXT    NULL UNIQUE REFERENCES consent_artefact (id),
    superseded_by_id  TEXT    NULL,
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL,
    version           INTEGER NOT NULL,
    receipt_jws       TEXT    NOT NULL,
    receipt_key_id    TEXT    NOT NULL,
    CHECK (valid_until_ms > valid_from_ms),
    CHECK (mode = 2 OR data_life_s = 0)
);
CREATE INDEX ix_consent_artefact_check ON consent_artefact (controller_id, recipient_id, subject_id);
CREATE INDEX ix_consent_artefact_subject ON consent_artefact (subject_id, created_at_ms, id);
CREATE INDEX ix_consent_artefact_controller ON consent_artefact (controller_id, created_at_ms, id);
CREATE INDEX ix_consent_artefact_expiry ON consent_artefact (valid_until_ms) WHERE status IN (1, 2);

-- Every state change, in commit order; the sequence is the consistency token's clock.
CREATE TABLE consent_change (
    sequence       INTEGER PRIMARY KEY AUTOINCREMENT,
    consent_id     TEXT    NOT NULL REFERENCES consent_artefact (id),
    version        INTEGER NOT NULL,
    status         INTEGER NOT NULL,
    reason         TEXT    NULL,
    actor_id       TEXT    NOT NULL,
    changed_at_ms  INTEGER NOT NULL,
    UNIQUE (consent_id, version)
);

CREATE TABLE statutory_mandate (
    id               TEXT    NOT NULL PRIMARY KEY,
    legal_reference  TEXT    NOT NULL,
    recipient_id     TEXT    NOT NULL,
    purposes         TEXT    NOT NULL,
    data_categories  TEXT    NOT NULL,
    valid_from_ms    INTEGER NOT NULL,
    valid_until_ms   INTEGER NULL,
    repealed_at_ms   INTEGER NULL,
    version          INTEGER NOT NULL,
    enacted_at_ms    INTEGER NOT NULL
);
CREATE INDEX ix_statutory_mandate_recipient ON statutory_mandate (recipient_id);

CREATE TABLE disclosure (
    delivery_id      TEXT    NOT NULL,
    subject_id       TEXT    NOT NULL,
    controller_id    TEXT    NOT NULL,
    recipient_id     TEXT    NOT NULL,
    purpose_id       TEXT    NOT NULL,
    data_categories  TEXT    NOT NULL,
    consent_id       TEXT    NULL,
    mandate_id       TEXT    NULL,
    disclosed_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, subject_id)
);
CREATE INDEX ix_disclosure_subject ON disclosure (subject_id, disclosed_at_ms);
CREATE INDEX ix_disclosure_consent ON disclosure (consent_id, disclosed_at_ms);

CREATE TABLE erasure_request (
    id                     TEXT    NOT NULL PRIMARY KEY,
    subject_id             TEXT    NOT NULL,
    controller_id          TEXT    NOT NULL,
    status                 INTEGER NOT NULL CHECK (status IN (1, 2)),
    created_at_ms          INTEGER NOT NULL,
    completed_at_ms        INTEGER NULL,
    erased_record_count    INTEGER NOT NULL DEFAULT 0,
    revoked_consent_count  INTEGER NOT NULL DEFAULT 0
);
