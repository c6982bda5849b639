using System.Data.Common;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// The latest checkpoint of a log, as this process knows it, so that a proof at "the latest size"
/// need not read the checkpoint table each time. What this process signs is known at once; what
/// another replica over the same database signed is known at most <see cref="MaxAge"/> later, since
/// a checkpoint read longer ago than that is read again. Until then the older checkpoint still
/// proves every entry it covers, and an entry it does not cover is signed for (or read) anew.
/// It never goes back to a smaller checkpoint than one it knew.
/// </summary>
public sealed class LatestCheckpoint(ModuleDatabase database, TimeProvider time)
{
    /// <summary>How long a checkpoint read from the database is served before it is read again.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);

    private Known? _known;

    /// <summary>The latest checkpoint known no longer than <see cref="MaxAge"/> ago, or read on <paramref name="connection"/>; null when none was signed.</summary>
    public async Task<SignedCheckpoint?> GetAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _known) is { } known && time.GetElapsedTime(known.At) < MaxAge)
        {
            return known.Checkpoint;
        }

        var at = time.GetTimestamp();
        var read = await AuditLogReader.LatestCheckpointAsync(connection, null, database.Dialect, cancellationToken);
        if (read is null)
        {
            return Volatile.Read(ref _known)?.Checkpoint;
        }

        return Offer(read, at);
    }

    /// <summary>A checkpoint just signed or read in a transaction; kept when it is not smaller than the one known.</summary>
    internal void Signed(SignedCheckpoint checkpoint) => Offer(checkpoint, time.GetTimestamp());

    private SignedCheckpoint Offer(SignedCheckpoint checkpoint, long at)
    {
        var offered = new Known(checkpoint, at);
        while (true)
        {
            var known = Volatile.Read(ref _known);
            // A reader that read before a signing commits may offer after it: the larger checkpoint stays.
            if (known is not null && (known.Checkpoint.TreeSize > checkpoint.TreeSize || (known.Checkpoint.TreeSize == checkpoint.TreeSize && known.At >= at)))
            {
                return known.Checkpoint;
            }

            if (Interlocked.CompareExchange(ref _known, offered, known) == known)
            {
                return checkpoint;
            }
        }
    }

    private sealed record Known(SignedCheckpoint Checkpoint, long At);
}
