using System.Buffers;

namespace Oversight.Exchange.Infrastructure.Vault;

/// <summary>A record as it reads back from the vault.</summary>
public sealed record DecodedRecord(string SubjectId, long OccurredAtMs, IReadOnlyDictionary<string, string> Fields);

/// <summary>
/// The plaintext sealed for one record: a version byte, the subject id, occurred-at (Unix
/// milliseconds, 8 bytes big-endian), the field count (4 bytes) and the fields by name in ordinal
/// order, each name and value length-prefixed UTF-8. One record has one encoding, so its
/// <see cref="DataKey.ContentMac"/> does not depend on the order its fields arrived in.
/// </summary>
public static class RecordPayload
{
    public const byte Version = 1;

    /// <summary>The least a field can take (two empty texts); bounds a claimed count before anything is allocated.</summary>
    private const int SmallestField = 8;

    public static byte[] Encode(string subjectId, long occurredAtMs, IReadOnlyDictionary<string, string> fields)
    {
        var names = new string[fields.Count];
        var size = 1 + 4 + subjectId.Length + 8 + 4;
        var i = 0;
        foreach (var (name, value) in fields)
        {
            names[i++] = name;
            size += 8 + name.Length + value.Length;
        }

        Array.Sort(names, StringComparer.Ordinal);
        // Sized for ASCII; the writer grows for anything wider.
        var writer = new ArrayBufferWriter<byte>(size);
        LengthPrefixed.WriteByte(writer, Version);
        LengthPrefixed.WriteText(writer, subjectId);
        LengthPrefixed.WriteInt64(writer, occurredAtMs);
        LengthPrefixed.WriteUInt32(writer, (uint)names.Length);
        foreach (var name in names)
        {
            LengthPrefixed.WriteText(writer, name);
            LengthPrefixed.WriteText(writer, fields[name]);
        }

        return writer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Reads only the canonical encoding: anything short, left over, out of order or repeated is a
    /// <see cref="FormatException"/>, never an index error or a silently different record.
    /// </summary>
    public static DecodedRecord Decode(ReadOnlySpan<byte> payload)
    {
        var reader = new LengthPrefixed.Reader(payload);
        var version = reader.Byte();
        if (version != Version)
        {
            throw new FormatException($"A record payload of version {version}; this vault reads version {Version}.");
        }

        var subjectId = reader.Text();
        var occurredAtMs = reader.Int64();
        var count = reader.UInt32();
        if (count > (uint)(reader.Remaining / SmallestField))
        {
            throw new FormatException($"A record payload claims {count} fields in {reader.Remaining} bytes.");
        }

        var fields = new Dictionary<string, string>((int)count, StringComparer.Ordinal);
        string? previous = null;
        for (var i = 0; i < count; i++)
        {
            var name = reader.Text();
            if (previous is not null && string.CompareOrdinal(previous, name) >= 0)
            {
                throw new FormatException("A record payload's fields are not in strictly ascending ordinal order of name.");
            }

            fields.Add(name, reader.Text());
            previous = name;
        }

        if (reader.Remaining != 0)
        {
            throw new FormatException($"A record payload has {reader.Remaining} bytes after its last field.");
        }

        return new DecodedRecord(subjectId, occurredAtMs, fields);
    }
}
