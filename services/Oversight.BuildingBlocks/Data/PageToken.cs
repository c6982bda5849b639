using System.Buffers.Text;
using System.Text;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.BuildingBlocks.Data;

/// <summary>
/// Opaque keyset page tokens: the sort key of the last row served, base64url-encoded, so the
/// next page starts after it however many rows were inserted in between.
/// </summary>
public static class PageToken
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;
    private const char Separator = '\u001f';

    public static string Encode(params string[] parts) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes("p1" + Separator + string.Join(Separator, parts)));

    /// <summary>Decodes a token made by <see cref="Encode"/> with <paramref name="partCount"/> parts, or adds a violation.</summary>
    public static string[]? Decode(string token, int partCount, FieldViolations violations, string field = "page_token")
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token));
            var parts = text.Split(Separator);
            if (parts.Length == partCount + 1 && parts[0] == "p1")
            {
                return parts[1..];
            }
        }
        catch (FormatException)
        {
        }

        violations.Add(field, "is not a page token this service issued");
        return null;
    }

    /// <summary>Decodes a token whose one part is a sequence number, or adds a violation.</summary>
    public static long? DecodeSequence(string token, FieldViolations violations, string field = "page_token")
    {
        if (Decode(token, 1, violations, field) is not { } parts)
        {
            return null;
        }

        if (long.TryParse(parts[0], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var sequence))
        {
            return sequence;
        }

        violations.Add(field, "is not a page token this service issued");
        return null;
    }

    /// <summary>Encodes a sequence number as a page token.</summary>
    public static string EncodeSequence(long sequence) => Encode(sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Validates a page size: 0 means the default; negative or above the maximum is an error.</summary>
    public static int Size(int requested, FieldViolations violations, string field = "page_size")
    {
        if (requested < 0 || requested > MaxPageSize)
        {
            violations.Add(field, $"must be between 0 and {MaxPageSize}");
            return DefaultPageSize;
        }

        return requested == 0 ? DefaultPageSize : requested;
    }

    /// <summary>
    /// The page of a list filtered by an enum and keyed by id: the page size and the id to continue
    /// after ("" for the first page). Throws INVALID_ARGUMENT naming every bad field.
    /// </summary>
    public static (int Size, string After) ForFilteredList(string filterField, bool filterKnown, int pageSize, string pageToken)
    {
        var violations = new FieldViolations();
        if (!filterKnown)
        {
            violations.Add(filterField, "is not one of the values this field takes");
        }

        var size = Size(pageSize, violations);
        var after = Decode(pageToken, 1, violations)?[0] ?? "";
        violations.ThrowIfAny();
        return (size, after);
    }

    /// <summary>
    /// The token of the page after <paramref name="fetched"/>, read with one row more than
    /// <paramref name="size"/> to learn whether there is one: the key of the last row answered, or
    /// "" on the last page.
    /// </summary>
    public static string Next<T>(IReadOnlyList<T> fetched, int size, Func<T, string> key) => fetched.Count > size ? Encode(key(fetched[size - 1])) : "";

    /// <summary>As <see cref="Next{T}(IReadOnlyList{T}, int, Func{T, string})"/>, keyed by a sequence number.</summary>
    public static string Next<T>(IReadOnlyList<T> fetched, int size, Func<T, long> sequence) =>
        fetched.Count > size ? EncodeSequence(sequence(fetched[size - 1])) : "";
}
