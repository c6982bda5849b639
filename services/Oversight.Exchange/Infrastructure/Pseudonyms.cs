using System.Security.Cryptography;
using System.Text;

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
        // Length-prefixed, so ("ab", "c") and ("a", "bc") never meet.
        var recipient = Encoding.UTF8.GetBytes(recipientId);
        var subject = Encoding.UTF8.GetBytes(subjectId);
        var input = new byte[8 + recipient.Length + subject.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(input, recipient.Length);
        recipient.CopyTo(input, 4);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(input.AsSpan(4 + recipient.Length), subject.Length);
        subject.CopyTo(input, 8 + recipient.Length);
        return Convert.ToHexStringLower(HMACSHA256.HashData(_key, input));
    }
}
