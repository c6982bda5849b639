using System.Security.Cryptography;

namespace Oversight.Exchange.Infrastructure.Vault;

/// <summary>
/// One dataset's unwrapped data key: seals and opens its records' values with AES-256-GCM and keys
/// the blind indexes kept beside them. Each use gets its own subkey, derived by HKDF-SHA256, so
/// the cipher key and the two HMAC keys are independent. Safe to share across threads: it holds
/// only immutable key bytes; a run of records on one thread takes a <see cref="RecordCipher"/>.
/// </summary>
public sealed class DataKey
{
    public const int KeySize = 32;

    /// <summary>The first byte of every sealed value, so a later format can be told apart.</summary>
    public const byte FormatVersion = 1;

    internal const int NonceSize = 12;
    internal const int TagSize = 16;
    internal const int Overhead = 1 + NonceSize + TagSize;

    private readonly byte[] _sealKey;
    private readonly byte[] _subjectRefKey;
    private readonly byte[] _contentMacKey;

    /// <summary>Keeps only subkeys derived from <paramref name="key"/>, so the caller may zero it afterwards.</summary>
    public DataKey(string datasetId, byte[] key)
    {
        ArgumentException.ThrowIfNullOrEmpty(datasetId);
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"A data key is {KeySize} bytes, not {key.Length}.", nameof(key));
        }

        DatasetId = datasetId;
        _sealKey = Subkey(key, "oversight/exchange/record-seal/v1"u8);
        _subjectRefKey = Subkey(key, "oversight/exchange/subject-ref/v1"u8);
        _contentMacKey = Subkey(key, "oversight/exchange/record-mac/v1"u8);
    }

    public string DatasetId { get; }

    /// <summary>Fresh key material for a new dataset, to be wrapped by the master key ring before it is stored.</summary>
    public static byte[] NewKeyMaterial() => RandomNumberGenerator.GetBytes(KeySize);

    /// <summary>
    /// A cipher for a run of records on one thread (a batch, a page): the AES-GCM and HMAC states
    /// are set up once instead of once per record. Dispose it when the run ends.
    /// </summary>
    public RecordCipher Cipher() => new(this, _sealKey, _subjectRefKey, _contentMacKey);

    /// <summary>Seals one value; for a run of records, <see cref="Cipher"/>.</summary>
    public byte[] Seal(string recordKey, ReadOnlySpan<byte> plaintext)
    {
        using var cipher = Cipher();
        return cipher.Seal(recordKey, plaintext);
    }

    /// <summary>Opens one value; for a run of records, <see cref="Cipher"/>.</summary>
    public byte[] Open(string recordKey, ReadOnlySpan<byte> sealedBytes)
    {
        using var cipher = Cipher();
        return cipher.Open(recordKey, sealedBytes);
    }

    /// <summary>
    /// A blind index: finds a subject's records (for erasure, for a subject-filtered request) without
    /// the raw id being stored. Per dataset, since each dataset has its own key.
    /// </summary>
    public byte[] SubjectRef(string subjectId) => HMACSHA256.HashData(_subjectRefKey, LengthPrefixed.Utf8.GetBytes(subjectId));

    /// <summary>
    /// Tells an unchanged re-upload from a changed one without decrypting. Keyed, so a low-entropy
    /// value cannot be guessed by hashing candidates.
    /// </summary>
    public byte[] ContentMac(ReadOnlySpan<byte> payload) => HMACSHA256.HashData(_contentMacKey, payload);

    internal byte[] AssociatedData(byte version, string recordKey) => LengthPrefixed.AssociatedData(version, DatasetId, recordKey);

    internal VaultKeyException DoesNotOpen(string recordKey, string why) => new(
        $"The sealed value of record '{VaultKeyException.Shown(recordKey)}' in dataset '{VaultKeyException.Shown(DatasetId)}' does not open ({why}): "
        + "it was moved, damaged, or sealed under another key.");

    private static byte[] Subkey(byte[] key, ReadOnlySpan<byte> label)
    {
        var subkey = new byte[KeySize];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key, subkey, salt: [], info: label);
        return subkey;
    }
}
