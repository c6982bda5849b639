namespace Oversight.Contracts.Governance;

/// <summary>The kinds of organisation, as in the tokens' <c>kind</c> claim.</summary>
public static class OrganisationKinds
{
    public const string Platform = "platform";
    public const string Institution = "institution";
    public const string Regulator = "regulator";
    public const string StateInvestor = "state_investor";
    public const string Operator = "operator";
}

/// <summary>An organisation joined the venture's registry.</summary>
public sealed record OrganisationRegistered : IntegrationEvent
{
    public required string OrganisationId { get; init; }
    public required string Kind { get; init; }
    public required string Name { get; init; }
    /// <summary>ISO 3166-1 alpha-2.</summary>
    public required string Jurisdiction { get; init; }
    public IReadOnlyList<string> Affiliations { get; init; } = [];
}

/// <summary>An organisation's registry entry changed; <see cref="IntegrationEvent.Version"/> orders the changes.</summary>
public sealed record OrganisationUpdated : IntegrationEvent
{
    public required string OrganisationId { get; init; }
    public required string Kind { get; init; }
    public required string Name { get; init; }
    public required string Jurisdiction { get; init; }
    public IReadOnlyList<string> Affiliations { get; init; } = [];
}

/// <summary>The regulator enacted a statutory mandate: named sharing allowed without consent.</summary>
public sealed record StatutoryMandateEnacted : IntegrationEvent
{
    public required string MandateId { get; init; }
    public required string LegalReference { get; init; }
    public required string RecipientId { get; init; }
    public required IReadOnlyList<string> Purposes { get; init; }
    public required IReadOnlyList<string> DataCategories { get; init; }
    public required DateTimeOffset ValidFrom { get; init; }
    public DateTimeOffset? ValidUntil { get; init; }
}

/// <summary>The regulator repealed a statutory mandate.</summary>
public sealed record StatutoryMandateRepealed : IntegrationEvent
{
    public required string MandateId { get; init; }
    public required DateTimeOffset RepealedAt { get; init; }
}

/// <summary>The regulator froze the exchange: every delivery stops until it is unfrozen.</summary>
public sealed record ExchangeFrozen : IntegrationEvent
{
    public required string OrderId { get; init; }
    public required string Reason { get; init; }
    public required DateTimeOffset FrozenAt { get; init; }
}

/// <summary>The regulator lifted its freeze of the exchange.</summary>
public sealed record ExchangeUnfrozen : IntegrationEvent
{
    public required string OrderId { get; init; }
    public required DateTimeOffset UnfrozenAt { get; init; }
}

/// <summary>The regulator approved an executive: in office from <see cref="EffectiveFrom"/>.</summary>
public sealed record ExecutiveApproved : IntegrationEvent
{
    public required string AppointmentId { get; init; }
    public required string PersonName { get; init; }
    public required string Role { get; init; }
    public required DateTimeOffset EffectiveFrom { get; init; }
}

/// <summary>An executive left office, by a passed removal or the regulator's revocation.</summary>
public sealed record ExecutiveRemoved : IntegrationEvent
{
    public required string AppointmentId { get; init; }
    public required string Role { get; init; }
    public required DateTimeOffset EndedAt { get; init; }
    public required string Reason { get; init; }
}

/// <summary>What an alliance lets flow; Exchange decides requests against it.</summary>
public sealed record AllianceScopeTerms
{
    public required IReadOnlyList<string> Purposes { get; init; }
    public required IReadOnlyList<string> DataCategories { get; init; }
    public required IReadOnlyList<string> Fields { get; init; }
    public required bool IdentifiedData { get; init; }
    public required long MaxRetentionSeconds { get; init; }
    public required DateTimeOffset ValidFrom { get; init; }
    public required DateTimeOffset ValidUntil { get; init; }
}

/// <summary>The regulator approved an alliance: data may flow within its scope.</summary>
public sealed record AllianceActivated : IntegrationEvent
{
    public required string AllianceId { get; init; }
    public required string InstitutionId { get; init; }
    public required AllianceScopeTerms Scope { get; init; }
}

/// <summary>The regulator suspended an alliance: its data access stops at once.</summary>
public sealed record AllianceSuspended : IntegrationEvent
{
    public required string AllianceId { get; init; }
    public required string InstitutionId { get; init; }
    public required string Reason { get; init; }
}

/// <summary>The regulator resumed a suspended alliance, with the scope it had.</summary>
public sealed record AllianceResumed : IntegrationEvent
{
    public required string AllianceId { get; init; }
    public required string InstitutionId { get; init; }
    public required AllianceScopeTerms Scope { get; init; }
}

/// <summary>A passed proposal terminated an alliance; final.</summary>
public sealed record AllianceTerminated : IntegrationEvent
{
    public required string AllianceId { get; init; }
    public required string InstitutionId { get; init; }
    public required string Reason { get; init; }
}

/// <summary>An alliance's validity ended; final.</summary>
public sealed record AllianceExpired : IntegrationEvent
{
    public required string AllianceId { get; init; }
    public required string InstitutionId { get; init; }
    public required DateTimeOffset ExpiredAt { get; init; }
}
