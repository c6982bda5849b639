using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>The SQL of the audit log, in the subset SQLite and SQL Server share; paging through the dialect.</summary>
[SqlStatements]
public static class AuditSql
{
    private const string EntryColumns = """
        sequence AS Sequence, recorded_at_ms AS RecordedAtMs, actor_id AS ActorId, actor_kind AS ActorKind, action AS Action,
        resource AS Resource, outcome AS Outcome, reason AS Reason, subject_ref AS SubjectRef, detail AS Detail,
        canonical AS Canonical, leaf_hash AS LeafHash
        """;

    /// <summary>
    /// Takes the next sequence: the UPDATE comes first in the append, so a concurrent appender waits
    /// on the head row (SQL Server's row lock; SQLite's single writer) until this transaction ends.
    /// </summary>
    /// <remarks>One statement that moves the head and returns it (RETURNING, OUTPUT): it runs inside every audited write.</remarks>
    public static string AdvanceHead(SqlDialect dialect) => dialect.Provider == DatabaseProvider.SqlServer
        ? "UPDATE audit_log_head SET size = size + 1 OUTPUT inserted.size WHERE id = 1;"
        : "UPDATE audit_log_head SET size = size + 1 WHERE id = 1 RETURNING size;";

    /// <summary>Holds the head row for the rest of the transaction without moving it (signing a checkpoint).</summary>
    public static string HoldHead => """
        UPDATE audit_log_head SET size = size WHERE id = 1;
        SELECT size FROM audit_log_head WHERE id = 1;
        """;

    public static string HeadSize => "SELECT size FROM audit_log_head WHERE id = 1;";

    public static string InsertEntry => """
        INSERT INTO audit_entry (sequence, recorded_at_ms, actor_id, actor_kind, action, resource, outcome, reason, subject_ref, detail, canonical, leaf_hash)
        VALUES (@Sequence, @RecordedAtMs, @ActorId, @ActorKind, @Action, @Resource, @Outcome, @Reason, @SubjectRef, @Detail, @Canonical, @LeafHash);
        """;

    public static string InsertNode => "INSERT INTO audit_tree_node (node_id, level, node_index, hash) VALUES (@Id, @Level, @Index, @Hash);";

    /// <summary>The leaf hashes of several entries at once (a proof's level-0 reads).</summary>
    public static string LeafHashes => "SELECT sequence AS Id, leaf_hash AS Hash FROM audit_entry WHERE sequence IN @Ids;";

    /// <summary>Several stored subtrees at once, by node id (a proof's, an append's or a verifier page's reads).</summary>
    public static string NodeHashes => "SELECT node_id AS Id, hash AS Hash FROM audit_tree_node WHERE node_id IN @Ids;";

    public static string Entry => $"SELECT {EntryColumns} FROM audit_entry WHERE sequence = @Sequence;";

    /// <summary>A page of entries after a sequence, in order, each filter applying when its parameter is not null.</summary>
    public static string ListEntries(SqlDialect dialect) => dialect.Page($"""
        SELECT {EntryColumns} FROM audit_entry
         WHERE sequence > @After
           AND (@From IS NULL OR recorded_at_ms >= @From)
           AND (@Until IS NULL OR recorded_at_ms < @Until)
           AND (@ActorId IS NULL OR actor_id = @ActorId)
           AND (@Action IS NULL OR action = @Action)
           AND (@Resource IS NULL OR resource = @Resource)
           AND (@SubjectRef IS NULL OR subject_ref = @SubjectRef)
         ORDER BY sequence
        """, "@Limit");

    /// <summary>The entries with sequences in [@From, @To), in order (the verifier's pages; it reads the columns by position).</summary>
    public static string EntriesBetween => $"SELECT {EntryColumns} FROM audit_entry WHERE sequence >= @From AND sequence < @To ORDER BY sequence;";

    /// <summary>
    /// The stored subtrees with node ids in [@From, @To): by <see cref="MerkleHashing.NodeId"/>, every
    /// subtree inside leaves [a, b) has an id in [2a, 2b), so a verifier page reads its nodes as one range.
    /// </summary>
    public static string NodesBetween => "SELECT node_id AS Id, hash AS Hash FROM audit_tree_node WHERE node_id >= @From AND node_id < @To;";

    private const string CheckpointColumns = "tree_size AS TreeSize, root_hash AS RootHash, note AS Note, signed_at_ms AS SignedAtMs";

    public static string InsertCheckpoint => """
        INSERT INTO audit_checkpoint (tree_size, root_hash, note, signed_at_ms) VALUES (@TreeSize, @RootHash, @Note, @SignedAtMs);
        """;

    public static string LatestCheckpoint(SqlDialect dialect) =>
        dialect.Page($"SELECT {CheckpointColumns} FROM audit_checkpoint ORDER BY tree_size DESC", "1");

    public static string CheckpointAt => $"SELECT {CheckpointColumns} FROM audit_checkpoint WHERE tree_size = @TreeSize;";

    /// <summary>The signed checkpoints after a size, in order, a page at a time (the verifier).</summary>
    public static string CheckpointsAfter(SqlDialect dialect) =>
        dialect.Page($"SELECT {CheckpointColumns} FROM audit_checkpoint WHERE tree_size > @After ORDER BY tree_size", "@Limit");

    private const string WitnessedColumns = """
        origin AS Origin, tree_size AS TreeSize, root_hash AS RootHash, note AS Note,
        signature_verified AS SignatureVerified, received_at_ms AS ReceivedAtMs
        """;

    public static string InsertWitnessed => """
        INSERT INTO audit_witnessed_checkpoint (origin, tree_size, root_hash, note, signature_verified, received_at_ms)
        VALUES (@Origin, @TreeSize, @RootHash, @Note, @SignatureVerified, @ReceivedAtMs);
        """;

    public static string WitnessedAt => $"SELECT {WitnessedColumns} FROM audit_witnessed_checkpoint WHERE origin = @Origin AND tree_size = @TreeSize;";

    /// <summary>A page of witnessed checkpoints after (origin, size), optionally of one origin.</summary>
    public static string ListWitnessed(SqlDialect dialect) => dialect.Page($"""
        SELECT {WitnessedColumns} FROM audit_witnessed_checkpoint
         WHERE (@Origin IS NULL OR origin = @Origin)
           AND (origin > @AfterOrigin OR (origin = @AfterOrigin AND tree_size > @AfterSize))
         ORDER BY origin, tree_size
        """, "@Limit");

    // ---- carried over from the denial audit kept before the log (table access_denial) --------

    public static string LegacyDenials(SqlDialect dialect) => dialect.Page("""
        SELECT sequence AS Sequence, denied_at_ms AS AtMs, caller_id AS ActorId, caller_kind AS ActorKind, 'access.denied' AS Action,
               CASE WHEN resource = '' THEN method ELSE resource END AS Resource, 'refused' AS Outcome, reason AS Reason, method AS Method
          FROM access_denial ORDER BY sequence
        """, "@Limit");

    public static string DeleteLegacyDenials => "DELETE FROM access_denial WHERE sequence IN @Sequences;";

    // ---- point lookups (SQLite reads a proof's few subtrees with one prepared statement each) --------

    /// <summary>One leaf hash, by sequence.</summary>
    public static string LeafHash => "SELECT leaf_hash AS Hash FROM audit_entry WHERE sequence = @Id;";

    /// <summary>One stored subtree's hash, by node id.</summary>
    public static string NodeHash => "SELECT hash AS Hash FROM audit_tree_node WHERE node_id = @Id;";
}
