using System.Text.RegularExpressions;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.Governance.Model;

/// <summary>
/// The ids a mandate or an alliance names: purposes and fields (snake_case), data categories
/// (dotted, as Consent's taxonomy writes them). Existence is Consent's to say; this is their shape.
/// </summary>
public static partial class ScopeIds
{
    public const int MaxPurposes = 16;
    public const int MaxCategories = 32;
    public const int MaxFields = 128;

    /// <summary>An alliance scope's purposes, categories and fields.</summary>
    public static void Validate(IReadOnlyList<string> purposes, IReadOnlyList<string> categories, IReadOnlyList<string> fields, string prefix, FieldViolations violations)
    {
        Purposes(violations, $"{prefix}.purposes", purposes, "credit_assessment");
        Categories(violations, $"{prefix}.data_categories", categories);
        List(violations, $"{prefix}.fields", fields, MaxFields, SnakeCase(), "a field name such as amount");
    }

    public static void Purposes(FieldViolations violations, string field, IReadOnlyList<string> values, string example) =>
        List(violations, field, values, MaxPurposes, SnakeCase(), $"a purpose id such as {example}");

    public static void Categories(FieldViolations violations, string field, IReadOnlyList<string> values) =>
        List(violations, field, values, MaxCategories, CategoryId(), "a category id such as user.financial");

    private static void List(FieldViolations violations, string field, IReadOnlyList<string> values, int max, Regex pattern, string example)
    {
        if (values.Count == 0 || values.Count > max)
        {
            violations.Add(field, $"must name 1 to {max}");
            return;
        }

        for (var i = 0; i < values.Count; i++)
        {
            if (values[i].Length > 128 || !pattern.IsMatch(values[i]))
            {
                violations.Add($"{field}[{i}]", $"must be {example}");
            }
            else if (values.Take(i).Contains(values[i], StringComparer.Ordinal))
            {
                violations.Add($"{field}[{i}]", $"'{values[i]}' is listed twice");
            }
        }
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex SnakeCase();

    [GeneratedRegex("^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*){0,7}$")]
    private static partial Regex CategoryId();
}
