using System.Text.RegularExpressions;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.Governance.Model;

/// <summary>
/// The short names Governance gives share classes and executive roles: 1 to 32 lowercase letters,
/// digits or '_'. One rule for both, since both appear in ledgers, ballots and events verbatim.
/// </summary>
public static partial class Handles
{
    public static bool ShareClass(FieldViolations violations, string field, string? value) =>
        Check(violations, field, value, "must be 1 to 32 lowercase letters, digits or '_'");

    public static bool Role(FieldViolations violations, string field, string? value) =>
        Check(violations, field, value, "must be 1 to 32 lowercase letters, digits or '_', such as ceo");

    private static bool Check(FieldViolations violations, string field, string? value, string description)
    {
        if (value is not null && Pattern().IsMatch(value))
        {
            return true;
        }

        violations.Add(field, description);
        return false;
    }

    [GeneratedRegex("^[a-z0-9_]{1,32}$")]
    private static partial Regex Pattern();
}
