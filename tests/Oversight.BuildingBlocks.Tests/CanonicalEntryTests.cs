using Oversight.BuildingBlocks.Audit;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>The canonical bytes are exactly what docs/audit-log.md specifies, so anyone can recompute a leaf.</summary>
public sealed class CanonicalEntryTests
{
    [Fact]
    public void The_bytes_are_the_documented_worked_example()
    {
        var bytes = CanonicalEntry.Encode(0, DateTimeOffset.FromUnixTimeMilliseconds(1000), "a", "b", "c", "d", "e", "", null,
            new Dictionary<string, string> { ["k"] = "v" });
        Assert.Equal(
            "01" + "0000000000000000" + "00000000000003e8" + "0000000161" + "0000000162" + "0000000163" + "0000000164"
            + "0000000165" + "00000000" + "00" + "00000001" + "000000016b" + "0000000176",
            Convert.ToHexStringLower(bytes));
    }

    [Fact]
    public void A_subject_reference_and_detail_in_any_order_encode_the_same_way()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);
        var one = CanonicalEntry.Encode(7, at, "shopwave", "platform", "consent.grant", "consents/1", "succeeded", "ü", new string('f', 64),
            new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" });
        var two = CanonicalEntry.Encode(7, at, "shopwave", "platform", "consent.grant", "consents/1", "succeeded", "ü", new string('f', 64),
            new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" });
        Assert.Equal(one, two);
        // The reason "ü" is two UTF-8 bytes behind its length; the subject is flagged present, then 64 hex characters.
        Assert.Contains("00000002c3bc" + "01" + "00000040", Convert.ToHexStringLower(one), StringComparison.Ordinal);
        Assert.NotEqual(one, CanonicalEntry.Encode(8, at, "shopwave", "platform", "consent.grant", "consents/1", "succeeded", "ü", new string('f', 64),
            new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" }));
    }
}
