using System.Text.RegularExpressions;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.Governance.Model;

/// <summary>A statutory mandate as Governance keeps it.</summary>
public sealed record StatutoryMandate(
    string Id, string LegalReference, string RecipientId, IReadOnlyList<string> Purposes, IReadOnlyList<string> DataCategories,
    DateTimeOffset ValidFrom, DateTimeOffset? ValidUntil, DateTimeOffset EnactedAt, DateTimeOffset? RepealedAt, string? RepealReason, long Version);

/// <summary>Whether data may leave the exchange at all.</summary>
public sealed record ExchangeStatus(bool Frozen, string Reason, string OrderId, DateTimeOffset UpdatedAt, long Version);

/// <summary>The shape rules of the regulator's orders.</summary>
public static partial class OrderRules
{
    public const int MaxPurposes = 16;
    public const int MaxCategories = 32;

    public static void ValidateMandate(
        string legalReference, IReadOnlyList<string> purposes, IReadOnlyList<string> categories, DateTimeOffset validFrom, DateTimeOffset? validUntil,
        DateTimeOffset now, FieldViolations violations)
    {
        violations.Text("legal_reference", legalReference, 500);
        Ids(violations, "purposes", purposes, MaxPurposes, PurposeId(), "a purpose id such as anti_money_laundering");
        Ids(violations, "data_categories", categories, MaxCategories, CategoryId(), "a category id such as user.financial");
        if (validUntil is { } until && (until <= validFrom || until <= now))
        {
            violations.Add("valid_until", "must be after valid_from and in the future");
        }
    }

    /// <summary>Purposes and categories of an alliance's scope, by the same rules as a mandate's.</summary>
    public static void ValidateScopeIds(IReadOnlyList<string> purposes, IReadOnlyList<string> categories, IReadOnlyList<string> fields, string prefix, FieldViolations violations)
    {
        Ids(violations, $"{prefix}.purposes", purposes, MaxPurposes, PurposeId(), "a purpose id such as credit_assessment");
        Ids(violations, $"{prefix}.data_categories", categories, MaxCategories, CategoryId(), "a category id such as user.financial");
        Ids(violations, $"{prefix}.fields", fields, 128, PurposeId(), "a field name such as amount");
    }

    private static void Ids(FieldViolations violations, string field, IReadOnlyList<string> values, int max, Regex pattern, string example)
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
    private static partial Regex PurposeId();

    [GeneratedRegex("^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*){0,7}$")]
    private static partial Regex CategoryId();
}
