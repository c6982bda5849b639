namespace Oversight.Exchange.Infrastructure.Vault;

/// <summary>The vault's master keys, bound from <c>Oversight:Exchange:Vault</c>.</summary>
public sealed class VaultOptions
{
    public const string Section = "Oversight:Exchange:Vault";

    /// <summary>
    /// The key that wraps new and re-wrapped data keys. May be empty when exactly one key is
    /// configured; the others stay in the ring only to open data keys not yet re-wrapped.
    /// </summary>
    public string ActiveMasterKeyId { get; set; } = "";

    public List<MasterKeySetting> MasterKeys { get; set; } = [];

    /// <summary>With no key configured, create one in the data folder; honoured only where development keys are allowed.</summary>
    public bool CreateDevelopmentMasterKey { get; set; } = true;
}

/// <summary>
/// One master key. The id is stored beside every data key it wraps, so it must never be reused
/// for other key material: a new key gets a new id.
/// </summary>
public sealed class MasterKeySetting
{
    /// <summary>1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'.</summary>
    public string Id { get; set; } = "";

    /// <summary>The base64 of 32 random bytes.</summary>
    public string Key { get; set; } = "";
}
