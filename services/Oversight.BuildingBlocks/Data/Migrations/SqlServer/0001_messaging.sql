-- Tables every module's database has: the outbox, the inbox, idempotent requests, the denial audit.
-- Ids are NVARCHAR (as clients send every string) with a binary collation: they compare exactly,
-- as in SQLite, and index seeks need no conversion.
-- Times are Unix epoch milliseconds (UTC) in every table, in both dialects.

CREATE TABLE outbox_message (
    sequence        BIGINT IDENTITY(1,1) NOT NULL CONSTRAINT pk_outbox_message PRIMARY KEY,
    message_id      NVARCHAR(36) COLLATE Latin1_General_100_BIN2    NOT NULL CONSTRAINT uq_outbox_message_id UNIQUE,
    message_type    NVARCHAR(200) COLLATE Latin1_General_100_BIN2   NOT NULL,
    body            NVARCHAR(MAX)  NOT NULL,
    occurred_at_ms  BIGINT         NOT NULL,
    sent_at_ms      BIGINT         NULL,
    attempts        INT            NOT NULL CONSTRAINT df_outbox_message_attempts DEFAULT 0,
    last_error      NVARCHAR(1000) NULL,
    lease_owner     NVARCHAR(200) COLLATE Latin1_General_100_BIN2   NULL,
    lease_until_ms  BIGINT         NULL
);
GO
CREATE INDEX ix_outbox_message_unsent ON outbox_message (sequence) WHERE sent_at_ms IS NULL;
GO

CREATE TABLE inbox_message (
    message_id      NVARCHAR(36) COLLATE Latin1_General_100_BIN2   NOT NULL,
    consumer        NVARCHAR(200) COLLATE Latin1_General_100_BIN2  NOT NULL,
    processed_at_ms BIGINT        NOT NULL,
    CONSTRAINT pk_inbox_message PRIMARY KEY (message_id, consumer)
);
GO

CREATE TABLE idempotent_request (
    caller_id       NVARCHAR(128) COLLATE Latin1_General_100_BIN2   NOT NULL,
    request_id      NVARCHAR(128) COLLATE Latin1_General_100_BIN2  NOT NULL,
    operation       NVARCHAR(200) COLLATE Latin1_General_100_BIN2   NOT NULL,
    request_hash    VARBINARY(32)  NOT NULL,
    response        VARBINARY(MAX) NULL,
    created_at_ms   BIGINT         NOT NULL,
    CONSTRAINT pk_idempotent_request PRIMARY KEY (caller_id, request_id)
);
GO

CREATE TABLE access_denial (
    sequence        BIGINT IDENTITY(1,1) NOT NULL CONSTRAINT pk_access_denial PRIMARY KEY,
    denied_at_ms    BIGINT         NOT NULL,
    caller_id       NVARCHAR(128) COLLATE Latin1_General_100_BIN2  NOT NULL,
    caller_kind     NVARCHAR(32) COLLATE Latin1_General_100_BIN2   NOT NULL,
    method          NVARCHAR(200) COLLATE Latin1_General_100_BIN2   NOT NULL,
    resource        NVARCHAR(200)  NOT NULL,
    reason          NVARCHAR(500)  NOT NULL
);
GO
