using System.Data.Common;
using System.Text.Json;
using Dapper;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>Which entries a list asks for; a null field does not filter.</summary>
public sealed record AuditEntryFilter(
    DateTimeOffset? From = null, DateTimeOffset? Until = null, string? ActorId = null, string? Action = null, string? Resource = null, string? SubjectRef = null);

/// <summary>A checkpoint this log signed, as stored.</summary>
public sealed record SignedCheckpoint(long TreeSize, byte[] RootHash, string Note, DateTimeOffset SignedAt);

/// <summary>
/// Reads a module's log: entries, the tree size, proofs (O(log n) reads each, from the stored
/// subtrees) and the checkpoints it signed. Entries never change once written, so a proof read
/// outside a transaction is sound for any size up to the head read first.
/// </summary>
/// <param name="subtrees">The log's cache of upper subtrees, shared by its proofs (see <see cref="SubtreeCache"/>); one of its own when not given.</param>
public sealed class AuditLogReader(ModuleDatabase database, SubtreeCache? subtrees = null)
{
    public ModuleDatabase Database => database;

    /// <summary>The upper subtrees this reader's inclusion proofs share (GetEntry's hot path; the rest read the store alone).</summary>
    public SubtreeCache Subtrees { get; } = subtrees ?? new SubtreeCache();

    public async Task<long> SizeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await SizeAsync(connection, cancellationToken);
    }

    /// <summary>The same on a connection the caller holds (one connection for several reads).</summary>
    public async Task<long> SizeAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(AuditSql.HeadSize, cancellationToken: cancellationToken));
    }

    public async Task<AuditEntry?> EntryAsync(long sequence, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await EntryAsync(connection, sequence, cancellationToken);
    }

    /// <summary>The same on a connection the caller holds (one connection for several reads).</summary>
    public async Task<AuditEntry?> EntryAsync(DbConnection connection, long sequence, CancellationToken cancellationToken)
    {
        // A plain reader by ordinal (the columns of AuditSql.Entry, in order): the hot read of GetEntry, where Dapper's mapping cost a third of it.
        await using var command = connection.CreateCommand();
        command.CommandText = AuditSql.Entry;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@Sequence";
        parameter.Value = sequence;
        command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SingleRow, cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new EntryRow
        {
            Sequence = reader.GetInt64(0),
            RecordedAtMs = reader.GetInt64(1),
            ActorId = reader.GetString(2),
            ActorKind = reader.GetString(3),
            Action = reader.GetString(4),
            Resource = reader.GetString(5),
            Outcome = reader.GetString(6),
            Reason = reader.GetString(7),
            SubjectRef = reader.IsDBNull(8) ? null : reader.GetString(8),
            Detail = reader.GetString(9),
            Canonical = reader.GetFieldValue<byte[]>(10),
            LeafHash = reader.GetFieldValue<byte[]>(11),
        }.ToEntry();
    }

    /// <summary>Up to <paramref name="limit"/> entries after <paramref name="after"/> (-1 for the start), in order.</summary>
    public async Task<IReadOnlyList<AuditEntry>> ListAsync(AuditEntryFilter filter, long after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<EntryRow>(new CommandDefinition(AuditSql.ListEntries(database.Dialect), new
        {
            After = after,
            From = filter.From?.ToUnixTimeMilliseconds(),
            Until = filter.Until?.ToUnixTimeMilliseconds(),
            filter.ActorId,
            filter.Action,
            filter.Resource,
            filter.SubjectRef,
            Limit = limit,
        }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToEntry()).ToList();
    }

    public async Task<byte[]> RootAsync(long treeSize, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await new StoredMerkleTree(connection, null).RootAsync(treeSize, cancellationToken);
    }

    public async Task<InclusionProof> InclusionProofAsync(long sequence, long treeSize, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await InclusionProofAsync(connection, sequence, treeSize, cancellationToken);
    }

    /// <summary>The same on a connection the caller holds (one connection for several reads).</summary>
    public async Task<InclusionProof> InclusionProofAsync(DbConnection connection, long sequence, long treeSize, CancellationToken cancellationToken)
    {
        return await InclusionProof.CreateAsync(new StoredMerkleTree(connection, null, Subtrees), sequence, treeSize, cancellationToken);
    }

    public async Task<ConsistencyProof> ConsistencyProofAsync(long fromSize, long toSize, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await ConsistencyProof.CreateAsync(new StoredMerkleTree(connection, null), fromSize, toSize, cancellationToken);
    }

    public async Task<SignedCheckpoint?> LatestCheckpointAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await LatestCheckpointAsync(connection, null, database.Dialect, cancellationToken);
    }

    public async Task<SignedCheckpoint?> CheckpointAsync(long treeSize, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await CheckpointAsync(connection, treeSize, cancellationToken);
    }

    /// <summary>The same on a connection the caller holds (one connection for several reads).</summary>
    public async Task<SignedCheckpoint?> CheckpointAsync(DbConnection connection, long treeSize, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<CheckpointRow>(new CommandDefinition(AuditSql.CheckpointAt, new { TreeSize = treeSize }, cancellationToken: cancellationToken));
        return row?.ToSigned();
    }

    internal static async Task<SignedCheckpoint?> LatestCheckpointAsync(DbConnection connection, DbTransaction? transaction, SqlDialect dialect, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<CheckpointRow>(new CommandDefinition(AuditSql.LatestCheckpoint(dialect), transaction: transaction, cancellationToken: cancellationToken));
        return row?.ToSigned();
    }

    internal sealed class EntryRow
    {
        public long Sequence { get; init; }
        public long RecordedAtMs { get; init; }
        public string ActorId { get; init; } = "";
        public string ActorKind { get; init; } = "";
        public string Action { get; init; } = "";
        public string Resource { get; init; } = "";
        public string Outcome { get; init; } = "";
        public string Reason { get; init; } = "";
        public string? SubjectRef { get; init; }
        public string Detail { get; init; } = "{}";
        public byte[] Canonical { get; init; } = [];
        public byte[] LeafHash { get; init; } = [];

        public AuditEntry ToEntry() => new(
            Sequence, DateTimeOffset.FromUnixTimeMilliseconds(RecordedAtMs), ActorId, ActorKind, Action, Resource, Outcome, Reason, SubjectRef,
            ReadDetail(Detail), Canonical, LeafHash);

        // A detail column that no longer parses is tampering the verifier names (its bytes will not match); read it as empty.
        private static SortedDictionary<string, string> ReadDetail(string json)
        {
            try
            {
                return new SortedDictionary<string, string>(JsonSerializer.Deserialize<Dictionary<string, string>>(json, AuditLog.Json) ?? [], StringComparer.Ordinal);
            }
            catch (JsonException)
            {
                return new SortedDictionary<string, string>(StringComparer.Ordinal) { ["!unreadable"] = json };
            }
        }
    }

    internal sealed class CheckpointRow
    {
        public long TreeSize { get; init; }
        public byte[] RootHash { get; init; } = [];
        public string Note { get; init; } = "";
        public long SignedAtMs { get; init; }

        public SignedCheckpoint ToSigned() => new(TreeSize, RootHash, Note, DateTimeOffset.FromUnixTimeMilliseconds(SignedAtMs));
    }
}
