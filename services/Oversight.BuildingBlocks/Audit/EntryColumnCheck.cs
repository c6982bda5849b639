using System.Buffers;
using System.Data.Common;
using System.Text;
using System.Text.Json;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// Whether a stored entry's columns still encode to its stored bytes, checked straight from the
/// reader's row into one reused buffer: the verifier runs it for every entry, so it builds no
/// <see cref="AuditEntry"/> and parses the detail without a dictionary. A detail it cannot take the
/// short way (not an object of strings, keys not ASCII or out of order: only tampering writes those)
/// is judged the long way, exactly as the entry would be read.
/// </summary>
internal sealed class EntryColumnCheck : IDisposable
{
    private readonly ArrayBufferWriter<byte> _encoded = new(512);
    private readonly ArrayBufferWriter<byte> _detail = new(256);
    private readonly Utf8JsonWriter _json = new(Stream.Null);
    private readonly List<(int Key, int KeyLength, int Value, int ValueLength)> _pairs = [];
    private byte[] _utf8 = new byte[256];
    private byte[] _texts = new byte[256];

    /// <summary>True when the row at the reader (columns in <see cref="AuditSql.EntriesBetween"/>'s order) encodes to <paramref name="canonical"/>.</summary>
    public bool Matches(DbDataReader row, byte[] canonical)
    {
        try
        {
            return MatchesOrThrows(row, canonical);
        }
        catch (InvalidCastException)
        {
            return false; // a NULL where the schema holds none: written by hand
        }
    }

    private bool MatchesOrThrows(DbDataReader row, byte[] canonical)
    {
        _encoded.ResetWrittenCount();
        CanonicalEntry.WriteFields(_encoded, row.GetInt64(0), row.GetInt64(1), row.GetString(2), row.GetString(3), row.GetString(4),
            row.GetString(5), row.GetString(6), row.GetString(7), row.IsDBNull(8) ? null : row.GetString(8));
        var detail = row.GetString(9);
        if (!TryWriteDetail(detail))
        {
            return CanonicalEntry.Encode(Read(row, canonical)).AsSpan().SequenceEqual(canonical);
        }

        return _encoded.WrittenSpan.SequenceEqual(canonical);
    }

    /// <summary>
    /// The same for a row read as UTF-8 spans (SQLite): the bytes are walked in place and each field
    /// compared with its column, the detail rendered as the log writes it and compared with the
    /// column's JSON. Any difference is then judged the long way, as above.
    /// </summary>
    public bool Matches(in StoredColumns row, byte[] canonical)
    {
        if (MatchesInPlace(row, canonical))
        {
            return true;
        }

        if (LongWays.Value is { } count)
        {
            count.Value++;
        }

        var entry = new AuditLogReader.EntryRow
        {
            Sequence = row.Sequence,
            RecordedAtMs = row.RecordedAtMs,
            ActorId = Encoding.UTF8.GetString(row.ActorId),
            ActorKind = Encoding.UTF8.GetString(row.ActorKind),
            Action = Encoding.UTF8.GetString(row.Action),
            Resource = Encoding.UTF8.GetString(row.Resource),
            Outcome = Encoding.UTF8.GetString(row.Outcome),
            Reason = Encoding.UTF8.GetString(row.Reason),
            SubjectRef = row.HasSubject ? Encoding.UTF8.GetString(row.SubjectRef) : null,
            Detail = Encoding.UTF8.GetString(row.Detail),
            Canonical = canonical,
        }.ToEntry();
        return CanonicalEntry.Encode(entry).AsSpan().SequenceEqual(canonical);
    }

    private bool MatchesInPlace(in StoredColumns row, ReadOnlySpan<byte> canonical)
    {
        var bytes = new CanonicalEntry.Reader(canonical);
        if (!(bytes.Byte() == CanonicalEntry.Version && bytes.Int64() == row.Sequence && bytes.Int64() == row.RecordedAtMs
            && bytes.Text(row.ActorId) && bytes.Text(row.ActorKind) && bytes.Text(row.Action) && bytes.Text(row.Resource)
            && bytes.Text(row.Outcome) && bytes.Text(row.Reason)))
        {
            return false;
        }

        var subject = bytes.Byte();
        if (!(subject == 0 && !row.HasSubject) && !(subject == 1 && row.HasSubject && bytes.Text(row.SubjectRef)))
        {
            return false;
        }

        _detail.ResetWrittenCount();
        _json.Reset(_detail);
        try
        {
            _json.WriteStartObject();
            for (var pairs = bytes.Count(); pairs > 0 && bytes.Ok; pairs--)
            {
                var key = bytes.Text();
                _json.WriteString(key, bytes.Text());
            }

            _json.WriteEndObject();
            _json.Flush();
        }
        catch (ArgumentException)
        {
            return false; // not UTF-8: the long way names it
        }

        return bytes.Ok && bytes.AtEnd && _detail.WrittenSpan.SequenceEqual(row.Detail);
    }

    public void Dispose() => _json.Dispose();

    /// <summary>Counts, where a test sets it, the rows read as spans that were judged the long way: what the log writes never needs it.</summary>
    internal static readonly AsyncLocal<System.Runtime.CompilerServices.StrongBox<long>?> LongWays = new();

    private bool TryWriteDetail(string json)
    {
        var length = Encoding.UTF8.GetMaxByteCount(json.Length);
        if (_utf8.Length < length)
        {
            _utf8 = new byte[length];
        }

        length = Encoding.UTF8.GetBytes(json, _utf8);
        if (_texts.Length < length)
        {
            _texts = new byte[length]; // unescaped texts are never longer than the JSON they come from
        }

        _pairs.Clear();
        try
        {
            var reader = new Utf8JsonReader(_utf8.AsSpan(0, length));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var used = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var (key, keyLength) = (used, Unescape(ref reader, ref used));
                if (!reader.Read() || reader.TokenType != JsonTokenType.String)
                {
                    return false;
                }

                _pairs.Add((key, keyLength, used, Unescape(ref reader, ref used)));
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return false;
            }
        }
        catch (JsonException)
        {
            return false;
        }

        // Byte order is the canonical (UTF-16 ordinal) order only for ASCII keys; strictly rising, so no key twice.
        for (var i = 0; i < _pairs.Count; i++)
        {
            var key = _texts.AsSpan(_pairs[i].Key, _pairs[i].KeyLength);
            if (!Ascii.IsValid(key) || (i > 0 && _texts.AsSpan(_pairs[i - 1].Key, _pairs[i - 1].KeyLength).SequenceCompareTo(key) >= 0))
            {
                return false;
            }
        }

        CanonicalEntry.WriteCount(_encoded, _pairs.Count);
        foreach (var (key, keyLength, value, valueLength) in _pairs)
        {
            CanonicalEntry.WriteText(_encoded, _texts.AsSpan(key, keyLength));
            CanonicalEntry.WriteText(_encoded, _texts.AsSpan(value, valueLength));
        }

        return true;
    }

    private int Unescape(ref Utf8JsonReader reader, ref int used)
    {
        var destination = _texts.AsSpan(used);
        int length;
        if (reader.ValueIsEscaped)
        {
            length = reader.CopyString(destination);
        }
        else
        {
            reader.ValueSpan.CopyTo(destination);
            length = reader.ValueSpan.Length;
        }

        used += length;
        return length;
    }

    private static AuditEntry Read(DbDataReader row, byte[] canonical) => new AuditLogReader.EntryRow
    {
        Sequence = row.GetInt64(0),
        RecordedAtMs = row.GetInt64(1),
        ActorId = row.GetString(2),
        ActorKind = row.GetString(3),
        Action = row.GetString(4),
        Resource = row.GetString(5),
        Outcome = row.GetString(6),
        Reason = row.GetString(7),
        SubjectRef = row.IsDBNull(8) ? null : row.GetString(8),
        Detail = row.GetString(9),
        Canonical = canonical,
    }.ToEntry();
}
