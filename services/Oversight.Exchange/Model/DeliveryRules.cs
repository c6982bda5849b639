namespace Oversight.Exchange.Model;

/// <summary>The sizes a delivery and an upload move in: bounded, so the server holds one page or one batch.</summary>
public static class DeliveryRules
{
    public const int DefaultPageSize = 500;
    public const int MaxPageSize = 1000;
    public const int MaxRecordsPerBatch = 1000;
}

/// <summary>
/// Consent's answer for one subject: allowed (with what allowed it, and the record times it allows
/// when the consent limits them), or why not.
/// </summary>
public sealed record SubjectDecision(
    string SubjectId, bool Allowed, string? ConsentId, string? MandateId, TimeSpan? DataLife, string DenyReason,
    DateTimeOffset? RecordFrom = null, DateTimeOffset? RecordUntil = null)
{
    public const string RecordTimeNotCovered = "DENY_REASON_RECORD_TIME_NOT_COVERED";

    /// <summary>Whether a record of this time may flow: allowed, and inside the consent's record times [from, until).</summary>
    public bool AllowsRecordAt(DateTimeOffset occurredAt) =>
        Allowed && (RecordFrom is null || occurredAt >= RecordFrom) && (RecordUntil is null || occurredAt < RecordUntil);
}
