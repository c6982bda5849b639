-- The module's verifiable audit log (docs/audit-log.md): entries with their canonical bytes and leaf
-- hashes, the hashes of complete subtrees that make proofs O(log n) reads, the head row whose update
-- serialises appenders, the checkpoints this log signed and those it received from other logs.

-- One row: the log's size. Every append updates it first, so concurrent appenders queue on it and
-- each takes the next sequence; a rolled-back append gives its sequence back.
CREATE TABLE audit_log_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL CHECK (size >= 0)
);
INSERT INTO audit_log_head (id, size) VALUES (1, 0);

CREATE TABLE audit_entry (
    sequence       INTEGER NOT NULL PRIMARY KEY CHECK (sequence >= 0),
    recorded_at_ms INTEGER NOT NULL,
    actor_id       TEXT    NOT NULL,
    actor_kind     TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    resource       TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    subject_ref    TEXT    NULL,
    detail         TEXT    NOT NULL,
    canonical      BLOB    NOT NULL,
    leaf_hash      BLOB    NOT NULL
);
CREATE INDEX ix_audit_entry_actor ON audit_entry (actor_id, sequence);
CREATE INDEX ix_audit_entry_subject ON audit_entry (subject_ref, sequence) WHERE subject_ref IS NOT NULL;
CREATE INDEX ix_audit_entry_time ON audit_entry (recorded_at_ms, sequence);

-- Node (level, node_index) covers leaves [node_index * 2^level, (node_index + 1) * 2^level); level 0
-- is audit_entry.leaf_hash. Written when an append completes the subtree. node_id numbers every
-- subtree of every level in one sequence (in order: node_index * 2^(level+1) + 2^level - 1), so a
-- proof reads all the nodes it needs with one IN list.
CREATE TABLE audit_tree_node (
    node_id    INTEGER NOT NULL PRIMARY KEY,
    level      INTEGER NOT NULL CHECK (level > 0),
    node_index INTEGER NOT NULL CHECK (node_index >= 0),
    hash       BLOB    NOT NULL
);

CREATE TABLE audit_checkpoint (
    tree_size    INTEGER NOT NULL PRIMARY KEY CHECK (tree_size >= 0),
    root_hash    BLOB    NOT NULL,
    note         TEXT    NOT NULL,
    signed_at_ms INTEGER NOT NULL
);

CREATE TABLE audit_witnessed_checkpoint (
    origin             TEXT    NOT NULL,
    tree_size          INTEGER NOT NULL CHECK (tree_size >= 0),
    root_hash          BLOB    NOT NULL,
    note               TEXT    NOT NULL,
    signature_verified INTEGER NOT NULL,
    received_at_ms     INTEGER NOT NULL,
    PRIMARY KEY (origin, tree_size)
);
