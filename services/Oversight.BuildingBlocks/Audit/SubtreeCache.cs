namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// The hashes of one log's stored subtrees of the upper levels, kept in memory for every proof to
/// share: a proof needs one subtree per level, and above the lowest levels all proofs need the same
/// few. Bounded: a fixed number of slots, each holding the last subtree that fell into it.
/// </summary>
/// <remarks>
/// It stays correct because a stored subtree never changes once it is committed: an append writes
/// each node once, when its subtree completes, and only what a reader outside a transaction read
/// (so committed) is kept here. Other replicas over the same database read the same rows, so a
/// cached hash can be missing, never different. Whoever rewrites the stored rows is not hidden by
/// it: the verifier reads the database itself, never this cache, and names the rewrite. One cache
/// belongs to one log (its <see cref="AuditLogReader"/>); two logs never share one.
/// </remarks>
public sealed class SubtreeCache
{
    /// <summary>Subtrees of 2^8 leaves and more: about 4,000 at a million entries, so they stay in the default slots.</summary>
    public const int DefaultMinLevel = 8;

    public const int DefaultSlots = 16_384;

    private readonly Cached?[] _slots;
    private readonly int _mask;

    /// <param name="minLevel">The lowest level kept; below it each proof's subtrees are its own, and caching them would only churn.</param>
    /// <param name="slots">How many subtrees at most are held (a power of two).</param>
    public SubtreeCache(int minLevel = DefaultMinLevel, int slots = DefaultSlots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minLevel, 1);
        if (slots < 1 || (slots & (slots - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(slots), slots, "must be a power of two");
        }

        MinLevel = minLevel;
        _slots = new Cached?[slots];
        _mask = slots - 1;
    }

    public int MinLevel { get; }

    public bool TryGet(int level, long index, out byte[] hash)
    {
        // One reference read: a slot is replaced whole, never changed, so no lock is needed.
        if (Volatile.Read(ref _slots[Slot(level, index)]) is { } cached && cached.Level == level && cached.Index == index)
        {
            hash = cached.Hash;
            return true;
        }

        hash = [];
        return false;
    }

    /// <summary>Keeps a committed subtree's hash, if its level is one this cache holds.</summary>
    public void Add(int level, long index, byte[] hash)
    {
        if (level >= MinLevel)
        {
            Volatile.Write(ref _slots[Slot(level, index)], new Cached(level, index, hash));
        }
    }

    // Node ids of one level are spaced by a power of two, so they are mixed (Fibonacci hashing) before taking the slot.
    private int Slot(int level, long index) =>
        (int)((ulong)MerkleHashing.NodeId(level, index) * 0x9E3779B97F4A7C15UL >> 40) & _mask;

    private sealed record Cached(int Level, long Index, byte[] Hash);
}
