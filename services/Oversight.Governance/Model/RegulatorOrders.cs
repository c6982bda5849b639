using Oversight.BuildingBlocks.Errors;

namespace Oversight.Governance.Model;

/// <summary>A statutory mandate as Governance keeps it.</summary>
public sealed record StatutoryMandate(
    string Id, string LegalReference, string RecipientId, IReadOnlyList<string> Purposes, IReadOnlyList<string> DataCategories,
    DateTimeOffset ValidFrom, DateTimeOffset? ValidUntil, DateTimeOffset EnactedAt, DateTimeOffset? RepealedAt, string? RepealReason, long Version);

/// <summary>Whether data may leave the exchange at all.</summary>
public sealed record ExchangeStatus(bool Frozen, string Reason, string OrderId, DateTimeOffset UpdatedAt, long Version);

/// <summary>The shape rules of the regulator's orders.</summary>
public static class OrderRules
{
    public static void ValidateMandate(
        string legalReference, IReadOnlyList<string> purposes, IReadOnlyList<string> categories, DateTimeOffset validFrom, DateTimeOffset? validUntil,
        DateTimeOffset now, FieldViolations violations)
    {
        violations.Text("legal_reference", legalReference, 500);
        ScopeIds.Purposes(violations, "purposes", purposes, "anti_money_laundering");
        ScopeIds.Categories(violations, "data_categories", categories);
        if (validUntil is { } until && (until <= validFrom || until <= now))
        {
            violations.Add("valid_until", "must be after valid_from and in the future");
        }
    }
}
