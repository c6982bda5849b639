using System.Numerics;
using System.Security.Cryptography;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// RFC 9162 §2.1 hashing: SHA-256 with a one-byte prefix that keeps leaves and inner nodes apart,
/// so no leaf can pose as a node. The tree over n leaves splits at the largest power of two below n.
/// </summary>
public static class MerkleHashing
{
    public const int HashSize = 32;

    /// <summary>MTH({}) = SHA-256 of nothing.</summary>
    public static byte[] EmptyRoot() => SHA256.HashData([]);

    // One reusable hash per thread: a one-shot SHA256.HashData sets up a new digest context on every
    // call, which costs more than hashing a node's 65 bytes (docs/benchmarks.md, "Audit log").
    [ThreadStatic]
    private static IncrementalHash? t_sha256;

    private static readonly byte[] LeafPrefix = [0];
    private static readonly byte[] NodePrefix = [1];

    private static IncrementalHash Sha256 => t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>MTH({d}) = SHA-256(0x00 || d).</summary>
    public static byte[] HashLeaf(ReadOnlySpan<byte> entry)
    {
        var hash = new byte[HashSize];
        HashLeaf(entry, hash);
        return hash;
    }

    /// <summary>The same into <paramref name="destination"/> (32 bytes), allocating nothing.</summary>
    public static void HashLeaf(ReadOnlySpan<byte> entry, Span<byte> destination)
    {
        var sha256 = Sha256;
        sha256.AppendData(LeafPrefix);
        sha256.AppendData(entry);
        sha256.GetHashAndReset(destination);
    }

    /// <summary>SHA-256(0x01 || left || right).</summary>
    public static byte[] HashChildren(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        var hash = new byte[HashSize];
        HashChildren(left, right, hash);
        return hash;
    }

    /// <summary>The same into <paramref name="destination"/> (32 bytes; it may be one of the inputs).</summary>
    public static void HashChildren(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        var sha256 = Sha256;
        sha256.AppendData(NodePrefix);
        sha256.AppendData(left);
        sha256.AppendData(right);
        sha256.GetHashAndReset(destination);
    }

    /// <summary>The largest power of two strictly below <paramref name="n"/> (n &gt; 1): where RFC 9162 splits a tree.</summary>
    public static long Split(long n) => (long)BitOperations.RoundUpToPowerOf2((ulong)n) >> 1;

    /// <summary>
    /// One number for every complete subtree of every level: its in-order position in the tree over
    /// all leaves (leaf k is 2k; subtree (level, index) is index·2^(level+1) + 2^level − 1), so a set of
    /// subtrees is read with one IN list.
    /// </summary>
    public static long NodeId(int level, long index) => (index << (level + 1)) + (1L << level) - 1;

    /// <summary>MTH over leaf hashes held in memory, straight from the RFC's recursive definition (tests and small trees).</summary>
    public static byte[] Root(IReadOnlyList<byte[]> leafHashes) => leafHashes.Count == 0 ? EmptyRoot() : Root(leafHashes, 0, leafHashes.Count);

    private static byte[] Root(IReadOnlyList<byte[]> leafHashes, int start, int end)
    {
        if (end - start == 1)
        {
            return leafHashes[start];
        }

        var k = (int)Split(end - start);
        return HashChildren(Root(leafHashes, start, start + k), Root(leafHashes, start + k, end));
    }
}
