using System.Globalization;
using System.Text;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// A C2SP <c>tlog-checkpoint</c> body: the origin line, the tree size in decimal, the root hash in
/// base64, then optional extension lines, each line ending in a newline. It is the text a
/// <see cref="SignedNote"/> signs.
/// </summary>
public sealed record Checkpoint(string Origin, long TreeSize, byte[] RootHash, IReadOnlyList<string>? Extensions = null)
{
    public string Body()
    {
        var text = new StringBuilder();
        text.Append(Origin).Append('\n');
        text.Append(TreeSize.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append(Convert.ToBase64String(RootHash)).Append('\n');
        foreach (var extension in Extensions ?? [])
        {
            text.Append(extension).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Parses a checkpoint body; null unless it is well formed (size without sign or leading zeros, a 32-byte root).</summary>
    public static Checkpoint? Parse(string body)
    {
        if (!body.EndsWith('\n'))
        {
            return null;
        }

        var lines = body[..^1].Split('\n');
        if (lines.Length < 3 || lines[0].Length == 0 || lines.Any(l => l.Length == 0))
        {
            return null;
        }

        var size = lines[1];
        if (size.Length == 0 || size.Length > 19 || !size.All(char.IsAsciiDigit) || (size.Length > 1 && size[0] == '0')
            || !long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var treeSize))
        {
            return null;
        }

        var root = new byte[MerkleHashing.HashSize];
        if (!Convert.TryFromBase64String(lines[2], root, out var written) || written != MerkleHashing.HashSize
            || Convert.ToBase64String(root) != lines[2])
        {
            return null;
        }

        return new Checkpoint(lines[0], treeSize, root, lines[3..]);
    }

    /// <summary>The checkpoint a signed note carries, without checking its signature; null when it is not one.</summary>
    public static Checkpoint? ParseNote(string note) => SignedNote.Parse(note) is { } parsed ? Parse(parsed.Text) : null;
}
