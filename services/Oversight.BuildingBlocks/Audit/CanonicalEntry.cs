using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// The deterministic bytes of an entry, which its leaf hash is computed from (docs/audit-log.md):
/// a version byte, then every field in a fixed order — integers as 8-byte big-endian, texts as a
/// 4-byte big-endian length and UTF-8, the optional subject as a presence byte, the detail as a
/// count and its pairs sorted by key. The sequence is inside, so an entry cannot change place.
/// </summary>
public static class CanonicalEntry
{
    public const byte Version = 1;

    public static byte[] Encode(
        long sequence, DateTimeOffset recordedAt, string actorId, string actorKind, string action, string resource,
        string outcome, string reason, string? subjectRef, IReadOnlyDictionary<string, string> detail)
    {
        var writer = new ArrayBufferWriter<byte>(256);
        WriteByte(writer, Version);
        WriteInt64(writer, sequence);
        WriteInt64(writer, recordedAt.ToUnixTimeMilliseconds());
        WriteText(writer, actorId);
        WriteText(writer, actorKind);
        WriteText(writer, action);
        WriteText(writer, resource);
        WriteText(writer, outcome);
        WriteText(writer, reason);
        if (subjectRef is null)
        {
            WriteByte(writer, 0);
        }
        else
        {
            WriteByte(writer, 1);
            WriteText(writer, subjectRef);
        }

        // How many detail pairs follow; each pair is then two texts, key first, in key order.
        BinaryPrimitives.WriteUInt32BigEndian(writer.GetSpan(4), (uint)detail.Count);
        writer.Advance(4);
        foreach (var (key, value) in detail.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            WriteText(writer, key);
            WriteText(writer, value);
        }

        return writer.WrittenSpan.ToArray();
    }

    /// <summary>The bytes an entry's columns encode to: what its stored bytes must equal.</summary>
    public static byte[] Encode(AuditEntry entry) => Encode(
        entry.Sequence, entry.RecordedAt, entry.ActorId, entry.ActorKind, entry.Action, entry.Resource,
        entry.Outcome, entry.Reason, entry.SubjectRef, entry.Detail);

    private static void WriteText(ArrayBufferWriter<byte> writer, string value)
    {
        var span = writer.GetSpan(4 + Encoding.UTF8.GetMaxByteCount(value.Length));
        var length = Encoding.UTF8.GetBytes(value, span[4..]);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)length);
        writer.Advance(4 + length);
    }

    /// <summary>
    /// Walks encoded bytes in place, field by field. A read past the end or a length that does not
    /// fit leaves <see cref="Ok"/> false and yields nothing more, so a damaged entry never throws.
    /// </summary>
    internal ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private ReadOnlySpan<byte> _rest = bytes;

        public bool Ok { get; private set; } = true;

        public readonly bool AtEnd => _rest.IsEmpty;

        public int Byte() => Take(1) is { Length: 1 } one ? one[0] : -1;

        public long Int64() => Take(8) is { Length: 8 } eight ? BinaryPrimitives.ReadInt64BigEndian(eight) : long.MinValue;

        /// <summary>A detail count, or 0 when it cannot be read or cannot be right.</summary>
        public int Count() => Take(4) is { Length: 4 } four && BinaryPrimitives.ReadUInt32BigEndian(four) is var count && count <= _rest.Length / 8 ? (int)count : Fail();

        public ReadOnlySpan<byte> Text()
        {
            var four = Take(4);
            if (four.Length != 4)
            {
                return default;
            }

            var length = BinaryPrimitives.ReadUInt32BigEndian(four);
            if (length > _rest.Length)
            {
                Fail();
                return default;
            }

            return Take((int)length);
        }

        /// <summary>Whether the next text is exactly <paramref name="expected"/>.</summary>
        public bool Text(ReadOnlySpan<byte> expected) => Ok && Text() is var text && Ok && text.SequenceEqual(expected);

        private ReadOnlySpan<byte> Take(int length)
        {
            if (!Ok || _rest.Length < length)
            {
                Fail();
                return default;
            }

            var taken = _rest[..length];
            _rest = _rest[length..];
            return taken;
        }

        private int Fail()
        {
            Ok = false;
            _rest = default;
            return 0;
        }
    }

    private static void WriteByte(ArrayBufferWriter<byte> writer, byte value)
    {
        writer.GetSpan(1)[0] = value;
        writer.Advance(1);
    }

    private static void WriteInt64(ArrayBufferWriter<byte> writer, long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(writer.GetSpan(8), value);
        writer.Advance(8);
    }
}
