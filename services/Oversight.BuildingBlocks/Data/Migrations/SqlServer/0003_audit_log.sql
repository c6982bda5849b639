-- The module's verifiable audit log (docs/audit-log.md): entries with their canonical bytes and leaf
-- hashes, the hashes of complete subtrees that make proofs O(log n) reads, the head row whose update
-- serialises appenders, the checkpoints this log signed and those it received from other logs.

-- One row: the log's size. Every append updates it first, so concurrent appenders queue on its row
-- lock and each takes the next sequence; a rolled-back append gives its sequence back.
CREATE TABLE audit_log_head (
    id   INT    NOT NULL CONSTRAINT pk_audit_log_head PRIMARY KEY CONSTRAINT ck_audit_log_head_id CHECK (id = 1),
    size BIGINT NOT NULL CONSTRAINT ck_audit_log_head_size CHECK (size >= 0)
);
GO
INSERT INTO audit_log_head (id, size) VALUES (1, 0);
GO

CREATE TABLE audit_entry (
    sequence       BIGINT NOT NULL CONSTRAINT pk_audit_entry PRIMARY KEY CONSTRAINT ck_audit_entry_sequence CHECK (sequence >= 0),
    recorded_at_ms BIGINT NOT NULL,
    actor_id       NVARCHAR(128) COLLATE Latin1_General_100_BIN2 NOT NULL,
    actor_kind     NVARCHAR(32) COLLATE Latin1_General_100_BIN2  NOT NULL,
    action         NVARCHAR(100) COLLATE Latin1_General_100_BIN2 NOT NULL,
    resource       NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
    outcome        NVARCHAR(32) COLLATE Latin1_General_100_BIN2  NOT NULL,
    reason         NVARCHAR(500) NOT NULL,
    subject_ref    NVARCHAR(64) COLLATE Latin1_General_100_BIN2  NULL,
    detail         NVARCHAR(MAX) NOT NULL,
    canonical      VARBINARY(MAX) NOT NULL,
    leaf_hash      BINARY(32)    NOT NULL
);
GO
CREATE INDEX ix_audit_entry_actor ON audit_entry (actor_id, sequence);
GO
CREATE INDEX ix_audit_entry_subject ON audit_entry (subject_ref, sequence) WHERE subject_ref IS NOT NULL;
GO
CREATE INDEX ix_audit_entry_time ON audit_entry (recorded_at_ms, sequence);
GO

-- Node (level, node_index) covers leaves [node_index * 2^level, (node_index + 1) * 2^level); level 0
-- is audit_entry.leaf_hash. Written when an append completes the subtree. node_id numbers every
-- subtree of every level in one sequence (in order: node_index * 2^(level+1) + 2^level - 1), so a
-- proof reads all the nodes it needs with one IN list.
CREATE TABLE audit_tree_node (
    node_id    BIGINT     NOT NULL CONSTRAINT pk_audit_tree_node PRIMARY KEY,
    level      INT        NOT NULL CONSTRAINT ck_audit_tree_node_level CHECK (level > 0),
    node_index BIGINT     NOT NULL CONSTRAINT ck_audit_tree_node_index CHECK (node_index >= 0),
    hash       BINARY(32) NOT NULL
);
GO

CREATE TABLE audit_checkpoint (
    tree_size    BIGINT        NOT NULL CONSTRAINT pk_audit_checkpoint PRIMARY KEY CONSTRAINT ck_audit_checkpoint_size CHECK (tree_size >= 0),
    root_hash    BINARY(32)    NOT NULL,
    note         NVARCHAR(MAX) NOT NULL,
    signed_at_ms BIGINT        NOT NULL
);
GO

CREATE TABLE audit_witnessed_checkpoint (
    origin             NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
    tree_size          BIGINT        NOT NULL CONSTRAINT ck_audit_witnessed_checkpoint_size CHECK (tree_size >= 0),
    root_hash          BINARY(32)    NOT NULL,
    note               NVARCHAR(MAX) NOT NULL,
    signature_verified BIT           NOT NULL,
    received_at_ms     BIGINT        NOT NULL,
    CONSTRAINT pk_audit_witnessed_checkpoint PRIMARY KEY (origin, tree_size)
);
GO
