using Oversight.Contracts;

namespace Oversight.Exchange.Model;

public enum AllianceStanding
{
    Active = 1,
    Suspended = 2,
    Ended = 3,
}

/// <summary>
/// What Exchange knows of an alliance, from Governance's events: who it is with, whether data may
/// flow now, and its scope. <see cref="Version"/> is the alliance's version as Governance announced it.
/// </summary>
public sealed record AllianceTerms(
    string AllianceId,
    string InstitutionId,
    AllianceStanding Standing,
    IReadOnlyList<string> Purposes,
    IReadOnlyList<string> DataCategories,
    IReadOnlyList<string> Fields,
    bool IdentifiedData,
    TimeSpan MaxRetention,
    DateTimeOffset ValidFrom,
    DateTimeOffset ValidUntil,
    long Version)
{
    /// <summary>Data may flow under it at <paramref name="at"/>: ACTIVE and within its validity.</summary>
    public bool OpenAt(DateTimeOffset at) => Standing == AllianceStanding.Active && ValidFrom <= at && at < ValidUntil;

    public bool CoversPurpose(string purpose) => Purposes.Contains(purpose, StringComparer.Ordinal);

    public bool CoversCategory(string category) => DataCategoryIds.AnyCovers(DataCategories, category);

    public bool CoversField(string field) => Fields.Contains(field, StringComparer.Ordinal);
}

/// <summary>Whether the regulator has frozen the exchange, from Governance's events.</summary>
public sealed record ExchangeStanding(bool Frozen, string Reason, long Version);
