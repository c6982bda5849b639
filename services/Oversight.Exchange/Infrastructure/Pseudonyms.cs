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

    public Pseudonyms(byte[] key)
    {
        if (key.Length < 32)
        {
            throw new InvalidOperationException("Oversight:Exchange:PseudonymKey must be the base64 of at least 32 bytes.");
        }

        _key = key;
    }

    public string For(string recipientId, string subjectId)
    {
        // Length-prefixed, as the vault writes texts, so ("ab", "c") and ("a", "bc") never meet.
        var input = new ArrayBufferWriter<byte>(16 + recipientId.Length + subjectId.Length);
        Vault.LengthPrefixed.WriteText(input, recipientId);
        Vault.LengthPrefixed.WriteText(input, subjectId);
        return Convert.ToHexStringLower(HMACSHA256.HashData(_key, input.WrittenSpan));
    }
}
