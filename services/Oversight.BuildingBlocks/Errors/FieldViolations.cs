using System.Text.RegularExpressions;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

namespace Oversight.BuildingBlocks.Errors;

/// <summary>
/// Collects every problem with a request before answering, so the caller learns all of them at
/// once; <see cref="ThrowIfAny"/> raises INVALID_ARGUMENT with one field violation each.
/// </summary>
public sealed partial class FieldViolations
{
    private readonly List<BadRequest.Types.FieldViolation> _items = [];

    public bool Any => _items.Count > 0;

    public IReadOnlyList<BadRequest.Types.FieldViolation> Items => _items;

    public void Add(string field, string description) =>
        _items.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });

    public bool Has(string field) => _items.Any(v => v.Field == field);

    /// <summary>A required, bounded, printable text field; returns true when valid.</summary>
    public bool Text(string field, string? value, int maxLength, bool required = true)
    {
        if (string.IsNullOrEmpty(value))
        {
            if (required)
            {
                Add(field, "is required");
                return false;
            }

            return true;
        }

        if (value.Length > maxLength)
        {
            Add(field, $"must be at most {maxLength} characters");
            return false;
        }

        if (value.Any(char.IsControl))
        {
            Add(field, "must not contain control characters");
            return false;
        }

        // Stores disagree on trailing spaces (SQL Server pads before comparing); refuse them.
        if (char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]))
        {
            Add(field, "must not start or end with white space");
            return false;
        }

        return true;
    }

    /// <summary>An id that must parse as a UUID; returns it normalised, or null with a violation.</summary>
    public string? Uuid(string field, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            Add(field, "is required");
            return null;
        }

        if (value.Length != 36 || !Guid.TryParseExact(value, "D", out var parsed))
        {
            Add(field, "must be a UUID such as 0190f3a2-7c1e-7d4b-9a51-2f4c8e6b1d30");
            return null;
        }

        return parsed.ToString("D");
    }

    /// <summary>An organisation id: 1 to 64 of lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.</summary>
    public bool OrganisationId(string field, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            Add(field, "is required");
            return false;
        }

        if (!OrganisationIdPattern().IsMatch(value))
        {
            Add(field, "must be an organisation id: 1 to 64 lowercase letters, digits, '.', '_' or '-'");
            return false;
        }

        return true;
    }

    /// <summary>An ISO 3166-1 alpha-2 country code, upper case.</summary>
    public bool CountryCode(string field, string? value)
    {
        if (value is { Length: 2 } && char.IsAsciiLetterUpper(value[0]) && char.IsAsciiLetterUpper(value[1]))
        {
            return true;
        }

        Add(field, "must be an ISO 3166-1 alpha-2 code such as CN");
        return false;
    }

    /// <summary>A timestamp that must be present and representable; returns it or null with a violation.</summary>
    public DateTimeOffset? RequiredTime(string field, Timestamp? value)
    {
        if (value is null)
        {
            Add(field, "is required");
            return null;
        }

        return Time(field, value);
    }

    /// <summary>An optional timestamp; null when absent or invalid (with a violation when invalid).</summary>
    public DateTimeOffset? Time(string field, Timestamp? value)
    {
        if (value is null)
        {
            return null;
        }

        // Timestamp's valid range is years 0001 to 9999 and nanos within a second.
        if (value.Seconds < -62135596800L || value.Seconds > 253402300799L || value.Nanos < 0 || value.Nanos > 999_999_999)
        {
            Add(field, "is not a valid timestamp");
            return null;
        }

        return Data.StoredTime.ToMillisecond(value.ToDateTimeOffset());
    }

    /// <summary>An optional non-negative duration; zero when absent.</summary>
    public TimeSpan NonNegativeDuration(string field, Duration? value)
    {
        if (value is null)
        {
            return TimeSpan.Zero;
        }

        if (value.Seconds < 0 || value.Nanos < 0 || value.Nanos > 999_999_999 || value.Seconds > 315_576_000_000L)
        {
            Add(field, "must be a non-negative duration");
            return TimeSpan.Zero;
        }

        return value.ToTimeSpan();
    }

    /// <summary>An enum field that must hold one of <paramref name="allowed"/>; the zero value reads "is required".</summary>
    public bool Enum<TEnum>(string field, TEnum value, params TEnum[] allowed) where TEnum : struct, System.Enum
    {
        if (allowed.Contains(value))
        {
            return true;
        }

        Add(field, Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture) == 0 ? "is required" : "is not a recognised value");
        return false;
    }

    public void ThrowIfAny()
    {
        if (_items.Count > 0)
        {
            throw new InvalidArgumentException(_items.ToList());
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex OrganisationIdPattern();
}
