using Oversight.BuildingBlocks.Security;
using Oversight.Exchange.Infrastructure.Vault;

namespace Oversight.Exchange.Tests;

/// <summary>Data keys are wrapped by master keys from configuration; rotating one re-wraps data keys and leaves records alone.</summary>
public sealed class MasterKeyRingTests : IDisposable
{
    private static readonly string K1 = Convert.ToBase64String(DataKey.NewKeyMaterial());
    private static readonly string K2 = Convert.ToBase64String(DataKey.NewKeyMaterial());

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "oversight-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public void A_wrapped_data_key_unwraps_to_the_same_key_and_carries_the_active_key_id()
    {
        var ring = Ring(active: "", ("k1", K1));
        var dataKey = DataKey.NewKeyMaterial();
        var wrapped = ring.Wrap(dataKey, "orders");
        Assert.Equal("k1", wrapped.MasterKeyId);
        Assert.Equal("k1", ring.ActiveKeyId);
        Assert.False(ring.UsesDevelopmentKey);
        Assert.Equal(dataKey, ring.Unwrap(wrapped, "orders"));
        Assert.Equal(-1, wrapped.Sealed.AsSpan().IndexOf(dataKey));
        Assert.NotEqual(wrapped.Sealed, ring.Wrap(dataKey, "orders").Sealed);
    }

    [Fact]
    public void A_wrong_master_key_cannot_unwrap_and_the_message_names_the_key_id()
    {
        var wrapped = Ring(active: "", ("k1", K1)).Wrap(DataKey.NewKeyMaterial(), "orders");
        var wrong = Assert.Throws<VaultKeyException>(() => Ring(active: "", ("k1", K2)).Unwrap(wrapped, "orders"));
        Assert.Contains("'k1'", wrong.Message, StringComparison.Ordinal);
        Assert.Contains("does not open", wrong.Message, StringComparison.Ordinal);
        Assert.Contains("wrong key or damaged", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrapped_data_key_does_not_unwrap_for_another_dataset_nor_under_another_id_nor_damaged()
    {
        var ring = Ring(active: "k1", ("k1", K1), ("k2", K1));
        var wrapped = ring.Wrap(DataKey.NewKeyMaterial(), "orders");
        Assert.Throws<VaultKeyException>(() => ring.Unwrap(wrapped, "returns"));
        // The same key material under another id: the id is bound in, so a relabelled key does not open.
        Assert.Throws<VaultKeyException>(() => ring.Unwrap(wrapped with { MasterKeyId = "k2" }, "orders"));
        for (var bit = 0; bit < wrapped.Sealed.Length * 8; bit++)
        {
            var damaged = (byte[])wrapped.Sealed.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Throws<VaultKeyException>(() => ring.Unwrap(wrapped with { Sealed = damaged }, "orders"));
        }

        Assert.Throws<VaultKeyException>(() => ring.Unwrap(wrapped with { Sealed = wrapped.Sealed[..^1] }, "orders"));
    }

    [Fact]
    public void An_unconfigured_master_key_id_is_named()
    {
        var wrapped = Ring(active: "", ("k1", K1)).Wrap(DataKey.NewKeyMaterial(), "orders");
        var missing = Assert.Throws<VaultKeyException>(() => Ring(active: "", ("k2", K2)).Unwrap(wrapped, "orders"));
        Assert.Contains("'k1'", missing.Message, StringComparison.Ordinal);
        Assert.Contains("not configured", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rotation_rewraps_data_keys_and_every_record_sealed_before_still_opens()
    {
        var before = Ring(active: "", ("k1", K1));
        var datasets = new[] { "orders", "returns" };
        var wrappedUnderK1 = datasets.ToDictionary(d => d, d => before.Wrap(DataKey.NewKeyMaterial(), d));
        var records = datasets.ToDictionary(d => d, d =>
        {
            var key = new DataKey(d, before.Unwrap(wrappedUnderK1[d], d));
            return Enumerable.Range(0, 5).Select(i => (Key: $"r{i}", Sealed: key.Seal($"r{i}", RecordPayload.Encode($"s{i}", i, new Dictionary<string, string> { ["f"] = $"v{i}" })))).ToList();
        });

        var rotating = Ring(active: "k2", ("k1", K1), ("k2", K2));
        Assert.Equal(["k1", "k2"], rotating.KeyIds);
        var rewrapped = new Dictionary<string, WrappedDataKey>();
        foreach (var dataset in datasets)
        {
            Assert.Equal(before.Unwrap(wrappedUnderK1[dataset], dataset), rotating.Unwrap(wrappedUnderK1[dataset], dataset));
            rewrapped[dataset] = rotating.Rewrap(wrappedUnderK1[dataset], dataset);
            Assert.Equal("k2", rewrapped[dataset].MasterKeyId);
            Assert.Equal("k2", rotating.Wrap(DataKey.NewKeyMaterial(), dataset).MasterKeyId);
        }

        var after = Ring(active: "", ("k2", K2));
        foreach (var dataset in datasets)
        {
            var key = new DataKey(dataset, after.Unwrap(rewrapped[dataset], dataset));
            foreach (var (recordKey, sealedBytes) in records[dataset])
            {
                Assert.Equal(recordKey.Replace('r', 's'), RecordPayload.Decode(key.Open(recordKey, sealedBytes)).SubjectId);
            }

            Assert.Throws<VaultKeyException>(() => after.Unwrap(wrappedUnderK1[dataset], dataset));
        }
    }

    [Fact]
    public void A_development_key_is_created_on_first_load_and_reloaded_the_same()
    {
        var first = MasterKeyRing.Load(new VaultOptions(), _folder, developmentKeysAllowed: true);
        Assert.StartsWith("development-", first.ActiveKeyId, StringComparison.Ordinal);
        Assert.Matches("^development-[0-9a-f]{8}$", first.ActiveKeyId);
        Assert.True(first.UsesDevelopmentKey);
        var path = Path.Combine(_folder, MasterKeyRing.DevelopmentKeyFileName);
        Assert.Equal([path], Directory.GetFiles(_folder));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        var wrapped = first.Wrap(DataKey.NewKeyMaterial(), "orders");
        var sealedBytes = new DataKey("orders", first.Unwrap(wrapped, "orders")).Seal("r1", "kept across restarts"u8);

        var second = MasterKeyRing.Load(new VaultOptions(), _folder, developmentKeysAllowed: true);
        Assert.Equal(first.ActiveKeyId, second.ActiveKeyId);
        Assert.Equal("kept across restarts"u8.ToArray(), new DataKey("orders", second.Unwrap(wrapped, "orders")).Open("r1", sealedBytes));
    }

    [Fact]
    public void A_development_key_is_refused_where_development_keys_are_not_allowed()
    {
        var development = MasterKeyRing.Load(new VaultOptions(), _folder, developmentKeysAllowed: true);
        Assert.Throws<MissingKeyException>(() => MasterKeyRing.Load(new VaultOptions(), _folder, developmentKeysAllowed: false));

        var configured = Options("", (development.ActiveKeyId, K1));
        var refused = Assert.Throws<MissingKeyException>(() => MasterKeyRing.Load(configured, _folder, developmentKeysAllowed: false));
        Assert.Contains("Oversight:Exchange:Vault:MasterKeys:0:Id", refused.Message, StringComparison.Ordinal);
        Assert.Throws<MissingKeyException>(() => MasterKeyRing.Load(Options("", ("Development.Mine", K1)), _folder, developmentKeysAllowed: false));
        Assert.True(MasterKeyRing.Load(configured, _folder, developmentKeysAllowed: true).UsesDevelopmentKey);
    }

    [Fact]
    public void Without_a_key_where_development_keys_are_not_allowed_the_load_names_the_settings()
    {
        var missing = Assert.Throws<MissingKeyException>(() => MasterKeyRing.Load(new VaultOptions(), _folder, developmentKeysAllowed: false));
        Assert.Contains("Oversight:Exchange:Vault:MasterKeys:0:Id", missing.Message, StringComparison.Ordinal);
        Assert.Contains("Oversight:Exchange:Vault:MasterKeys:0:Key", missing.Message, StringComparison.Ordinal);
        Assert.Contains("Oversight:Exchange:Vault:ActiveMasterKeyId", missing.Message, StringComparison.Ordinal);
        Assert.Contains("openssl rand -base64 32", missing.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_folder));
    }

    [Fact]
    public void With_development_key_creation_off_no_key_is_created_even_where_allowed()
    {
        var missing = Assert.Throws<MissingKeyException>(() => MasterKeyRing.Load(new VaultOptions { CreateDevelopmentMasterKey = false }, _folder, developmentKeysAllowed: true));
        Assert.Contains("CreateDevelopmentMasterKey", missing.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_folder));
    }

    [Fact]
    public void Configured_keys_win_over_a_development_key_file()
    {
        MasterKeyRing.Load(new VaultOptions(), _folder, developmentKeysAllowed: true);
        var ring = MasterKeyRing.Load(Options("", ("k1", K1)), _folder, developmentKeysAllowed: true);
        Assert.Equal(["k1"], ring.KeyIds);
        Assert.False(ring.UsesDevelopmentKey);
    }

    [Theory]
    [InlineData("key not base64", "Oversight:Exchange:Vault:MasterKeys:0:Key")]
    [InlineData("key of 16 bytes", "Oversight:Exchange:Vault:MasterKeys:0:Key")]
    [InlineData("key of 33 bytes", "Oversight:Exchange:Vault:MasterKeys:0:Key")]
    [InlineData("key empty", "Oversight:Exchange:Vault:MasterKeys:0:Key")]
    [InlineData("duplicate ids", "Oversight:Exchange:Vault:MasterKeys:1:Id")]
    [InlineData("ids differing only in case", "Oversight:Exchange:Vault:MasterKeys:1:Id")]
    [InlineData("id empty", "Oversight:Exchange:Vault:MasterKeys:0:Id")]
    [InlineData("id with a space", "Oversight:Exchange:Vault:MasterKeys:0:Id")]
    [InlineData("id with a slash", "Oversight:Exchange:Vault:MasterKeys:0:Id")]
    [InlineData("id of 65 characters", "Oversight:Exchange:Vault:MasterKeys:0:Id")]
    [InlineData("active key not among the keys", "Oversight:Exchange:Vault:ActiveMasterKeyId")]
    [InlineData("several keys and no active key", "Oversight:Exchange:Vault:ActiveMasterKeyId")]
    public void A_misconfigured_ring_stops_the_load_and_names_the_setting(string mistake, string setting)
    {
        var options = mistake switch
        {
            "key not base64" => Options("", ("k1", "not base64!")),
            "key of 16 bytes" => Options("", ("k1", Convert.ToBase64String(new byte[16]))),
            "key of 33 bytes" => Options("", ("k1", Convert.ToBase64String(new byte[33]))),
            "key empty" => Options("", ("k1", "")),
            "duplicate ids" => Options("k1", ("k1", K1), ("k1", K2)),
            "ids differing only in case" => Options("k1", ("k1", K1), ("K1", K2)),
            "id empty" => Options("", ("", K1)),
            "id with a space" => Options("", ("k 1", K1)),
            "id with a slash" => Options("", ("k/1", K1)),
            "id of 65 characters" => Options("", (new string('k', 65), K1)),
            "active key not among the keys" => Options("k3", ("k1", K1), ("k2", K2)),
            "several keys and no active key" => Options("", ("k1", K1), ("k2", K2)),
            _ => throw new ArgumentOutOfRangeException(nameof(mistake)),
        };

        var refused = Assert.ThrowsAny<Exception>(() => MasterKeyRing.Load(options, _folder, developmentKeysAllowed: true));
        Assert.True(refused is InvalidOperationException or MissingKeyException, refused.GetType().Name);
        Assert.Contains(setting, refused.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_folder));
    }

    [Fact]
    public void An_id_of_64_allowed_characters_is_accepted()
    {
        var id = "Key_1.2-" + new string('z', 56);
        Assert.Equal(id, Ring(active: id, (id, K1)).ActiveKeyId);
    }

    private MasterKeyRing Ring(string active, params (string Id, string Key)[] keys) =>
        MasterKeyRing.Load(Options(active, keys), _folder, developmentKeysAllowed: false);

    private static VaultOptions Options(string active, params (string Id, string Key)[] keys) => new()
    {
        ActiveMasterKeyId = active,
        MasterKeys = [.. keys.Select(key => new MasterKeySetting { Id = key.Id, Key = key.Key })],
    };

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
