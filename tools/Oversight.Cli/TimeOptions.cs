using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Oversight.Cli;

/// <summary>
/// Options that take a duration (15s, 10m, 2h, 7d, combined as 1h30m, or 00:00:15) or a time
/// (ISO 8601, such as 2026-12-01T09:00:00Z or 2026-12-01). A time without an offset is UTC, so a
/// bare date means the same instant wherever the command runs.
/// </summary>
internal static partial class TimeOptions
{
    public static Option<TimeSpan?> Duration(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "DURATION",
        CustomParser = result => ParseDuration(name, result),
    };

    public static Option<DateTimeOffset?> Time(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "TIME",
        CustomParser = result => ParseTime(name, result),
    };

    private static TimeSpan? ParseDuration(string name, ArgumentResult result)
    {
        var text = result.Tokens.Single().Value;
        if (DurationUnits().Match(text) is { Success: true } units && text.Length > 0)
        {
            long Part(string unit) => units.Groups[unit].Success ? long.Parse(units.Groups[unit].Value, CultureInfo.InvariantCulture) : 0;
            return TimeSpan.FromDays(Part("d")) + TimeSpan.FromHours(Part("h")) + TimeSpan.FromMinutes(Part("m")) + TimeSpan.FromSeconds(Part("s"));
        }

        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span))
        {
            return span;
        }

        result.AddError($"{name} '{text}' is not a duration; write 15s, 10m, 2h, 7d, 1h30m or 00:00:15.");
        return null;
    }

    private static DateTimeOffset? ParseTime(string name, ArgumentResult result)
    {
        var text = result.Tokens.Single().Value;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return time;
        }

        result.AddError($"{name} '{text}' is not a time; write 2026-12-01T09:00:00Z or 2026-12-01 (UTC unless an offset is given).");
        return null;
    }

    [GeneratedRegex(@"^(?:(?<d>\d{1,5})d)?(?:(?<h>\d{1,6})h)?(?:(?<m>\d{1,7})m)?(?:(?<s>\d{1,9})s)?$")]
    private static partial Regex DurationUnits();
}
