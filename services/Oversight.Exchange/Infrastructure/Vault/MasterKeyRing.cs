using System.Security.Cryptography;
using System.Text;
using Oversight.BuildingBlocks.Security;

namespace Oversight.Exchange.Infrastructure.Vault;

/// <summary>A data key as stored: sealed under a master key, with that key's id so it can be found after a rotation.</summary>
/// <param name="Sealed">nonce || ciphertext || tag.</param>
public sealed record WrappedDataKey(string MasterKeyId, byte[] Sealed);

/// <summary>
/// The master keys from configuration, which wrap the per-dataset data keys. Records are sealed
/// under data keys, never under a master key, so rotating a master key re-wraps the data keys and
/// leaves every record as it is. The active key wraps; every configured key unwraps, so old keys
/// stay readable until all data keys are re-wrapped and the old key is dropped.
/// </summary>
public sealed class MasterKeyRing
{
    /// <summary>The file a development key lives in, in the data folder.</summary>
    public const string DevelopmentKeyFileName = "exchange-vault-master-key.dev";

    /// <summary>Every development key's id starts so, and no configured key's id may outside development.</summary>
    public const string DevelopmentKeyIdPrefix = "development";

    private const int KeySize = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int SealedSize = NonceSize + KeySize + TagSize;
    private const byte WrapFormat = 1;
    private const string WrapLabel = "oversight/exchange/data-key/v1";

    private const string HowToMakeAKey =
        $"Set {VaultOptions.Section}:MasterKeys:0:Id to a name for the key (1 to 64 of A-Z a-z 0-9 . _ -) and {VaultOptions.Section}:MasterKeys:0:Key "
        + $"to the base64 of 32 random bytes (for example 'openssl rand -base64 32'; environment variables Oversight__Exchange__Vault__MasterKeys__0__Id "
        + $"and __Key); with several keys, {VaultOptions.Section}:ActiveMasterKeyId names the one that wraps data keys.";

    private readonly Dictionary<string, byte[]> _keys;

    private MasterKeyRing(List<(string Id, byte[] Key)> keys, string activeKeyId)
    {
        _keys = keys.ToDictionary(key => key.Id, key => key.Key, StringComparer.Ordinal);
        KeyIds = [.. keys.Select(key => key.Id)];
        ActiveKeyId = activeKeyId;
        UsesDevelopmentKey = KeyIds.Any(IsDevelopmentId);
    }

    /// <summary>The key that wraps new and re-wrapped data keys.</summary>
    public string ActiveKeyId { get; }

    /// <summary>Whether any key in the ring is a development key, which only development hosts load.</summary>
    public bool UsesDevelopmentKey { get; }

    /// <summary>Every key that can unwrap, in configured order.</summary>
    public IReadOnlyList<string> KeyIds { get; }

    /// <summary>
    /// Loads the configured keys. With none, a development key from <paramref name="dataDirectory"/>
    /// (created on first load) where development keys are allowed and their creation is on; else
    /// <see cref="MissingKeyException"/>. Anything misconfigured stops the start with the setting named.
    /// </summary>
    public static MasterKeyRing Load(VaultOptions options, string dataDirectory, bool developmentKeysAllowed)
    {
        var keys = options.MasterKeys.Count == 0
            ? [DevelopmentKey(options, dataDirectory, developmentKeysAllowed)]
            : Configured(options.MasterKeys, developmentKeysAllowed);

        var active = options.ActiveMasterKeyId.Trim();
        if (active.Length == 0)
        {
            if (keys.Count > 1)
            {
                throw new InvalidOperationException(
                    $"{VaultOptions.Section}:ActiveMasterKeyId is not set, and {keys.Count} master keys are configured; set it to the id of the one that wraps data keys.");
            }

            active = keys[0].Id;
        }
        else if (!keys.Any(key => key.Id == active))
        {
            throw new InvalidOperationException(
                $"{VaultOptions.Section}:ActiveMasterKeyId is '{VaultKeyException.Shown(active)}', which is not among the master keys ({string.Join(", ", keys.Select(key => key.Id))}).");
        }

        return new MasterKeyRing(keys, active);
    }

    /// <summary>
    /// Seals a data key under the active master key. The associated data binds the dataset and the
    /// master key id, so a wrapped key cannot be moved to another dataset or relabelled with another id.
    /// </summary>
    public WrappedDataKey Wrap(ReadOnlySpan<byte> dataKey, string datasetId)
    {
        if (dataKey.Length != KeySize)
        {
            throw new ArgumentException($"A data key is {KeySize} bytes, not {dataKey.Length}.", nameof(dataKey));
        }

        var sealedBytes = new byte[SealedSize];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_keys[ActiveKeyId], TagSize);
        aes.Encrypt(nonce, dataKey, sealedBytes.AsSpan(NonceSize, KeySize), sealedBytes.AsSpan(NonceSize + KeySize), AssociatedData(datasetId, ActiveKeyId));
        return new WrappedDataKey(ActiveKeyId, sealedBytes);
    }

    public byte[] Unwrap(WrappedDataKey wrapped, string datasetId)
    {
        var keyId = VaultKeyException.Shown(wrapped.MasterKeyId);
        if (!_keys.TryGetValue(wrapped.MasterKeyId, out var masterKey))
        {
            throw new VaultKeyException(
                $"The data key of dataset '{VaultKeyException.Shown(datasetId)}' is wrapped by master key '{keyId}', which is not configured "
                + $"({VaultOptions.Section}:MasterKeys holds {string.Join(", ", KeyIds)}).");
        }

        var sealedBytes = wrapped.Sealed;
        if (sealedBytes.Length != SealedSize)
        {
            throw DoesNotOpen();
        }

        var dataKey = new byte[KeySize];
        using var aes = new AesGcm(masterKey, TagSize);
        try
        {
            aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize, KeySize), sealedBytes.AsSpan(NonceSize + KeySize), dataKey, AssociatedData(datasetId, wrapped.MasterKeyId));
        }
        catch (CryptographicException)
        {
            throw DoesNotOpen();
        }

        return dataKey;

        VaultKeyException DoesNotOpen() => new(
            $"Master key '{keyId}' does not open the data key of dataset '{VaultKeyException.Shown(datasetId)}' (wrong key or damaged).");
    }

    /// <summary>The same data key, wrapped under the active master key: what a rotation stores in place of <paramref name="wrapped"/>.</summary>
    public WrappedDataKey Rewrap(WrappedDataKey wrapped, string datasetId)
    {
        var dataKey = Unwrap(wrapped, datasetId);
        try
        {
            return Wrap(dataKey, datasetId);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    private static byte[] AssociatedData(string datasetId, string masterKeyId) =>
        LengthPrefixed.AssociatedData(WrapFormat, WrapLabel, datasetId, masterKeyId);

    private static bool IsDevelopmentId(string id) => id.StartsWith(DevelopmentKeyIdPrefix, StringComparison.OrdinalIgnoreCase);

    private static List<(string Id, byte[] Key)> Configured(List<MasterKeySetting> settings, bool developmentKeysAllowed)
    {
        var keys = new List<(string Id, byte[] Key)>(settings.Count);
        for (var i = 0; i < settings.Count; i++)
        {
            var setting = $"{VaultOptions.Section}:MasterKeys:{i}";
            var id = settings[i].Id.Trim();
            CheckId(id, $"{setting}:Id");
            if (keys.Any(key => string.Equals(key.Id, id, StringComparison.OrdinalIgnoreCase)))
            {
                throw new InvalidOperationException($"{setting}:Id '{id}' is the id of another master key too; every key needs an id of its own.");
            }

            if (IsDevelopmentId(id) && !developmentKeysAllowed)
            {
                throw new MissingKeyException(
                    $"{setting}:Id '{id}' names a development key, which is refused outside the Development environment and the embedded default. "
                    + "Configure a key of your own with an id that does not start with 'development'.");
            }

            if (string.IsNullOrWhiteSpace(settings[i].Key))
            {
                throw new MissingKeyException($"{setting}:Key is not set for master key '{id}'. {HowToMakeAKey}");
            }

            keys.Add((id, ParseKey(settings[i].Key, $"{setting}:Key")));
        }

        return keys;
    }

    private static void CheckId(string id, string setting)
    {
        if (id.Length is < 1 or > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw new InvalidOperationException(
                $"{setting} must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-', not '{VaultKeyException.Shown(id)}'.");
        }
    }

    private static byte[] ParseKey(string base64, string setting)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException exception)
        {
            throw new InvalidOperationException($"{setting} is not base64; it must be the base64 of 32 random bytes (for example 'openssl rand -base64 32').", exception);
        }

        if (key.Length != KeySize)
        {
            throw new InvalidOperationException($"{setting} is {key.Length} bytes; a master key is exactly 32 (for example 'openssl rand -base64 32').");
        }

        return key;
    }

    private static (string Id, byte[] Key) DevelopmentKey(VaultOptions options, string dataDirectory, bool developmentKeysAllowed)
    {
        if (!developmentKeysAllowed || !options.CreateDevelopmentMasterKey)
        {
            var why = developmentKeysAllowed
                ? $"{VaultOptions.Section}:CreateDevelopmentMasterKey is off"
                : "a development key is created only in the Development environment and the embedded default";
            throw new MissingKeyException($"No vault master key is configured ({why}). {HowToMakeAKey}");
        }

        var path = Path.Combine(dataDirectory, DevelopmentKeyFileName);
        if (!File.Exists(path))
        {
            Create(path);
        }

        return ReadDevelopmentKey(path);
    }

    /// <summary>The file holds comment lines, the id, then the base64 key.</summary>
    private static (string Id, byte[] Key) ReadDevelopmentKey(string path)
    {
        var lines = File.ReadAllLines(path).Select(line => line.Trim()).Where(line => line.Length > 0 && !line.StartsWith('#')).ToList();
        if (lines.Count != 2 || !lines[0].StartsWith(DevelopmentKeyIdPrefix + "-", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The development master key file '{path}' is damaged: it should hold a 'development-…' id and a base64 key on two lines.");
        }

        CheckId(lines[0], $"The id in '{path}'");
        return (lines[0], ParseKey(lines[1], $"The key in '{path}'"));
    }

    /// <summary>
    /// Writes a new key owner-only beside the file and moves it into place, so a reader never sees a
    /// half-written key and, when two processes race, both end up with the one that landed first.
    /// </summary>
    private static void Create(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var key = RandomNumberGenerator.GetBytes(KeySize);
        var id = $"{DevelopmentKeyIdPrefix}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}";
        var text = "# DEVELOPMENT ONLY: the Exchange vault's master key, created on first start where development keys are allowed.\n"
            + "# Losing this file loses every record in the vault; never use it outside development.\n"
            + $"{id}\n{Convert.ToBase64String(key)}\n";
        CryptographicOperations.ZeroMemory(key);

        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var writer = new StreamWriter(temporary, Encoding.ASCII, fileOptions))
            {
                writer.Write(text);
            }

            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first; its key is the one.
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
