namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// RFC 9162 §2.1.3: the hashes that, with one leaf's hash, recompute the root of a tree of
/// <see cref="TreeSize"/> leaves — proof that the leaf is in it, at <see cref="LeafIndex"/>.
/// </summary>
public sealed record InclusionProof(long LeafIndex, long TreeSize, IReadOnlyList<byte[]> Path)
{
    /// <summary>PATH(m, D[n]) of §2.1.3.1, from the leaf's sibling up; O(log n) subtrees, read at once.</summary>
    public static async Task<InclusionProof> CreateAsync(MerkleTree tree, long leafIndex, long treeSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(leafIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(leafIndex, treeSize);
        var path = await MerkleTree.PlannedAsync(tree, async t =>
        {
            var hashes = new List<byte[]>();
            await AppendPathAsync(t, leafIndex, 0, treeSize, hashes, cancellationToken);
            return hashes;
        }, cancellationToken);
        return new InclusionProof(leafIndex, treeSize, path);
    }

    private static async Task AppendPathAsync(MerkleTree tree, long m, long start, long end, List<byte[]> path, CancellationToken cancellationToken)
    {
        if (end - start == 1)
        {
            return;
        }

        var k = MerkleHashing.Split(end - start);
        if (m < k)
        {
            await AppendPathAsync(tree, m, start, start + k, path, cancellationToken);
            path.Add(await tree.HashAsync(start + k, end, cancellationToken));
        }
        else
        {
            await AppendPathAsync(tree, m - k, start + k, end, path, cancellationToken);
            path.Add(await tree.HashAsync(start, start + k, cancellationToken));
        }
    }

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
