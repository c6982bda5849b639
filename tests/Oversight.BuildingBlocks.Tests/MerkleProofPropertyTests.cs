using CsCheck;
using Oversight.BuildingBlocks.Audit;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>For random tree sizes: every proof the tree produces verifies; a changed leaf, another index or another size does not.</summary>
public sealed class MerkleProofPropertyTests
{
    // Each entry carries its place, so no two leaves are equal: two equal leaves in mirrored places
    // (two empty entries, say) make a proof for one verify for the other too, and the binding checks below would not hold.
    private static readonly Gen<List<byte[]>> Trees = Gen.Int[1, 300].SelectMany(n => Gen.Byte.Array[0, 16].List[n, n])
        .Select(entries => entries.Select((e, place) => MerkleHashing.HashLeaf([.. BitConverter.GetBytes(place), .. e])).ToList());

    [Fact]
    public void Every_inclusion_proof_verifies_and_binds_its_leaf_index_and_size()
    {
        // A tree of N leaves; the proof is for leaf i in its first n; the other size is claimed with its own root.
        Trees.SelectMany(leaves => Gen.Int[1, leaves.Count].SelectMany(n => Gen.Int[0, n - 1].SelectMany(i =>
                Gen.Int[0, n - 1].Select(Gen.Int[i + 1, leaves.Count], (j, m) => (leaves, n, i, j, m)))))
            .Sample(t =>
            {
                var (leaves, n, index, otherIndex, otherSize) = t;
                var root = MerkleHashing.Root(leaves.Take(n).ToList());
                var proof = Inclusion(leaves.Take(n).ToList(), index);
                Assert.True(proof.Verifies(leaves[index], root));

                var changed = (byte[])leaves[index].Clone();
                changed[0] ^= 1;
                Assert.False(proof.Verifies(changed, root));
                if (otherIndex != index)
                {
                    Assert.False(InclusionProof.Verify(otherIndex, n, leaves[index], root, proof.Path));
                }

                if (otherSize != n)
                {
                    Assert.False(InclusionProof.Verify(index, otherSize, leaves[index], MerkleHashing.Root(leaves.Take(otherSize).ToList()), proof.Path));
                }
            }, iter: 300);
    }

    [Fact]
    public void Every_consistency_proof_verifies_and_a_changed_old_leaf_or_size_does_not()
    {
        Trees.SelectMany(leaves => Gen.Int[1, leaves.Count].Select(Gen.Int[0, leaves.Count - 1], Gen.Int[1, leaves.Count], (m, k, o) => (leaves, m, k, o)))
            .Sample(t =>
            {
                var (leaves, m, changedIndex, otherSize) = t;
                var n = leaves.Count;
                var oldRoot = MerkleHashing.Root(leaves.Take(m).ToList());
                var newRoot = MerkleHashing.Root(leaves);
                var proof = Consistency(leaves, m);
                Assert.True(proof.Verifies(oldRoot, newRoot));

                // A history in which one leaf differs is not consistent with this one.
                var rewritten = leaves.ToList();
                rewritten[changedIndex] = MerkleHashing.HashLeaf(rewritten[changedIndex]);
                if (changedIndex < m)
                {
                    Assert.False(proof.Verifies(MerkleHashing.Root(rewritten.Take(m).ToList()), newRoot));
                }
                else
                {
                    Assert.False(proof.Verifies(oldRoot, MerkleHashing.Root(rewritten)));
                }

                if (otherSize != m && m < n)
                {
                    Assert.False(ConsistencyProof.Verify(otherSize, n, MerkleHashing.Root(leaves.Take(otherSize).ToList()), newRoot, proof.Path));
                }
            }, iter: 300);
    }

    [Fact]
    public void The_stored_tree_root_equals_the_recursive_definition_for_every_prefix()
    {
        Trees.Sample(leaves =>
        {
            var tree = new InMemoryMerkleTree(leaves);
            for (var size = 0; size <= leaves.Count; size++)
            {
                Assert.Equal(MerkleHashing.Root(leaves.Take(size).ToList()), tree.RootAsync(size, CancellationToken.None).GetAwaiter().GetResult());
            }
        }, iter: 30);
    }

    // The in-memory tree answers synchronously; the proofs are the ones the stored tree makes.
    private static InclusionProof Inclusion(List<byte[]> leaves, int index) =>
        InclusionProof.CreateAsync(new InMemoryMerkleTree(leaves), index, leaves.Count, CancellationToken.None).GetAwaiter().GetResult();

    private static ConsistencyProof Consistency(List<byte[]> leaves, int m) =>
        ConsistencyProof.CreateAsync(new InMemoryMerkleTree(leaves), m, leaves.Count, CancellationToken.None).GetAwaiter().GetResult();
}
