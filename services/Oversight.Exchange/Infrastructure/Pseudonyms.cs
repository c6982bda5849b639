using System.Buffers;
using System.Security.Cryptography;

namespace Oversight.Exchange.Infrastructure;

/// <summary>
/// Subject ids as a recipient sees them when its alliance does not allow identified data:
/// HMAC-SHA256 under the exchange's pseudonym key of the recipient and the subject, lowercase hex.
/// Stable for one recipient (its deliveries join up), unlinkable across recipients without the key.
/// </summary>
public sealed class Pseudonyms
{
    /// <summary>DEVELOPMENT ONLY: the key used where development keys are allowed and none is configured.</summary>
    public const string DevelopmentKey = "b3ZlcnNpZ2h0LWRldmVsb3BtZW50LXBzZXVkb255bS1rZXktbm90LWEtc2VjcmV0";

    private readonly byte[] _key;
    private readonly byte[] _fingerprintKey;

    public Pseudonyms(byte[] key)
    {
        if (key.Length < 32)
        {
            throw new InvalidOperationException("Oversight:Exchange:PseudonymKey must be the base64 of at least 32 bytes.");
        }

        _key = key;
        _fingerprintKey = new byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key, _fingerprintKey, salt: [], info: "oversight/exchange/request-fingerprint/v1"u8);
    }

    /// <summary>
    /// A subject id as a request's idempotency fingerprint covers it: keyed (under a key of its own,
    /// derived from this one), so the stored fingerprint of a request naming one subject cannot be
    /// used to confirm a guessed id.
    /// </summary>
    public string Fingerprint(string subjectId) => Convert.ToHexStringLower(HMACSHA256.HashData(_fingerprintKey, Vault.LengthPrefixed.Utf8.GetBytes(subjectId)));

    public string For(string recipientId, string subjectId)
    {
        using var ofRecipient = Of(recipientId);
        return ofRecipient.For(subjectId);
    }

    /// <summary>One recipient's pseudonyms for a run of subjects (a page) on one thread: the HMAC is keyed once, not per subject.</summary>
    public OfRecipient Of(string recipientId) => new(_key, recipientId);

    public sealed class OfRecipient : IDisposable
    {
        private readonly IncrementalHash _hmac;
        private readonly ArrayBufferWriter<byte> _recipient = new();

        internal OfRecipient(byte[] key, string recipientId)
        {
            _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
            // Length-prefixed, as the vault writes texts, so ("ab", "c") and ("a", "bc") never meet.
            Vault.LengthPrefixed.WriteText(_recipient, recipientId);
        }

        public string For(string subjectId)
        {
            var subject = new ArrayBufferWriter<byte>(4 + subjectId.Length);
            Vault.LengthPrefixed.WriteText(subject, subjectId);
            _hmac.AppendData(_recipient.WrittenSpan);
            _hmac.AppendData(subject.WrittenSpan);
            return Convert.ToHexStringLower(_hmac.GetHashAndReset());
        }

        public void Dispose() => _hmac.Dispose();
    }
}
