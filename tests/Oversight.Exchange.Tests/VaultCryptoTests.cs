using System.Text;
using Oversight.Exchange.Infrastructure.Vault;

namespace Oversight.Exchange.Tests;

/// <summary>Records' values are sealed per dataset and per row: they open only where they were sealed, and never into garbage.</summary>
public sealed class VaultCryptoTests
{
    private static readonly DataKey Orders = new("orders", DataKey.NewKeyMaterial());

    [Fact]
    public void A_sealed_value_opens_to_its_plaintext()
    {
        foreach (var plaintext in new[] { Array.Empty<byte>(), "ü€𝄞"u8.ToArray(), RandomBytes(1 << 20) })
        {
            Assert.Equal(plaintext, Orders.Open("order-1", Orders.Seal("order-1", plaintext)));
        }
    }

    [Fact]
    public void A_payload_round_trips_with_empty_unicode_and_large_fields()
    {
        var fields = new Dictionary<string, string>
        {
            ["empty"] = "",
            [""] = "a field with an empty name",
            ["naïve-名前"] = "Zoë 🧪 — ✓",
            ["large"] = new string('x', 1_000_000),
        };
        var decoded = RecordPayload.Decode(RecordPayload.Encode("subject-ü", -1_700_000_000_123, fields));
        Assert.Equal("subject-ü", decoded.SubjectId);
        Assert.Equal(-1_700_000_000_123, decoded.OccurredAtMs);
        Assert.Equal(fields.OrderBy(f => f.Key, StringComparer.Ordinal), decoded.Fields.OrderBy(f => f.Key, StringComparer.Ordinal));

        var none = RecordPayload.Decode(RecordPayload.Encode("", 0, new Dictionary<string, string>()));
        Assert.Equal(("", 0L), (none.SubjectId, none.OccurredAtMs));
        Assert.Empty(none.Fields);
    }

    [Fact]
    public void A_payload_encodes_the_same_whatever_order_its_fields_arrive_in()
    {
        var one = RecordPayload.Encode("s", 5, new Dictionary<string, string> { ["b"] = "2", ["a"] = "1", ["B"] = "3" });
        var two = RecordPayload.Encode("s", 5, new Dictionary<string, string> { ["B"] = "3", ["a"] = "1", ["b"] = "2" });
        Assert.Equal(one, two);
        Assert.Equal(Orders.ContentMac(one), Orders.ContentMac(two));
        // Version, subject "s", occurred-at 5, three fields, the first of them "B" (ordinal order puts capitals first).
        Assert.StartsWith("01" + "0000000173" + "0000000000000005" + "00000003" + "0000000142", Convert.ToHexStringLower(one), StringComparison.Ordinal);
    }

    [Fact]
    public void A_ciphertext_moved_to_another_record_does_not_open()
    {
        var sealedBytes = Orders.Seal("order-1", "card ending 4242"u8);
        var moved = Assert.Throws<VaultKeyException>(() => Orders.Open("order-2", sealedBytes));
        Assert.Contains("'order-2'", moved.Message, StringComparison.Ordinal);
        Assert.Contains("'orders'", moved.Message, StringComparison.Ordinal);
        Assert.Contains("moved, damaged, or sealed under another key", moved.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_ciphertext_moved_to_another_dataset_does_not_open_even_under_the_same_key_material()
    {
        var material = DataKey.NewKeyMaterial();
        var sealedBytes = new DataKey("orders", material).Seal("order-1", "card ending 4242"u8);
        var moved = Assert.Throws<VaultKeyException>(() => new DataKey("returns", material).Open("order-1", sealedBytes));
        Assert.Contains("'returns'", moved.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_sealed_under_another_data_key_does_not_open()
    {
        var sealedBytes = new DataKey("orders", DataKey.NewKeyMaterial()).Seal("order-1", "x"u8);
        Assert.Throws<VaultKeyException>(() => Orders.Open("order-1", sealedBytes));
    }

    [Fact]
    public void One_flipped_bit_anywhere_fails_to_open()
    {
        var sealedBytes = Orders.Seal("order-1", "a short secret"u8);
        for (var bit = 0; bit < sealedBytes.Length * 8; bit++)
        {
            var damaged = (byte[])sealedBytes.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Throws<VaultKeyException>(() => Orders.Open("order-1", damaged));
        }
    }

    [Fact]
    public void Short_input_or_an_unknown_version_does_not_open_and_says_why()
    {
        var sealedBytes = Orders.Seal("order-1", "x"u8);
        for (var length = 0; length < sealedBytes.Length; length++)
        {
            Assert.Throws<VaultKeyException>(() => Orders.Open("order-1", sealedBytes.AsSpan(0, length)));
        }

        sealedBytes[0] = 2;
        var unknown = Assert.Throws<VaultKeyException>(() => Orders.Open("order-1", sealedBytes));
        Assert.Contains("format version 2", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_sealed_bytes_hold_no_plaintext()
    {
        const string distinctive = "Zebediah-Quarterman-1987-04-12";
        var payload = RecordPayload.Encode("subject-" + distinctive, 1, new Dictionary<string, string> { ["name"] = distinctive, ["note"] = distinctive + distinctive });
        var sealedBytes = Orders.Seal("order-1", payload);
        foreach (var needle in new[] { Encoding.UTF8.GetBytes(distinctive), Encoding.UTF8.GetBytes(distinctive[..8]), Encoding.Unicode.GetBytes(distinctive) })
        {
            Assert.Equal(-1, sealedBytes.AsSpan().IndexOf(needle));
        }

        Assert.NotEqual(-1, payload.AsSpan().IndexOf(Encoding.UTF8.GetBytes(distinctive)));
    }

    [Fact]
    public void Two_seals_of_the_same_plaintext_differ()
    {
        var payload = RecordPayload.Encode("s", 1, new Dictionary<string, string> { ["f"] = "v" });
        var one = Orders.Seal("order-1", payload);
        var two = Orders.Seal("order-1", payload);
        Assert.NotEqual(one, two);
        Assert.Equal(Orders.Open("order-1", one), Orders.Open("order-1", two));
    }

    /// <summary>
    /// A batch's cipher answers as the one-shot calls do, use after use: uploads index subjects with
    /// it, while an erasure or a subject-filtered request computes the same index one subject at a time.
    /// </summary>
    [Fact]
    public void A_batch_cipher_answers_as_the_one_shot_calls_do_use_after_use()
    {
        using var cipher = Orders.Cipher();
        foreach (var subject in new[] { "alice", "bob", "alice", "ü-subject" })
        {
            var payload = RecordPayload.Encode(subject, 1, new Dictionary<string, string> { ["f"] = subject });
            Assert.Equal(Orders.SubjectRef(subject), cipher.SubjectRef(subject));
            Assert.Equal(Orders.ContentMac(payload), cipher.ContentMac(payload));
            Assert.Equal(payload, Orders.Open(subject, cipher.Seal(subject, payload)));
            Assert.Equal(payload, cipher.Open(subject, Orders.Seal(subject, payload)));
        }

        Assert.Throws<VaultKeyException>(() => cipher.Open("moved", Orders.Seal("order-1", "x"u8)));
    }

    [Fact]
    public void Content_mac_and_subject_ref_are_stable_within_a_dataset_and_differ_across_datasets()
    {
        var material = DataKey.NewKeyMaterial();
        var orders = new DataKey("orders", material);
        var sameOrders = new DataKey("orders", (byte[])material.Clone());
        var returns = new DataKey("returns", DataKey.NewKeyMaterial());
        var payload = RecordPayload.Encode("alice", 1, new Dictionary<string, string> { ["f"] = "v" });

        Assert.Equal(orders.ContentMac(payload), sameOrders.ContentMac(payload));
        Assert.Equal(orders.SubjectRef("alice"), sameOrders.SubjectRef("alice"));
        Assert.Equal(32, orders.SubjectRef("alice").Length);
        Assert.NotEqual(orders.ContentMac(payload), returns.ContentMac(payload));
        Assert.NotEqual(orders.SubjectRef("alice"), returns.SubjectRef("alice"));
        Assert.NotEqual(orders.SubjectRef("alice"), orders.SubjectRef("bob"));
        // Each use has its own subkey: the subject reference of some bytes is not their content MAC.
        Assert.NotEqual(orders.SubjectRef("alice"), orders.ContentMac("alice"u8));
    }

    [Fact]
    public void Content_mac_tells_a_changed_record_from_an_unchanged_one()
    {
        var before = RecordPayload.Encode("alice", 1, new Dictionary<string, string> { ["plan"] = "basic" });
        var again = RecordPayload.Encode("alice", 1, new Dictionary<string, string> { ["plan"] = "basic" });
        var changed = RecordPayload.Encode("alice", 1, new Dictionary<string, string> { ["plan"] = "basid" });
        Assert.Equal(Orders.ContentMac(before), Orders.ContentMac(again));
        Assert.NotEqual(Orders.ContentMac(before), Orders.ContentMac(changed));
    }

    [Fact]
    public void A_truncated_or_garbage_payload_throws_a_format_exception()
    {
        var payload = RecordPayload.Encode("alice", 1, new Dictionary<string, string> { ["a"] = "1", ["b"] = "ü" });
        for (var length = 0; length < payload.Length; length++)
        {
            Assert.Throws<FormatException>(() => RecordPayload.Decode(payload.AsSpan(0, length)));
        }

        Assert.Throws<FormatException>(() => RecordPayload.Decode([.. payload, 0]));
        var random = new Random(7);
        for (var i = 0; i < 2_000; i++)
        {
            var garbage = new byte[random.Next(0, 64)];
            random.NextBytes(garbage);
            if (garbage.Length > 0 && random.Next(2) == 0)
            {
                garbage[0] = RecordPayload.Version;
            }

            try
            {
                RecordPayload.Decode(garbage);
            }
            catch (FormatException)
            {
            }
        }
    }

    [Fact]
    public void A_payload_that_is_not_the_canonical_encoding_is_refused()
    {
        // Fields out of order, a repeated field, a count larger than the bytes, text that is not UTF-8, another version.
        Assert.Throws<FormatException>(() => RecordPayload.Decode(Convert.FromHexString("01" + "00000000" + "0000000000000000" + "00000002" + "0000000162" + "00000000" + "0000000161" + "00000000")));
        Assert.Throws<FormatException>(() => RecordPayload.Decode(Convert.FromHexString("01" + "00000000" + "0000000000000000" + "00000002" + "0000000161" + "00000000" + "0000000161" + "00000000")));
        Assert.Throws<FormatException>(() => RecordPayload.Decode(Convert.FromHexString("01" + "00000000" + "0000000000000000" + "ffffffff")));
        Assert.Throws<FormatException>(() => RecordPayload.Decode(Convert.FromHexString("01" + "00000001" + "ff" + "0000000000000000" + "00000000")));
        Assert.Throws<FormatException>(() => RecordPayload.Decode(Convert.FromHexString("02" + "00000000" + "0000000000000000" + "00000000")));
        Assert.Throws<FormatException>(() => RecordPayload.Decode(Convert.FromHexString("01" + "7fffffff")));
    }

    [Fact]
    public void One_data_key_seals_and_opens_on_many_threads_at_once()
    {
        Parallel.For(0, 2_000, i =>
        {
            var plaintext = Encoding.UTF8.GetBytes($"value {i}");
            Assert.Equal(plaintext, Orders.Open($"record-{i}", Orders.Seal($"record-{i}", plaintext)));
        });
    }

    [Fact]
    public void A_data_key_of_the_wrong_size_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new DataKey("orders", new byte[16]));
        Assert.Equal(32, DataKey.NewKeyMaterial().Length);
        Assert.NotEqual(DataKey.NewKeyMaterial(), DataKey.NewKeyMaterial());
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(1).NextBytes(bytes);
        return bytes;
    }
}
