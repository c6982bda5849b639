using System.Globalization;

namespace Oversight.Exchange.Model;

/// <summary>One record as a platform uploads it.</summary>
public sealed record IncomingRecord(string SubjectId, string RecordKey, DateTimeOffset? OccurredAt, IReadOnlyDictionary<string, string> Fields);

/// <summary>Why one record was not stored: the record's key, the field at fault (empty for the record's own), why.</summary>
public sealed record RecordRejection(string RecordKey, string Field, string Reason);

/// <summary>
/// What a record must be to enter the vault: a subject and a key of bounded length, an
/// occurred-at time, and for each field of the dataset's schema a value written as its type says;
/// required fields present, no field the schema does not know. The first fault is the answer, so a
/// rejection names one field and one reason.
/// </summary>
public static class RecordRules
{
    public const int MaxSubjectIdLength = 128;
    public const int MaxRecordKeyLength = 256;
    public const int MaxStringValueLength = 4096;
    public const int MaxNumberLength = 40;

    public static RecordRejection? Check(Dataset dataset, IncomingRecord record)
    {
        var key = record.RecordKey.Length > MaxRecordKeyLength ? record.RecordKey[..MaxRecordKeyLength] : record.RecordKey;
        if (!PlainText(record.RecordKey, MaxRecordKeyLength))
        {
            return new(key, "", $"record_key must be 1 to {MaxRecordKeyLength} characters, without control characters or surrounding white space");
        }

        if (!PlainText(record.SubjectId, MaxSubjectIdLength))
        {
            return new(key, "", $"subject_id must be 1 to {MaxSubjectIdLength} characters, without control characters or surrounding white space");
        }

        if (record.OccurredAt is null)
        {
            return new(key, "", "occur_time is required, as a valid timestamp");
        }

        foreach (var (name, _) in record.Fields)
        {
            if (dataset.Field(name) is null)
            {
                return new(key, Cut(name), "is not a field of the dataset");
            }
        }

        foreach (var field in dataset.Fields)
        {
            if (!record.Fields.TryGetValue(field.Name, out var value) || value.Length == 0)
            {
                if (field.Required)
                {
                    return new(key, field.Name, "is required");
                }

                continue;
            }

            if (ValueFault(field.Type, value) is { } fault)
            {
                return new(key, field.Name, fault);
            }
        }

        return null;
    }

    /// <summary>Why a value is not written as its type says, or null when it is.</summary>
    public static string? ValueFault(FieldType type, string value) => type switch
    {
        FieldType.Text => value.Length > MaxStringValueLength ? $"must be at most {MaxStringValueLength} characters" : null,
        FieldType.WholeNumber => value.Length <= MaxNumberLength && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)
            ? null : "must be a whole number such as -42 (64-bit)",
        FieldType.DecimalNumber => value.Length <= MaxNumberLength && decimal.TryParse(value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _)
            ? null : "must be a decimal number such as 1234.50",
        FieldType.Boolean => value is "true" or "false" ? null : "must be true or false",
        FieldType.Date => DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _)
            ? null : "must be a date such as 2026-12-04",
        FieldType.Timestamp => value.Length <= 40 && DateTimeOffset.TryParseExact(value, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"],
            CultureInfo.InvariantCulture, DateTimeStyles.None, out _) && (value.EndsWith('Z') || value.Length >= 6 && value[^3] == ':')
            ? null : "must be an RFC 3339 time with an offset, such as 2026-12-04T10:00:00Z",
        _ => "has a type this service does not know",
    };

    private static bool PlainText(string value, int maxLength) =>
        value.Length > 0 && value.Length <= maxLength && !value.Any(char.IsControl) && !char.IsWhiteSpace(value[0]) && !char.IsWhiteSpace(value[^1]);

    /// <summary>A caller's text as an answer shows it: its first 64 characters.</summary>
    public static string Cut(string value) => value.Length > 64 ? value[..64] : value;
}
