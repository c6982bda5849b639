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

    /// <summary>MTH of the first <paramref name="size"/> leaves.</summary>
    public Task<byte[]> RootAsync(long size, CancellationToken cancellationToken) =>
        size == 0 ? Task.FromResult(MerkleHashing.EmptyRoot()) : HashAsync(0, size, cancellationToken);

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
