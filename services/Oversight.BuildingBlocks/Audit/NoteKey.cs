using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// A signed-note public key: its name and Ed25519 public key. The key id is the first 4 bytes of
/// SHA-256(name || 0x0A || 0x01 || public key); the verifier key text is
/// "name+hex(key id)+base64(0x01 || public key)", as C2SP tooling reads it.
/// </summary>
public sealed record NoteKey(string Name, byte[] PublicKeyBytes)
{
    /// <summary>The signature type byte of Ed25519 in C2SP signed notes.</summary>
    public const byte Ed25519Type = 0x01;

    public uint KeyId
    {
        get
        {
            var name = Encoding.UTF8.GetBytes(Name);
            var input = new byte[name.Length + 2 + PublicKeyBytes.Length];
            name.CopyTo(input, 0);
            input[name.Length] = 0x0A;
            input[name.Length + 1] = Ed25519Type;
            PublicKeyBytes.CopyTo(input, name.Length + 2);
            return BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(input));
        }
    }

    public string KeyIdHex => KeyId.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

    public string VerifierKey => $"{Name}+{KeyIdHex}+{Convert.ToBase64String([Ed25519Type, .. PublicKeyBytes])}";

    public PublicKey PublicKey() => NSec.Cryptography.PublicKey.Import(SignatureAlgorithm.Ed25519, PublicKeyBytes, KeyBlobFormat.RawPublicKey);

    public static NoteKey Of(string name, Key privateKey) => new(name, privateKey.PublicKey.Export(KeyBlobFormat.RawPublicKey));

    /// <summary>A key name is non-empty printable text without spaces or '+'.</summary>
    public static bool IsName(string name) => name.Length > 0 && name.All(c => c > ' ' && c != '+' && !char.IsControl(c));

    /// <summary>Parses a verifier key text; null unless it is an Ed25519 key whose id matches.</summary>
    public static NoteKey? ParseVerifierKey(string text)
    {
        // The name holds no '+', the id is 8 hex digits; the base64 after them may hold '+' itself.
        var afterName = text.IndexOf('+', StringComparison.Ordinal);
        if (afterName < 1 || text.Length < afterName + 10 || text[afterName + 9] != '+' || !IsName(text[..afterName]))
        {
            return null;
        }

        var (name, keyId) = (text[..afterName], text.Substring(afterName + 1, 8));
        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(text[(afterName + 10)..]);
        }
        catch (FormatException)
        {
            return null;
        }

        if (blob.Length != 33 || blob[0] != Ed25519Type)
        {
            return null;
        }

        var key = new NoteKey(name, blob[1..]);
        return string.Equals(key.KeyIdHex, keyId, StringComparison.OrdinalIgnoreCase) ? key : null;
    }
}
