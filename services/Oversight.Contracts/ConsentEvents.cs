namespace Oversight.Contracts.Consent;

/// <summary>A consent artefact was issued (also by an amendment, which names the one it supersedes).</summary>
public sealed record ConsentGranted : IntegrationEvent
{
    public required string ConsentId { get; init; }
    public required string SubjectId { get; init; }
    public required string ControllerId { get; init; }
    public required string RecipientId { get; init; }
    public required string Purpose { get; init; }
    public required IReadOnlyList<string> DataCategories { get; init; }
    public required DateTimeOffset ValidFrom { get; init; }
    public required DateTimeOffset ValidUntil { get; init; }
    /// <summary>"VIEW" or "STORE".</summary>
    public required string Mode { get; init; }
    public required long DataLifeSeconds { get; init; }
    public string? SupersedesId { get; init; }
}

/// <summary>A consent was withdrawn; deliveries after this event must exclude it.</summary>
public sealed record ConsentRevoked : IntegrationEvent
{
    public required string ConsentId { get; init; }
    public required string SubjectId { get; init; }
    public required string ControllerId { get; init; }
    public required string RecipientId { get; init; }
    public string? Reason { get; init; }
}

/// <summary>A consent was paused by its controller.</summary>
public sealed record ConsentPaused : IntegrationEvent
{
    public required string ConsentId { get; init; }
    public required string SubjectId { get; init; }
    public required string ControllerId { get; init; }
    public required string RecipientId { get; init; }
    public string? Reason { get; init; }
}

/// <summary>A paused consent was resumed.</summary>
public sealed record ConsentResumed : IntegrationEvent
{
    public required string ConsentId { get; init; }
    public required string SubjectId { get; init; }
    public required string ControllerId { get; init; }
    public required string RecipientId { get; init; }
}

/// <summary>A consent reached its valid-until time.</summary>
public sealed record ConsentExpired : IntegrationEvent
{
    public required string ConsentId { get; init; }
    public required string SubjectId { get; init; }
    public required string ControllerId { get; init; }
    public required string RecipientId { get; init; }
    public required DateTimeOffset ExpiredAt { get; init; }
}

/// <summary>A consent was replaced by an amendment.</summary>
public sealed record ConsentSuperseded : IntegrationEvent
{
    public required string ConsentId { get; init; }
    public required string SupersededById { get; init; }
    public required string SubjectId { get; init; }
    public required string ControllerId { get; init; }
    public required string RecipientId { get; init; }
}

/// <summary>A subject asked, through a platform, for their data to be erased.</summary>
public sealed record SubjectErasureRequested : IntegrationEvent
{
    public required string ErasureRequestId { get; init; }
    public required string SubjectId { get; init; }
    public required string ControllerId { get; init; }
}
