using System.Buffers;
using System.Data.Common;
using System.Text;
using System.Text.Json;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// Whether a stored entry's columns still encode to its stored bytes. The verifier runs it for
/// every entry, so the short way builds nothing: the bytes are walked in place against the columns,
/// the detail rendered as the log writes it. A row that differs in any way (only tampering, or the
/// same pairs written in another order or escaping) is judged the long way, exactly as it would be read.
/// </summary>
internal sealed class EntryColumnCheck : IDisposable
{
    private readonly ArrayBufferWriter<byte> _texts = new(512);
    private readonly ArrayBufferWriter<byte> _detail = new(256);
    private readonly Utf8JsonWriter _json = new(Stream.Null);

    /// <summary>
    /// True when the row at the reader (columns in <see cref="AuditSql.EntriesBetween"/>'s order)
    /// encodes to <paramref name="canonical"/>: its texts are put in UTF-8 and checked as SQLite's are.
    /// </summary>
    public bool Matches(DbDataReader row, byte[] canonical)
    {
        try
        {
            _texts.ResetWrittenCount();
            Span<int> ends = stackalloc int[8];
            for (var column = 2; column <= 9; column++)
            {
                if (!row.IsDBNull(column) || column != 8)
                {
                    var text = row.GetString(column);
                    _texts.Advance(Encoding.UTF8.GetBytes(text, _texts.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length))));
                }

                ends[column - 2] = _texts.WrittenCount;
            }

            var all = _texts.WrittenSpan;
            var stored = new StoredColumns(row.GetInt64(0), row.GetInt64(1), Text(all, ends, 0), Text(all, ends, 1), Text(all, ends, 2),
                Text(all, ends, 3), Text(all, ends, 4), Text(all, ends, 5), !row.IsDBNull(8), Text(all, ends, 6), Text(all, ends, 7));
            return Matches(stored, canonical);
        }
        catch (InvalidCastException)
        {
            return false; // a NULL where the schema holds none: written by hand
        }
    }

    private static ReadOnlySpan<byte> Text(ReadOnlySpan<byte> all, ReadOnlySpan<int> ends, int i) => all[(i == 0 ? 0 : ends[i - 1])..ends[i]];

    /// <summary>
    /// The same for a row read as UTF-8 spans (SQLite's own API, or the reader's texts above). Any
    /// difference from the short way is judged the long way: the columns read as the entry would be.
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
}
