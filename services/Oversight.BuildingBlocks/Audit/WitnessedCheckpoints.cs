using Dapper;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>A checkpoint of another service's log, as this service keeps it.</summary>
public sealed record WitnessedCheckpoint(string Origin, long TreeSize, byte[] RootHash, string Note, bool SignatureVerified, DateTimeOffset ReceivedAt);

/// <summary>What became of a checkpoint offered to the witness.</summary>
public enum WitnessOutcome
{
    /// <summary>Kept.</summary>
    Stored,
    /// <summary>The same checkpoint was kept before (a redelivery).</summary>
    AlreadyHeld,
    /// <summary>A different root for a size already held: the publisher signed two histories. The first is kept.</summary>
    Conflicting,
    /// <summary>The publisher's key is configured and did not sign it: not kept.</summary>
    BadSignature,
    /// <summary>Not a signed checkpoint note: not kept.</summary>
    Malformed,
    /// <summary>A checkpoint of this service's own log: not a witness's business.</summary>
    OwnLog,
}

/// <summary>
/// Keeps the checkpoints other services publish. A checkpoint is verified with its publisher's
/// public key when one is configured (keys are matched by name, which is the origin); without one it
/// is still kept, marked unverified, since a verifier can check it later with the served key.
/// </summary>
public sealed class WitnessedCheckpoints(ModuleDatabase database, string ownOrigin, IEnumerable<NoteKey> peerKeys, TimeProvider time)
{
    private readonly Dictionary<string, NoteKey> _keys = peerKeys.ToDictionary(k => k.Name, StringComparer.Ordinal);

    /// <summary>Keeps a received checkpoint inside the caller's transaction (the consumer's, with its inbox row).</summary>
    public async Task<WitnessOutcome> ReceiveAsync(DbSession session, string note)
    {
        if (SignedNote.Parse(note) is not { } signed || Checkpoint.Parse(signed.Text) is not { } checkpoint)
        {
            return WitnessOutcome.Malformed;
        }

        if (checkpoint.Origin == ownOrigin)
        {
            return WitnessOutcome.OwnLog;
        }

        var verified = _keys.TryGetValue(checkpoint.Origin, out var key);
        if (verified && !signed.IsSignedBy(key!))
        {
            return WitnessOutcome.BadSignature;
        }

        var held = await session.QuerySingleOrDefaultAsync<Row>(AuditSql.WitnessedAt, new { checkpoint.Origin, checkpoint.TreeSize });
        if (held is not null)
        {
            return held.RootHash.AsSpan().SequenceEqual(checkpoint.RootHash) ? WitnessOutcome.AlreadyHeld : WitnessOutcome.Conflicting;
        }

        await session.ExecuteAsync(AuditSql.InsertWitnessed, new
        {
            checkpoint.Origin,
            checkpoint.TreeSize,
            checkpoint.RootHash,
            Note = note,
            SignatureVerified = verified,
            ReceivedAtMs = time.GetUtcNow().ToUnixTimeMilliseconds(),
        });
        return WitnessOutcome.Stored;
    }

    /// <summary>Up to <paramref name="limit"/> checkpoints after (origin, size), by origin then size.</summary>
    public async Task<IReadOnlyList<WitnessedCheckpoint>> ListAsync(string? origin, string afterOrigin, long afterSize, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(AuditSql.ListWitnessed(database.Dialect),
            new { Origin = origin, AfterOrigin = afterOrigin, AfterSize = afterSize, Limit = limit }, cancellationToken: cancellationToken));
        return rows.Select(r => new WitnessedCheckpoint(r.Origin, r.TreeSize, r.RootHash, r.Note, r.SignatureVerified,
            DateTimeOffset.FromUnixTimeMilliseconds(r.ReceivedAtMs))).ToList();
    }

    private sealed class Row
    {
        public string Origin { get; init; } = "";
        public long TreeSize { get; init; }
        public byte[] RootHash { get; init; } = [];
        public string Note { get; init; } = "";
        public bool SignatureVerified { get; init; }
        public long ReceivedAtMs { get; init; }
    }
}
