using System.Buffers.Binary;
using System.Text;
using NSec.Cryptography;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>One signature line of a note: the key's name, its 4-byte id and the Ed25519 signature.</summary>
public sealed record NoteSignature(string KeyName, uint KeyId, byte[] Signature);

/// <summary>
/// A C2SP <c>signed-note</c>: the text (ending in a newline), a blank line, then one line per
/// signature, "— name base64(key id || signature)" with the em dash U+2014. The text is signed as
/// UTF-8 bytes with Ed25519.
/// </summary>
public sealed record SignedNote(string Text, IReadOnlyList<NoteSignature> Signatures)
{
    private const string SignaturePrefix = "\u2014 ";

    public static string Sign(string text, NoteKey key, Key privateKey)
    {
        if (text.Length == 0 || !text.EndsWith('\n'))
        {
            throw new ArgumentException("A note's text ends with a newline.", nameof(text));
        }

        var signature = SignatureAlgorithm.Ed25519.Sign(privateKey, Encoding.UTF8.GetBytes(text));
        var blob = new byte[4 + signature.Length];
        BinaryPrimitives.WriteUInt32BigEndian(blob, key.KeyId);
        signature.CopyTo(blob, 4);
        return $"{text}\n{SignaturePrefix}{key.Name} {Convert.ToBase64String(blob)}\n";
    }

    /// <summary>Parses a note; null when it is not one (no blank line before signatures, a malformed line, no signature).</summary>
    public static SignedNote? Parse(string note)
    {
        if (!note.EndsWith('\n'))
        {
            return null;
        }

        var split = note.LastIndexOf("\n\n", StringComparison.Ordinal);
        if (split < 0)
        {
            return null;
        }

        var text = note[..(split + 1)];
        var signatures = new List<NoteSignature>();
        foreach (var line in note[(split + 2)..^1].Split('\n'))
        {
            if (!line.StartsWith(SignaturePrefix, StringComparison.Ordinal))
            {
                return null;
            }

            var parts = line[SignaturePrefix.Length..].Split(' ');
            if (parts.Length != 2 || !NoteKey.IsName(parts[0]))
            {
                return null;
            }

            byte[] blob;
            try
            {
                blob = Convert.FromBase64String(parts[1]);
            }
            catch (FormatException)
            {
                return null;
            }

            if (blob.Length < 5)
            {
                return null;
            }

            signatures.Add(new NoteSignature(parts[0], BinaryPrimitives.ReadUInt32BigEndian(blob), blob[4..]));
        }

        return signatures.Count == 0 ? null : new SignedNote(text, signatures);
    }

    /// <summary>True when a signature line of this key (same name and id) verifies over the text. Other keys' lines are ignored.</summary>
    public bool IsSignedBy(NoteKey key)
    {
        var data = Encoding.UTF8.GetBytes(Text);
        var publicKey = key.PublicKey();
        return Signatures.Any(s => s.KeyName == key.Name && s.KeyId == key.KeyId && s.Signature.Length == SignatureAlgorithm.Ed25519.SignatureSize
            && SignatureAlgorithm.Ed25519.Verify(publicKey, data, s.Signature));
    }
}
