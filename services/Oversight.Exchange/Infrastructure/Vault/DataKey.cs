using System.Security.Cryptography;

namespace Oversight.Exchange.Infrastructure.Vault;

/// <summary>
/// One dataset's unwrapped data key: seals and opens its records' values with AES-256-GCM and keys
/// the blind indexes kept beside them. Each use gets its own subkey, derived by HKDF-SHA256, so
/// the cipher key and the two HMAC keys are independent. Safe to share across threads: it holds
/// only immutable key bytes and makes a cipher per call.
/// </summary>
public sealed class DataKey
{
    public const int KeySize = 32;

    /// <summary>The first byte of every sealed value, so a later format can be told apart.</summary>
    public const byte FormatVersion = 1;

    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int Overhead = 1 + NonceSize + TagSize;

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
    /// version || nonce || ciphertext || tag. The associated data binds the version, the dataset and
    /// the record key, so a value copied into another row or dataset does not open there.
    /// </summary>
    public byte[] Seal(string recordKey, ReadOnlySpan<byte> plaintext)
    {
        var sealedBytes = new byte[Overhead + plaintext.Length];
        sealedBytes[0] = FormatVersion;
        var nonce = sealedBytes.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_sealKey, TagSize);
        aes.Encrypt(
            nonce,
            plaintext,
            sealedBytes.AsSpan(1 + NonceSize, plaintext.Length),
            sealedBytes.AsSpan(1 + NonceSize + plaintext.Length),
            AssociatedData(FormatVersion, recordKey));
        return sealedBytes;
    }

    public byte[] Open(string recordKey, ReadOnlySpan<byte> sealedBytes)
    {
        if (sealedBytes.Length < Overhead)
        {
            throw DoesNotOpen(recordKey, $"{sealedBytes.Length} bytes, shorter than any sealed value");
        }

        if (sealedBytes[0] != FormatVersion)
        {
            throw DoesNotOpen(recordKey, $"format version {sealedBytes[0]}, which this vault does not read");
        }

        var ciphertext = sealedBytes[(1 + NonceSize)..^TagSize];
        var plaintext = new byte[ciphertext.Length];
        using var aes = new AesGcm(_sealKey, TagSize);
        try
        {
            aes.Decrypt(sealedBytes.Slice(1, NonceSize), ciphertext, sealedBytes[^TagSize..], plaintext, AssociatedData(sealedBytes[0], recordKey));
        }
        catch (CryptographicException)
        {
            throw DoesNotOpen(recordKey, "its tag does not verify");
        }

        return plaintext;
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

    private byte[] AssociatedData(byte version, string recordKey) => LengthPrefixed.AssociatedData(version, DatasetId, recordKey);

    private VaultKeyException DoesNotOpen(string recordKey, string why) => new(
        $"The sealed value of record '{VaultKeyException.Shown(recordKey)}' in dataset '{VaultKeyException.Shown(DatasetId)}' does not open ({why}): "
        + "it was moved, damaged, or sealed under another key.");

    private static byte[] Subkey(byte[] key, ReadOnlySpan<byte> label)
    {
        var subkey = new byte[KeySize];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key, subkey, salt: [], info: label);
        return subkey;
    }
}
