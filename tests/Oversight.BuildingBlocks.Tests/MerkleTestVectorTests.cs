using System.Text.Json;
using Oversight.BuildingBlocks.Audit;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>
/// transparency-dev/merkle's published vectors (TestData/merkle, Apache-2.0): every inclusion and
/// consistency case, the failing ones too, and the roots of the trees of size 0 to 8.
/// </summary>
public sealed class MerkleTestVectorTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "TestData", "merkle");

    /// <summary>The eight leaf inputs of the README, hex.</summary>
    public static readonly string[] Leaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

    public static TheoryData<int, string> Roots() => new()
    {
        { 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { 1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" },
        { 2, "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" },
        { 3, "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77" },
        { 4, "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" },
        { 5, "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4" },
        { 6, "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef" },
        { 7, "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c" },
        { 8, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328" },
    };

    public static TheoryData<string> InclusionCases() => new(Cases("inclusion"));

    public static TheoryData<string> ConsistencyCases() => new(Cases("consistency"));

    internal static List<byte[]> LeafHashes(int count) => Leaves.Take(count).Select(l => MerkleHashing.HashLeaf(Convert.FromHexString(l))).ToList();

    [Theory]
    [MemberData(nameof(Roots))]
    public async Task The_root_of_each_tree_size_is_the_published_one(int size, string expected)
    {
        var leaves = LeafHashes(size);
        Assert.Equal(expected, Convert.ToHexStringLower(MerkleHashing.Root(leaves)));
        Assert.Equal(expected, Convert.ToHexStringLower(await new InMemoryMerkleTree(leaves).RootAsync(size, TestContext.Current.CancellationToken)));
    }

    [Fact]
    public void Every_vector_file_is_found()
    {
        Assert.Equal(98, Cases("inclusion").Count);
        Assert.Equal(98, Cases("consistency").Count);
    }

    [Theory]
    [MemberData(nameof(InclusionCases))]
    public void Inclusion_verification_fails_exactly_when_the_vector_says(string file)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, file)));
        var c = json.RootElement;
        var verifies = InclusionProof.Verify(
            Index(c.GetProperty("leafIdx")), Index(c.GetProperty("treeSize")), Bytes(c.GetProperty("leafHash")), Bytes(c.GetProperty("root")), Proof(c.GetProperty("proof")));
        Assert.Equal(!c.GetProperty("wantErr").GetBoolean(), verifies);
    }

    [Theory]
    [MemberData(nameof(ConsistencyCases))]
    public void Consistency_verification_fails_exactly_when_the_vector_says(string file)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, file)));
        var c = json.RootElement;
        var verifies = ConsistencyProof.Verify(
            Index(c.GetProperty("size1")), Index(c.GetProperty("size2")), Bytes(c.GetProperty("root1")), Bytes(c.GetProperty("root2")), Proof(c.GetProperty("proof")));
        Assert.Equal(!c.GetProperty("wantErr").GetBoolean(), verifies);
    }

    [Theory]
    [MemberData(nameof(InclusionCases))]
    public async Task Every_happy_inclusion_proof_is_the_one_the_tree_produces(string file)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, file)));
        var c = json.RootElement;
        if (c.GetProperty("wantErr").GetBoolean() || !file.Contains("happy-path", StringComparison.Ordinal))
        {
            return;
        }

        var size = Index(c.GetProperty("treeSize"));
        var proof = await InclusionProof.CreateAsync(new InMemoryMerkleTree(LeafHashes((int)size)), Index(c.GetProperty("leafIdx")), size, TestContext.Current.CancellationToken);
        Assert.Equal(Proof(c.GetProperty("proof")).Select(Convert.ToBase64String), proof.Path.Select(Convert.ToBase64String));
    }

    [Theory]
    [MemberData(nameof(ConsistencyCases))]
    public async Task Every_happy_consistency_proof_is_the_one_the_tree_produces(string file)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, file)));
        var c = json.RootElement;
        if (c.GetProperty("wantErr").GetBoolean() || !file.Contains("happy-path", StringComparison.Ordinal))
        {
            return;
        }

        var (from, to) = (Index(c.GetProperty("size1")), Index(c.GetProperty("size2")));
        var proof = await ConsistencyProof.CreateAsync(new InMemoryMerkleTree(LeafHashes((int)to)), from, to, TestContext.Current.CancellationToken);
        Assert.Equal(Proof(c.GetProperty("proof")).Select(Convert.ToBase64String), proof.Path.Select(Convert.ToBase64String));
    }

    private static List<string> Cases(string kind) =>
        Directory.GetFiles(Path.Combine(Root, kind), "*.json", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Root, f)).Order(StringComparer.Ordinal).ToList();

    // The vectors hold uint64 values (one is 2^64 - 1); past long's range it reads as negative, which
    // the verification refuses as it must refuse an index beyond the tree.
    private static long Index(JsonElement value) => unchecked((long)value.GetUInt64());

    private static byte[] Bytes(JsonElement value) => value.ValueKind == JsonValueKind.Null ? [] : value.GetBytesFromBase64();

    private static List<byte[]> Proof(JsonElement value) =>
        value.ValueKind == JsonValueKind.Null ? [] : value.EnumerateArray().Select(Bytes).ToList();
}
