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
        using var stream = new MemoryStream();
        stream.WriteByte(Version);
        WriteInt64(stream, sequence);
        WriteInt64(stream, recordedAt.ToUnixTimeMilliseconds());
        WriteText(stream, actorId);
        WriteText(stream, actorKind);
        WriteText(stream, action);
        WriteText(stream, resource);
        WriteText(stream, outcome);
        WriteText(stream, reason);
        if (subjectRef is null)
        {
            stream.WriteByte(0);
        }
        else
        {
            stream.WriteByte(1);
            WriteText(stream, subjectRef);
        }

        WriteUInt32(stream, (uint)detail.Count);
        foreach (var (key, value) in detail.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            WriteText(stream, key);
            WriteText(stream, value);
        }

        return stream.ToArray();
    }

    /// <summary>The bytes an entry's columns encode to: what its stored bytes must equal.</summary>
    public static byte[] Encode(AuditEntry entry) => Encode(
        entry.Sequence, entry.RecordedAt, entry.ActorId, entry.ActorKind, entry.Action, entry.Resource,
        entry.Outcome, entry.Reason, entry.SubjectRef, entry.Detail);

    private static void WriteInt64(Stream stream, long value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(buffer, value);
        stream.Write(buffer);
    }

    private static void WriteUInt32(Stream stream, uint value)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(buffer, value);
        stream.Write(buffer);
    }

    private static void WriteText(Stream stream, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        WriteUInt32(stream, (uint)bytes.Length);
        stream.Write(bytes);
    }
}
