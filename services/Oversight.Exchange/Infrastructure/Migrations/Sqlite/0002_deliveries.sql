-- Deliveries of approved requests, page by page, and the data's life after it left.
-- withheld is a JSON object of record counts by Consent's deny reason.

CREATE TABLE delivery (
    id                    TEXT    NOT NULL PRIMARY KEY,
    data_request_id       TEXT    NOT NULL REFERENCES data_request (id),
    recipient_id          TEXT    NOT NULL,
    state                 INTEGER NOT NULL CHECK (state IN (1, 2, 3)),
    stop_reason           TEXT    NOT NULL,
    pages                 INTEGER NOT NULL,
    delivered             INTEGER NOT NULL,
    withheld              TEXT    NOT NULL,
    started_at_ms         INTEGER NOT NULL,
    retention_deadline_ms INTEGER NULL,
    purge_attested_at_ms  INTEGER NULL,
    purged_at_ms          INTEGER NULL,
    purge_statement       TEXT    NULL,
    version               INTEGER NOT NULL
);
CREATE INDEX ix_delivery_request ON delivery (data_request_id, id);
CREATE INDEX ix_delivery_recipient ON delivery (recipient_id, id);
CREATE INDEX ix_delivery_overdue ON delivery (retention_deadline_ms, id) WHERE purge_attested_at_ms IS NULL;

-- The platforms whose data a delivery carries, so each can list its own.
CREATE TABLE delivery_controller (
    delivery_id           TEXT    NOT NULL REFERENCES delivery (id),
    controller_id         TEXT    NOT NULL,
    PRIMARY KEY (delivery_id, controller_id)
);
CREATE INDEX ix_delivery_controller ON delivery_controller (controller_id, delivery_id);

-- Each page sent: where it ended in the request's datasets (so a delivery resumes after it), what it
-- carried and withheld, and its audit entry.
CREATE TABLE delivery_page (
    delivery_id           TEXT    NOT NULL REFERENCES delivery (id),
    page_number           INTEGER NOT NULL,
    dataset_index         INTEGER NOT NULL,
    last_record_key       TEXT    NOT NULL,
    delivered             INTEGER NOT NULL,
    withheld              TEXT    NOT NULL,
    retention_deadline_ms INTEGER NULL,
    audit_sequence        INTEGER NOT NULL,
    sent_at_ms            INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, page_number)
);
