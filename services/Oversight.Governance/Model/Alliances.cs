using Oversight.BuildingBlocks.Errors;

namespace Oversight.Governance.Model;

public enum AllianceState { AwaitingRegulator = 1, Active = 2, Suspended = 3, Terminated = 4, Expired = 5, Rejected = 6 }

/// <summary>An alliance between the venture and an institution, with the scope it was proposed with.</summary>
public sealed record Alliance(
    string Id, string ProposalId, string InstitutionId, AllianceScope Scope, AllianceState State, string? StateReason,
    DateTimeOffset UpdatedAt, long Version)
{
    public DateTimeOffset ValidUntil => Scope.ValidUntil;
}

/// <summary>What an alliance lets its institution ask for: purposes, data categories, fields, identified or not, for how long.</summary>
public sealed record AllianceScope(
    IReadOnlyList<string> Purposes, IReadOnlyList<string> DataCategories, IReadOnlyList<string> Fields, bool IdentifiedData,
    TimeSpan MaxRetention, DateTimeOffset ValidFrom, DateTimeOffset ValidUntil);

/// <summary>The shape rules of an alliance's scope.</summary>
public static class AllianceRules
{
    /// <summary>The longest an institution may keep what it receives under an alliance.</summary>
    public static readonly TimeSpan MaxRetention = TimeSpan.FromDays(3650);

    /// <summary>The scope's shape; the times are null where the request's were missing or unreadable (already reported).</summary>
    public static void ValidateScope(
        IReadOnlyList<string> purposes, IReadOnlyList<string> dataCategories, IReadOnlyList<string> fields, TimeSpan maxRetention,
        DateTimeOffset? validFrom, DateTimeOffset? validUntil, string prefix, FieldViolations violations)
    {
        ScopeIds.Validate(purposes, dataCategories, fields, prefix, violations);
        if (maxRetention <= TimeSpan.Zero || maxRetention > MaxRetention)
        {
            violations.Add($"{prefix}.max_retention", $"must be positive and at most {MaxRetention.TotalDays:0} days");
        }

        if (validFrom is not null && validUntil is not null && validUntil <= validFrom)
        {
            violations.Add($"{prefix}.valid_until", "must be after valid_from");
        }
    }
}
