using System.Text.Json;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// Appends entries to a module's log inside the caller's open transaction, so the change and its
/// entry commit or roll back together. The head row is updated first: concurrent appenders wait on
/// it and take consecutive sequences, and a rolled-back append gives its sequence back (no gap).
/// Costs O(log n): one leaf, and one node per subtree the leaf completes (one on average).
/// </summary>
public sealed class AuditLog(SubjectReference subjects, TimeProvider time)
{
    // The SQL Server column sizes; longer values are cut before encoding, so the bytes match the row.
    private const int MaxId = 128;
    private const int MaxKind = 32;
    private const int MaxAction = 100;
    private const int MaxResource = 200;
    private const int MaxReason = 500;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Task<AuditEntry> AppendAsync(DbSession session, AuditRecord record) => AppendAsync(session, record, time.UtcNowToMillisecond());

    /// <summary>Appends a record made earlier (carried over from before the log existed) with the time it was made.</summary>
    internal async Task<AuditEntry> AppendAsync(DbSession session, AuditRecord record, DateTimeOffset recordedAt)
    {
        var size = await session.ExecuteScalarAsync<long>(AuditSql.AdvanceHead(session.Dialect));
        var sequence = size - 1;
        var detail = new SortedDictionary<string, string>(
            (IDictionary<string, string>?)record.Detail?.ToDictionary() ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        var subjectRef = record.SubjectId is null ? null : subjects.For(record.SubjectId);
        var (actorId, actorKind, action, resource, outcome, reason) = (Cut(record.ActorId, MaxId), Cut(record.ActorKind, MaxKind),
            Cut(record.Action, MaxAction), Cut(record.Resource, MaxResource), Cut(record.Outcome, MaxKind), Cut(record.Reason, MaxReason));
        var canonical = CanonicalEntry.Encode(sequence, recordedAt, actorId, actorKind, action, resource, outcome, reason, subjectRef, detail);
        var leaf = MerkleHashing.HashLeaf(canonical);
        await session.ExecuteAsync(AuditSql.InsertEntry, new
        {
            Sequence = sequence,
            RecordedAtMs = recordedAt.ToUnixTimeMilliseconds(),
            ActorId = actorId,
            ActorKind = actorKind,
            Action = action,
            Resource = resource,
            Outcome = outcome,
            Reason = reason,
            SubjectRef = subjectRef,
            Detail = JsonSerializer.Serialize(detail, Json),
            Canonical = canonical,
            LeafHash = leaf,
        });

        // Each trailing 1 bit of the sequence is a subtree this leaf completes, its left half stored: read those at once.
        var tree = new StoredMerkleTree(session.Connection, session.Transaction);
        var leftHalves = new List<(int, long)>();
        for (var (below, position) = (0, sequence); (position & 1) == 1; below++, position >>= 1)
        {
            leftHalves.Add((below, position - 1));
        }

        await tree.PrefetchAsync(leftHalves, session.CancellationToken);
        var hash = leaf;
        var index = sequence;
        for (var level = 1; (index & 1) == 1; level++)
        {
            var left = await tree.CompleteSubtreeAsync(level - 1, index - 1, session.CancellationToken);
            hash = MerkleHashing.HashChildren(left, hash);
            index >>= 1;
            await session.ExecuteAsync(AuditSql.InsertNode, new { Id = MerkleHashing.NodeId(level, index), Level = level, Index = index, Hash = hash });
        }

        return new AuditEntry(sequence, recordedAt, actorId, actorKind, action, resource, outcome, reason, subjectRef, detail, canonical, leaf);
    }

    private static string Cut(string value, int length) => value.Length <= length ? value : value[..length];
}
