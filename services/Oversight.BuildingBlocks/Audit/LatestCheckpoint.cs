using System.Data.Common;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// The latest checkpoint of a log, as this process knows it, so that a proof at "the latest size"
/// need not read the checkpoint table each time. What this process signs is known at once; what
/// another replica over the same database signed is known at most <see cref="MaxAge"/> later, since
/// a checkpoint read longer ago than that is read again. Until then the older checkpoint still
/// proves every entry it covers, and an entry it does not cover is signed for (or read) anew.
/// Newer knowledge wins: a read that began before this process signed a checkpoint never replaces
/// it, so nothing older than what this process signed is served; a read that began later follows
/// the database, as a read without this would.
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
        return read is null ? null : Offer(read, at);
    }

    /// <summary>A checkpoint just signed or read in a transaction; kept when it is not smaller than the one known.</summary>
    internal void Signed(SignedCheckpoint checkpoint) => Offer(checkpoint, time.GetTimestamp());

    private SignedCheckpoint Offer(SignedCheckpoint checkpoint, long at)
    {
        var offered = new Known(checkpoint, at);
        while (true)
        {
            var known = Volatile.Read(ref _known);
            // A read that began before a signing committed may end after it: what was known later stays.
            if (known is not null && known.At > at)
            {
                return known.Checkpoint.TreeSize >= checkpoint.TreeSize ? known.Checkpoint : checkpoint;
            }

            if (Interlocked.CompareExchange(ref _known, offered, known) == known)
            {
                return checkpoint;
            }
        }
    }

    private sealed record Known(SignedCheckpoint Checkpoint, long At);
}
