namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// A Merkle tree known by the hashes of its complete subtrees: level 0 holds the leaf hashes, and
/// node (level, index) covers leaves [index·2^level, (index+1)·2^level). Any tree size's root, and
/// every hash a proof needs, is a fold of O(log n) of them, so nothing is recomputed from the leaves.
/// </summary>
public abstract class MerkleTree
{
    /// <summary>The hash of a complete subtree that exists in the tree.</summary>
    public abstract Task<byte[]> CompleteSubtreeAsync(int level, long index, CancellationToken cancellationToken);

    /// <summary>Reads these subtrees ahead, in as few round trips as the store allows; a tree in memory has nothing to do.</summary>
    public virtual Task PrefetchAsync(IReadOnlyCollection<(int Level, long Index)> subtrees, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>MTH of the first <paramref name="size"/> leaves.</summary>
    public Task<byte[]> RootAsync(long size, CancellationToken cancellationToken) =>
        size == 0 ? Task.FromResult(MerkleHashing.EmptyRoot()) : PlannedAsync(this, tree => tree.HashAsync(0, size, cancellationToken), cancellationToken);

    /// <summary>
    /// Runs a computation twice: first against a tree that only notes which subtrees it is asked for
    /// (which ones never depends on their hashes), then — after fetching those at once — for real. A
    /// proof is then two reads of the store, not one per subtree.
    /// </summary>
    public static async Task<T> PlannedAsync<T>(MerkleTree tree, Func<MerkleTree, Task<T>> compute, CancellationToken cancellationToken)
    {
        var plan = new SubtreePlan();
        await compute(plan);
        await tree.PrefetchAsync(plan.Subtrees, cancellationToken);
        return await compute(tree);
    }

    /// <summary>
    /// MTH of leaves [start, end), for the ranges RFC 9162's recursion produces: the start is aligned
    /// to the range's size rounded up to a power of two, so the left part of every split is complete.
    /// </summary>
    public async Task<byte[]> HashAsync(long start, long end, CancellationToken cancellationToken)
    {
        var size = end - start;
        if ((size & (size - 1)) == 0)
        {
            var level = System.Numerics.BitOperations.Log2((ulong)size);
            return await CompleteSubtreeAsync(level, start >> level, cancellationToken);
        }

        var k = MerkleHashing.Split(size);
        var left = await HashAsync(start, start + k, cancellationToken);
        var right = await HashAsync(start + k, end, cancellationToken);
        return MerkleHashing.HashChildren(left, right);
    }
}

/// <summary>A tree over leaf hashes held in memory, every level built once (tests, small trees).</summary>
public sealed class InMemoryMerkleTree : MerkleTree
{
    private readonly List<byte[][]> _levels = [];

    public InMemoryMerkleTree(IReadOnlyList<byte[]> leafHashes)
    {
        var level = leafHashes.ToArray();
        while (level.Length > 0)
        {
            _levels.Add(level);
            level = Enumerable.Range(0, level.Length / 2).Select(i => MerkleHashing.HashChildren(level[2 * i], level[2 * i + 1])).ToArray();
        }
    }

    public long Size => _levels.Count == 0 ? 0 : _levels[0].Length;

    public override Task<byte[]> CompleteSubtreeAsync(int level, long index, CancellationToken cancellationToken) =>
        Task.FromResult(_levels[level][index]);
}

/// <summary>Answers every subtree with zeros and notes which were asked for: the reads a computation will make.</summary>
internal sealed class SubtreePlan : MerkleTree
{
    private static readonly byte[] Zero = new byte[MerkleHashing.HashSize];

    public HashSet<(int Level, long Index)> Subtrees { get; } = [];

    public override Task<byte[]> CompleteSubtreeAsync(int level, long index, CancellationToken cancellationToken)
    {
        Subtrees.Add((level, index));
        return Task.FromResult(Zero);
    }
}
