namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// RFC 9162 §2.1.4: the hashes that show the tree of <see cref="ToSize"/> leaves extends the tree
/// of <see cref="FromSize"/> leaves — nothing in the first was changed, only leaves appended.
/// </summary>
public sealed record ConsistencyProof(long FromSize, long ToSize, IReadOnlyList<byte[]> Path)
{
    /// <summary>PROOF(m, D[n]) of §2.1.4.1 for 0 &lt; m ≤ n (empty when m = n); O(log n) subtrees, read at once.</summary>
    public static async Task<ConsistencyProof> CreateAsync(MerkleTree tree, long fromSize, long toSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fromSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fromSize, toSize);
        var path = await MerkleTree.PlannedAsync(tree, async t =>
        {
            var hashes = new List<byte[]>();
            if (fromSize < toSize)
            {
                await AppendSubproofAsync(t, fromSize, 0, toSize, true, hashes, cancellationToken);
            }

            return hashes;
        }, cancellationToken);
        return new ConsistencyProof(fromSize, toSize, path);
    }

    /// <summary>SUBPROOF(m, D[start:end], b), with m relative to start.</summary>
    private static async Task AppendSubproofAsync(MerkleTree tree, long m, long start, long end, bool wholeOldTree, List<byte[]> path, CancellationToken cancellationToken)
    {
        if (m == end - start)
        {
            if (!wholeOldTree)
            {
                path.Add(await tree.HashAsync(start, end, cancellationToken));
            }

            return;
        }

        var k = MerkleHashing.Split(end - start);
        if (m <= k)
        {
            await AppendSubproofAsync(tree, m, start, start + k, wholeOldTree, path, cancellationToken);
            path.Add(await tree.HashAsync(start + k, end, cancellationToken));
        }
        else
        {
            await AppendSubproofAsync(tree, m - k, start + k, end, false, path, cancellationToken);
            path.Add(await tree.HashAsync(start, start + k, cancellationToken));
        }
    }

    public bool Verifies(byte[] fromRoot, byte[] toRoot) => Verify(FromSize, ToSize, fromRoot, toRoot, Path);

    /// <summary>
    /// The verification of §2.1.4.2, step by step. The RFC defines proofs for 0 &lt; first &lt; second;
    /// equal sizes prove themselves by equal roots and an empty proof; nothing is consistent with
    /// "size 0" by proof (the empty tree is a prefix of every tree, so such a check says nothing).
    /// </summary>
    public static bool Verify(long first, long second, ReadOnlySpan<byte> firstHash, ReadOnlySpan<byte> secondHash, IReadOnlyList<byte[]> path)
    {
        if (first < 1 || second < first)
        {
            return false;
        }

        if (first == second)
        {
            return path.Count == 0 && firstHash.SequenceEqual(secondHash);
        }

        // 1.
        if (path.Count == 0)
        {
            return false;
        }

        // 2.
        IReadOnlyList<byte[]> hashes = (first & (first - 1)) == 0 ? [firstHash.ToArray(), .. path] : path;
        // 3.–4.
        var fn = first - 1;
        var sn = second - 1;
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        // 5.
        var fr = hashes[0];
        var sr = hashes[0];
        // 6.
        foreach (var c in hashes.Skip(1))
        {
            if (sn == 0)
            {
                return false;
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                fr = MerkleHashing.HashChildren(c, fr);
                sr = MerkleHashing.HashChildren(c, sr);
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
                sr = MerkleHashing.HashChildren(sr, c);
            }

            fn >>= 1;
            sn >>= 1;
        }

        // 7.
        return sn == 0 && firstHash.SequenceEqual(fr) && secondHash.SequenceEqual(sr);
    }
}
