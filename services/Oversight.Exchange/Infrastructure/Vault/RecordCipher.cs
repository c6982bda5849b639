using System.Security.Cryptography;

namespace Oversight.Exchange.Infrastructure.Vault;

/// <summary>
/// One dataset key's AES-GCM and HMAC states, made once for a run of records (a batch of an upload,
/// a page of a delivery) rather than once per record: setting a cipher or an HMAC up costs more than
/// using it on a record. Not thread-safe: one per thread, disposed when the run ends.
/// </summary>
public sealed class RecordCipher : IDisposable
{
    private readonly DataKey _key;
    private readonly AesGcm _aes;
    private readonly IncrementalHash _subjectRef;
    private readonly IncrementalHash _contentMac;

    internal RecordCipher(DataKey key, byte[] sealKey, byte[] subjectRefKey, byte[] contentMacKey)
    {
        _key = key;
        _aes = new AesGcm(sealKey, DataKey.TagSize);
        _subjectRef = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, subjectRefKey);
        _contentMac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, contentMacKey);
    }

    /// <summary>
    /// version || nonce || ciphertext || tag. The associated data binds the version, the dataset and
    /// the record key, so a value copied into another row or dataset does not open there.
    /// </summary>
    public byte[] Seal(string recordKey, ReadOnlySpan<byte> plaintext)
    {
        var sealedBytes = new byte[DataKey.Overhead + plaintext.Length];
        sealedBytes[0] = DataKey.FormatVersion;
        var nonce = sealedBytes.AsSpan(1, DataKey.NonceSize);
        RandomNumberGenerator.Fill(nonce);
        _aes.Encrypt(
            nonce,
            plaintext,
            sealedBytes.AsSpan(1 + DataKey.NonceSize, plaintext.Length),
            sealedBytes.AsSpan(1 + DataKey.NonceSize + plaintext.Length),
            _key.AssociatedData(DataKey.FormatVersion, recordKey));
        return sealedBytes;
    }

    public byte[] Open(string recordKey, ReadOnlySpan<byte> sealedBytes)
    {
        if (sealedBytes.Length < DataKey.Overhead)
        {
            throw _key.DoesNotOpen(recordKey, $"{sealedBytes.Length} bytes, shorter than any sealed value");
        }

        if (sealedBytes[0] != DataKey.FormatVersion)
        {
            throw _key.DoesNotOpen(recordKey, $"format version {sealedBytes[0]}, which this vault does not read");
        }

        var ciphertext = sealedBytes[(1 + DataKey.NonceSize)..^DataKey.TagSize];
        var plaintext = new byte[ciphertext.Length];
        try
        {
            _aes.Decrypt(sealedBytes.Slice(1, DataKey.NonceSize), ciphertext, sealedBytes[^DataKey.TagSize..], plaintext,
                _key.AssociatedData(sealedBytes[0], recordKey));
        }
        catch (CryptographicException)
        {
            throw _key.DoesNotOpen(recordKey, "its tag does not verify");
        }

        return plaintext;
    }

    /// <summary>The same as <see cref="DataKey.SubjectRef"/>.</summary>
    public byte[] SubjectRef(string subjectId)
    {
        _subjectRef.AppendData(LengthPrefixed.Utf8.GetBytes(subjectId));
        return _subjectRef.GetHashAndReset();
    }

    /// <summary>The same as <see cref="DataKey.ContentMac"/>.</summary>
    public byte[] ContentMac(ReadOnlySpan<byte> payload)
    {
        _contentMac.AppendData(payload);
        return _contentMac.GetHashAndReset();
    }

    public void Dispose()
    {

        _aes.Dispose();
        _subjectRef.Dispose();
        _contentMac.Dispose();
    }
}
