-- Tables every module's database has: the outbox, the inbox, idempotent requests, the denial audit.
-- Times are Unix epoch milliseconds (UTC) in every table, in both dialects.

CREATE TABLE outbox_message (
    sequence        INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT    NOT NULL UNIQUE,
    message_type    TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    occurred_at_ms  INTEGER NOT NULL,
    sent_at_ms      INTEGER NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NULL,
    lease_owner     TEXT    NULL,
    lease_until_ms  INTEGER NULL
);
CREATE INDEX ix_outbox_message_unsent ON outbox_message (sequence) WHERE sent_at_ms IS NULL;

CREATE TABLE inbox_message (
    message_id      TEXT    NOT NULL,
    consumer        TEXT    NOT NULL,
    processed_at_ms INTEGER NOT NULL,
    PRIMARY KEY (message_id, consumer)
);

CREATE TABLE idempotent_request (
    caller_id       TEXT    NOT NULL,
    request_id      TEXT    NOT NULL,
    operation       TEXT    NOT NULL,
    request_hash    BLOB    NOT NULL,
    response        BLOB    NULL,
    created_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (caller_id, request_id)
);

CREATE TABLE access_denial (
    sequence        INTEGER PRIMARY KEY AUTOINCREMENT,
    denied_at_ms    INTEGER NOT NULL,
    caller_id       TEXT    NOT NULL,
    caller_kind     TEXT    NOT NULL,
    method          TEXT    NOT NULL,
    resource        TEXT    NOT NULL,
    reason          TEXT    NOT NULL
);
