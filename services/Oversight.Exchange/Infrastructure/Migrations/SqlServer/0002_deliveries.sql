-- Deliveries of approved requests, page by page, and the data's life after it left.
-- withheld is a JSON object of record counts by Consent's deny reason.

CREATE TABLE delivery (
    id                    NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT pk_delivery PRIMARY KEY,
    data_request_id       NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_delivery_request REFERENCES data_request (id),
    recipient_id          NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    state                 INT            NOT NULL CONSTRAINT ck_delivery_state CHECK (state IN (1, 2, 3)),
    stop_reason           NVARCHAR(500)  NOT NULL,
    pages                 BIGINT         NOT NULL,
    delivered             BIGINT         NOT NULL,
    withheld              NVARCHAR(MAX)  NOT NULL,
    started_at_ms         BIGINT         NOT NULL,
    retention_deadline_ms BIGINT         NULL,
    purge_attested_at_ms  BIGINT         NULL,
    purged_at_ms          BIGINT         NULL,
    purge_statement       NVARCHAR(1024) NULL,
    version               BIGINT         NOT NULL
);
GO
CREATE INDEX ix_delivery_request ON delivery (data_request_id, id);
GO
CREATE INDEX ix_delivery_recipient ON delivery (recipient_id, id);
GO
CREATE INDEX ix_delivery_overdue ON delivery (retention_deadline_ms, id) WHERE purge_attested_at_ms IS NULL;
GO

-- The platforms whose data a delivery carries, so each can list its own.
CREATE TABLE delivery_controller (
    delivery_id           NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_delivery_controller_delivery REFERENCES delivery (id),
    controller_id         NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    CONSTRAINT pk_delivery_controller PRIMARY KEY (delivery_id, controller_id)
);
GO
CREATE INDEX ix_delivery_controller ON delivery_controller (controller_id, delivery_id);
GO

-- Each page sent: where it ended in the request's datasets (so a delivery resumes after it), what it
-- carried and withheld, and its audit entry.
CREATE TABLE delivery_page (
    delivery_id           NVARCHAR(36) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT fk_delivery_page_delivery REFERENCES delivery (id),
    page_number           BIGINT         NOT NULL,
    dataset_index         INT            NOT NULL,
    last_record_key       NVARCHAR(256) COLLATE Latin1_General_100_BIN2 NOT NULL,
    delivered             BIGINT         NOT NULL,
    withheld              NVARCHAR(MAX)  NOT NULL,
    retention_deadline_ms BIGINT         NULL,
    audit_sequence        BIGINT         NOT NULL,
    sent_at_ms            BIGINT         NOT NULL,
    CONSTRAINT pk_delivery_page PRIMARY KEY (delivery_id, page_number)
);
GO
