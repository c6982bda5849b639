using System.Text.RegularExpressions;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.Exchange.Model;

/// <summary>
/// What a publishable dataset looks like: a bounded name and description, a category id in the
/// taxonomy's dotted shape (its existence is Consent's to say), and 1 to 128 uniquely named,
/// typed fields. Field names are snake_case because alliances name them.
/// </summary>
public static partial class DatasetRules
{
    public const int MaxNameLength = 200;
    // SQL Server's column is NVARCHAR(4000).
    public const int MaxDescriptionLength = 4000;
    public const int MaxFields = 128;
    public const int MaxFieldDescriptionLength = 1024;
    public const int MaxQueryLength = 200;

    public static void ValidatePublish(string name, string dataCategory, IReadOnlyList<DatasetField> fields, string description, FieldViolations violations)
    {
        violations.Text("name", name, MaxNameLength);
        CategoryShape("data_category", dataCategory, violations, required: true);
        violations.Text("description", description, MaxDescriptionLength, required: false);
        if (fields.Count == 0 || fields.Count > MaxFields)
        {
            violations.Add("fields", $"must name 1 to {MaxFields} fields");
            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < fields.Count; i++)
        {
            var field = fields[i];
            if (!FieldName().IsMatch(field.Name))
            {
                violations.Add($"fields[{i}].name", "must be snake_case, 1 to 64 characters, such as amount or merchant_city");
            }
            else if (!seen.Add(field.Name))
            {
                violations.Add($"fields[{i}].name", $"'{field.Name}' is listed twice");
            }

            if (!Enum.IsDefined(field.Type))
            {
                violations.Add($"fields[{i}].type", "must be set");
            }

            if (!Enum.IsDefined(field.Sensitivity))
            {
                violations.Add($"fields[{i}].sensitivity", "must be set");
            }

            violations.Text($"fields[{i}].description", field.Description, MaxFieldDescriptionLength, required: false);
        }
    }

    /// <summary>A category id as the taxonomy writes them, such as <c>user.financial.transactions</c>.</summary>
    public static bool CategoryShape(string field, string value, FieldViolations violations, bool required)
    {
        if (string.IsNullOrEmpty(value))
        {
            if (required)
            {
                violations.Add(field, "is required");
            }

            return !required;
        }

        if (value.Length > 128 || !CategoryId().IsMatch(value))
        {
            violations.Add(field, "must be a category id such as user.financial.transactions");
            return false;
        }

        return true;
    }

    public static bool IsFieldName(string value) => FieldName().IsMatch(value);

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex FieldName();

    [GeneratedRegex("^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*){0,7}$")]
    private static partial Regex CategoryId();
}
