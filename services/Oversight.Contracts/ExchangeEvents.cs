namespace Oversight.Contracts.Exchange;

/// <summary>One subject's part of a delivery and the basis it flowed under.</summary>
public sealed record DisclosedSubject
{
    public required string SubjectId { get; init; }
    public string? ConsentId { get; init; }
    public string? MandateId { get; init; }
}

/// <summary>Exchange delivered data: who received which categories of whose data, under what.</summary>
public sealed record DataDisclosed : IntegrationEvent
{
    public required string DeliveryId { get; init; }
    public required string ControllerId { get; init; }
    public required string RecipientId { get; init; }
    public required string Purpose { get; init; }
    public required IReadOnlyList<string> DataCategories { get; init; }
    public required IReadOnlyList<DisclosedSubject> Subjects { get; init; }
    public required DateTimeOffset DisclosedAt { get; init; }
    /// <summary>
    /// The position, in Exchange's audit log, of the entry that records this part of the delivery: a
    /// subject can be given that entry with its inclusion proof. Null from producers that keep no log.
    /// </summary>
    public long? AuditSequence { get; init; }
}

/// <summary>A data holder erased a subject's records in answer to an erasure request.</summary>
public sealed record SubjectErasureCompleted : IntegrationEvent
{
    public required string ErasureRequestId { get; init; }
    public required string SubjectId { get; init; }
    public required long ErasedRecordCount { get; init; }
    public required DateTimeOffset CompletedAt { get; init; }
}

/// <summary>Exchange decided an institution's data request: approved under an alliance, or rejected with reasons.</summary>
public sealed record DataRequestDecided : IntegrationEvent
{
    public required string DataRequestId { get; init; }
    public required string InstitutionId { get; init; }
    public required string Purpose { get; init; }
    public required IReadOnlyList<string> DatasetIds { get; init; }
    public required bool Approved { get; init; }
    /// <summary>The alliance it was approved under; null when rejected.</summary>
    public string? AllianceId { get; init; }
    /// <summary>The rejection reasons' codes (such as <c>FIELD_NOT_COVERED</c>); empty when approved.</summary>
    public IReadOnlyList<string> RejectionCodes { get; init; } = [];
    public required DateTimeOffset DecidedAt { get; init; }
}
