namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// RFC 9162 §2.1.3: the hashes that, with one leaf's hash, recompute the root of a tree of
/// <see cref="TreeSize"/> leaves — proof that the leaf is in it, at <see cref="LeafIndex"/>.
/// </summary>
public sealed record InclusionProof(long LeafIndex, long TreeSize, IReadOnlyList<byte[]> Path)
{
    /// <summary>
    /// PATH(m, D[n]) of §2.1.3.1, from the leaf's sibling up: the hashes of the ranges beside the
    /// leaf's at each split, each a fold of the complete subtrees it is made of. Those subtrees are
    /// known from (m, n) alone, so they are fetched at once and the path folded without recursion.
    /// </summary>
    public static async Task<InclusionProof> CreateAsync(MerkleTree tree, long leafIndex, long treeSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(leafIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(leafIndex, treeSize);

        // The ranges beside the leaf's, top-down; RFC 9162's recursion appends them bottom-up.
        var siblings = new List<(long Start, long End)>();
        for (var (m, start, end) = (leafIndex, 0L, treeSize); end - start > 1;)
        {
            var k = MerkleHashing.Split(end - start);
            if (m < k)
            {
                siblings.Add((start + k, end));
                end = start + k;
            }
            else
            {
                siblings.Add((start, start + k));
                (m, start) = (m - k, start + k);
            }
        }

        var subtrees = new List<(int Level, long Index)>();
        foreach (var (start, end) in siblings)
        {
            AddSubtrees(start, end, subtrees);
        }

        await tree.PrefetchAsync(subtrees, cancellationToken);
        var path = new byte[siblings.Count][];
        var next = subtrees.Count;
        for (var i = siblings.Count - 1; i >= 0; i--)
        {
            // The range's subtrees, in order, end at `next`; fold them from the right, as MTH splits.
            var (start, end) = siblings[i];
            var count = SubtreeCount(start, end);
            next -= count;
            var hash = await tree.CompleteSubtreeAsync(subtrees[next + count - 1].Level, subtrees[next + count - 1].Index, cancellationToken);
            for (var j = next + count - 2; j >= next; j--)
            {
                hash = MerkleHashing.HashChildren(await tree.CompleteSubtreeAsync(subtrees[j].Level, subtrees[j].Index, cancellationToken), hash);
            }

            path[siblings.Count - 1 - i] = hash;
        }

        return new InclusionProof(leafIndex, treeSize, path);
    }

    /// <summary>The complete subtrees MTH of [start, end) is made of, left to right (see <see cref="MerkleTree.HashAsync"/>).</summary>
    private static void AddSubtrees(long start, long end, List<(int Level, long Index)> subtrees)
    {
        while (true)
        {
            var size = end - start;
            if ((size & (size - 1)) == 0)
            {
                var level = System.Numerics.BitOperations.Log2((ulong)size);
                subtrees.Add((level, start >> level));
                return;
            }

            var k = MerkleHashing.Split(size);
            var left = System.Numerics.BitOperations.Log2((ulong)k);
            subtrees.Add((left, start >> left));
            start += k;
        }
    }

    private static int SubtreeCount(long start, long end) => System.Numerics.BitOperations.PopCount((ulong)(end - start));

    public bool Verifies(byte[] leafHash, byte[] root) => Verify(LeafIndex, TreeSize, leafHash, root, Path);

    /// <summary>The verification of §2.1.3.2, step by step.</summary>
    public static bool Verify(long leafIndex, long treeSize, ReadOnlySpan<byte> leafHash, ReadOnlySpan<byte> root, IReadOnlyList<byte[]> path)
    {
        // A hash is 32 bytes; without this an empty leaf hash would "prove" itself against an empty root.
        if (leafHash.Length != MerkleHashing.HashSize || root.Length != MerkleHashing.HashSize)
        {
            return false;
        }

        // 1. leaf_index must be below tree_size (and, in a signed type, not negative).
        if (leafIndex < 0 || leafIndex >= treeSize)
        {
            return false;
        }

        // 2.–3.
        var fn = leafIndex;
        var sn = treeSize - 1;
        var r = leafHash.ToArray();
        // 4.
        foreach (var p in path)
        {
            if (sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                r = MerkleHashing.HashChildren(p, r);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                r = MerkleHashing.HashChildren(r, p);
            }

            fn >>= 1;
            sn >>= 1;
        }

        // 5.
        return sn == 0 && root.SequenceEqual(r);
    }
}
