using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Oversight.Exchange.V1;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace Oversight.Cli;

/// <summary>The two record file formats, chosen by the file's extension.</summary>
internal enum RecordFormat
{
    /// <summary>.csv: a header row, then one record a row (RFC 4180 quoting).</summary>
    Csv,

    /// <summary>.jsonl: one JSON object a line.</summary>
    JsonLines,
}

/// <summary>A record read from an upload file, or the rejection of a line that is not one (it is never sent).</summary>
internal sealed record FileRecord(VaultRecord? Record, RecordRejection? Unreadable);

/// <summary>A file that cannot be uploaded at all (no header, a missing column), with what to fix.</summary>
internal sealed class RecordFileException(string message) : Exception(message);

/// <summary>
/// Record files. An upload reads CSV (header <c>subject_id,record_key,occur_time,FIELD…</c>) or
/// JSON Lines (<c>{"subject_id", "record_key", "occur_time", "fields": {…}}</c>) one record at a
/// time, so memory stays flat whatever the file's size; a fetch writes delivered records the same
/// way (columns <c>dataset_id, subject, record_key, occur_time</c>, then the fields).
/// </summary>
internal static class RecordFiles
{
    private static readonly string[] KeyColumns = ["subject_id", "record_key", "occur_time"];

    public static RecordFormat? FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".csv" => RecordFormat.Csv,
        ".jsonl" => RecordFormat.JsonLines,
        _ => null,
    };

    /// <summary>The error for a records file whose extension names neither format; <paramref name="file"/> as the user gave it.</summary>
    public static string UnknownFormat(string file) => $"error: {file}: a records file is .csv or .jsonl (the extension says which).";

    /// <summary>The records of an upload file, in file order; lazily, a record at a time.</summary>
    public static IEnumerable<FileRecord> Read(TextReader reader, RecordFormat format) =>
        format == RecordFormat.Csv ? ReadCsv(reader) : ReadJsonLines(reader);

    private static IEnumerable<FileRecord> ReadCsv(TextReader reader)
    {
        var rows = new CsvRows(reader);
        var header = rows.Next() ?? throw new RecordFileException("the file is empty; a CSV upload starts with the header subject_id,record_key,occur_time,FIELD…");
        var columns = header.Select(h => h.Trim()).ToList();
        if (KeyColumns.FirstOrDefault(k => !columns.Contains(k)) is { } missing)
        {
            throw new RecordFileException($"the header has no column '{missing}'; it must name subject_id, record_key and occur_time, then the dataset's fields");
        }

        if (columns.GroupBy(c => c, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new RecordFileException($"the header names the column '{twice.Key}' twice");
        }

        var (subject, key, time) = (columns.IndexOf("subject_id"), columns.IndexOf("record_key"), columns.IndexOf("occur_time"));
        while (true)
        {
            var line = rows.Line;
            List<string>? row;
            string? problem = null;
            try
            {
                row = rows.Next();
            }
            catch (FormatException exception)
            {
                row = null;
                problem = exception.Message;
            }

            if (problem is not null)
            {
                yield return Unreadable("", line, "", problem);
                yield break;
            }

            if (row is null)
            {
                yield break;
            }

            if (row is [""])
            {
                continue;
            }

            var recordKey = key < row.Count ? row[key] : "";
            if (row.Count != columns.Count)
            {
                yield return Unreadable(recordKey, line, "", $"has {row.Count} values where the header has {columns.Count}");
                continue;
            }

            var occurTime = ParseTime(row[time]);
            if (occurTime is null && row[time].Length > 0)
            {
                yield return Unreadable(recordKey, line, "occur_time", $"'{Cut(row[time])}' is not an RFC 3339 time such as 2026-12-04T10:00:00Z");
                continue;
            }

            var record = new VaultRecord { SubjectId = row[subject], RecordKey = recordKey, OccurTime = occurTime };
            for (var i = 0; i < columns.Count; i++)
            {
                // An empty cell is a field without a value (the schema says whether it may be).
                if (i != subject && i != key && i != time && row[i].Length > 0)
                {
                    record.Fields[columns[i]] = row[i];
                }
            }

            yield return new FileRecord(record, null);
        }
    }

    private static IEnumerable<FileRecord> ReadJsonLines(TextReader reader)
    {
        var line = 0L;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            yield return ParseJsonLine(text, line);
        }
    }

    private static FileRecord ParseJsonLine(string text, long line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException exception)
        {
            // Without System.Text.Json's own position (always line 0 of a one-line document).
            var message = exception.Message;
            return Unreadable("", line, "", $"is not JSON: {(message.IndexOf(" LineNumber:", StringComparison.Ordinal) is > 0 and var at ? message[..at] : message)}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Unreadable("", line, "", "is not a JSON object {\"subject_id\": …, \"record_key\": …, \"occur_time\": …, \"fields\": {…}}");
            }

            var recordKey = Text(root, "record_key") ?? "";
            var record = new VaultRecord { SubjectId = Text(root, "subject_id") ?? "", RecordKey = recordKey };
            if (Text(root, "occur_time") is { Length: > 0 } time)
            {
                record.OccurTime = ParseTime(time);
                if (record.OccurTime is null)
                {
                    return Unreadable(recordKey, line, "occur_time", $"'{Cut(time)}' is not an RFC 3339 time such as 2026-12-04T10:00:00Z");
                }
            }

            if (root.TryGetProperty("fields", out var fields))
            {
                if (fields.ValueKind != JsonValueKind.Object)
                {
                    return Unreadable(recordKey, line, "fields", "must be an object of field names and values");
                }

                foreach (var field in fields.EnumerateObject())
                {
                    switch (field.Value.ValueKind)
                    {
                        case JsonValueKind.Null:
                            break;
                        case JsonValueKind.String:
                            record.Fields[field.Name] = field.Value.GetString()!;
                            break;
                        case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                            // As written: 1234.50 stays 1234.50, never a floating-point round trip.
                            record.Fields[field.Name] = field.Value.GetRawText();
                            break;
                        default:
                            return Unreadable(recordKey, line, field.Name, "must be a string, a number, true, false or null");
                    }
                }
            }

            return new FileRecord(record, null);
        }
    }

    /// <summary>A property's text: a string as it is, a number as written; null when absent or null.</summary>
    private static string? Text(JsonElement element, string name) =>
        !element.TryGetProperty(name, out var value) ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : value.ValueKind is JsonValueKind.Number ? value.GetRawText()
        : null;

    private static Timestamp? ParseTime(string text) =>
        text.Length > 0 && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? Timestamp.FromDateTimeOffset(time)
            : null;

    private static FileRecord Unreadable(string recordKey, long line, string field, string reason) =>
        new(null, new RecordRejection { RecordKey = recordKey.Length > 0 ? recordKey : $"line {line}", Field = field, Reason = $"{reason} (line {line}, not sent)" });

    private static string Cut(string value) => value.Length > 40 ? value[..40] + "…" : value;

    /// <summary>RFC 4180 rows: commas, quoted values with doubled quotes, line breaks inside quotes, CRLF or LF.</summary>
    private sealed class CsvRows(TextReader reader)
    {
        private readonly StringBuilder _value = new();

        /// <summary>The line the next row starts on, from 1.</summary>
        public long Line { get; private set; } = 1;

        /// <summary>The next row's values; null at the end of the file.</summary>
        public List<string>? Next()
        {
            if (reader.Peek() < 0)
            {
                return null;
            }

            var values = new List<string>();
            var quoted = false;
            _value.Clear();
            while (true)
            {
                var c = reader.Read();
                if (quoted)
                {
                    if (c < 0)
                    {
                        throw new FormatException("has a quoted value that is never closed");
                    }

                    if (c == '"' && reader.Peek() == '"')
                    {
                        reader.Read();
                        _value.Append('"');
                    }
                    else if (c == '"')
                    {
                        quoted = false;
                    }
                    else
                    {
                        Line += c == '\n' ? 1 : 0;
                        _value.Append((char)c);
                    }

                    continue;
                }

                switch (c)
                {
                    case '"' when _value.Length == 0:
                        quoted = true;
                        break;
                    case ',':
                        values.Add(_value.ToString());
                        _value.Clear();
                        break;
                    case '\r' when reader.Peek() == '\n':
                        break;
                    case '\n' or -1:
                        Line += c == '\n' ? 1 : 0;
                        values.Add(_value.ToString());
                        return values;
                    default:
                        _value.Append((char)c);
                        break;
                }
            }
        }
    }
}

/// <summary>
/// Writes a delivery's records to a file as they arrive: CSV with a header, or JSON Lines in the
/// shape an upload reads (with <c>subject</c> for <c>subject_id</c>, since it is the recipient's pseudonym).
/// </summary>
internal sealed class DeliveryFile : IDisposable
{
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly FileStream _stream;
    private readonly StreamWriter? _csv;
    private readonly Utf8JsonWriter? _json;
    private readonly IReadOnlyList<string> _fields;

    /// <param name="append">A resumed delivery goes on at the end of the file it wrote before, without a second header.</param>
    public DeliveryFile(string path, RecordFormat format, IReadOnlyList<string> fields, bool append)
    {
        _fields = fields;
        _stream = new FileStream(path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read);
        if (format == RecordFormat.Csv)
        {
            _csv = new StreamWriter(_stream, new UTF8Encoding(false)) { NewLine = "\n" };
            if (_stream.Length == 0)
            {
                _csv.WriteLine(string.Join(',', new[] { "dataset_id", "subject", "record_key", "occur_time" }.Concat(fields).Select(Quote)));
            }
        }
        else
        {
            _json = new Utf8JsonWriter(_stream, JsonOptions);
        }
    }

    public void Write(DeliveredRecord record)
    {
        var time = FormatTime(record.OccurTime);
        if (_csv is not null)
        {
            _csv.WriteLine(string.Join(',', new[] { record.DatasetId, record.Subject, record.RecordKey, time }
                .Concat(_fields.Select(f => record.Fields.TryGetValue(f, out var value) ? value : "")).Select(Quote)));
            return;
        }

        var json = _json!;
        json.Reset();
        json.WriteStartObject();
        json.WriteString("dataset_id", record.DatasetId);
        json.WriteString("subject", record.Subject);
        json.WriteString("record_key", record.RecordKey);
        json.WriteString("occur_time", time);
        json.WriteStartObject("fields");
        foreach (var field in _fields.Where(record.Fields.ContainsKey))
        {
            json.WriteString(field, record.Fields[field]);
        }

        json.WriteEndObject();
        json.WriteEndObject();
        json.Flush();
        _stream.WriteByte((byte)'\n');
    }

    /// <summary>Puts what was written on disk, so a resume token printed after it names a page the file holds whole.</summary>
    public void Flush()
    {
        _csv?.Flush();
        _stream.Flush();
    }

    public void Dispose()
    {
        _csv?.Dispose();
        _json?.Dispose();
        _stream.Dispose();
    }

    /// <summary>RFC 3339 in UTC, with the fraction only when there is one.</summary>
    private static string FormatTime(Timestamp? time) =>
        time is null ? "" : time.ToDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
}
