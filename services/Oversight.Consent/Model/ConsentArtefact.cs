namespace Oversight.Consent.Model;

// Numbers match the protobuf enums, so mapping is a cast and stored values read the same.
public enum ConsentStatus { Active = 1, Paused = 2, Revoked = 3, Expired = 4, Superseded = 5 }

public enum ConsentMode { View = 1, Store = 2 }

public enum CollectionMethod { App = 1, Web = 2, Paper = 3, Api = 4 }

public enum FrequencyPeriod { Hour = 1, Day = 2, Month = 3 }

/// <summary>At most <see cref="MaxDeliveries"/> deliveries per calendar <see cref="Period"/> (UTC).</summary>
public sealed record FrequencyLimit(int MaxDeliveries, FrequencyPeriod Period)
{
    /// <summary>The start of the calendar window that contains <paramref name="at"/>.</summary>
    public static DateTimeOffset WindowStart(FrequencyPeriod period, DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        return period switch
        {
            FrequencyPeriod.Hour => new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero),
            FrequencyPeriod.Day => new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero),
            FrequencyPeriod.Month => new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero),
            _ => throw new ArgumentOutOfRangeException(nameof(period), period, null),
        };
    }
}

public sealed record GuardianEvidence(string GuardianId, string Relationship, string VerificationMethod);

/// <summary>How and under which notice a consent was collected.</summary>
public sealed record ConsentEvidence(
    CollectionMethod CollectionMethod,
    string NoticeId,
    string NoticeVersion,
    string NoticeContentSha256,
    DateTimeOffset CollectedAt,
    string Language,
    string Jurisdiction,
    bool SeparateConsent,
    bool SubjectUnder14,
    GuardianEvidence? Guardian,
    bool CrossBorder);

/// <summary>What the person agreed to; never changes once issued.</summary>
public sealed record ConsentTerms(
    string RecipientId,
    string Purpose,
    IReadOnlyList<string> DataCategories,
    DateTimeOffset ValidFrom,
    DateTimeOffset ValidUntil,
    ConsentMode Mode,
    TimeSpan DataLife,
    FrequencyLimit? FrequencyLimit,
    DateTimeOffset? RecordFrom,
    DateTimeOffset? RecordUntil,
    ConsentEvidence Evidence)
;

/// <summary>
/// One consent artefact: this subject lets this controller provide these categories to this
/// recipient for this purpose, from–until, under these limits. The terms are immutable; only the
/// stored status moves (ACTIVE ⇄ PAUSED → REVOKED | EXPIRED; SUPERSEDED by an amendment).
/// </summary>
public sealed record ConsentArtefact(
    string Id,
    string SubjectId,
    string ControllerId,
    ConsentTerms Terms,
    ConsentStatus StoredStatus,
    string? StatusReason,
    string? SupersedesId,
    string? SupersededById,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long Version,
    string ReceiptJws,
    string ReceiptKeyId)
{
    /// <summary>The status as of <paramref name="now"/>: an active or paused artefact past its end is expired, swept or not.</summary>
    public ConsentStatus StatusAt(DateTimeOffset now) => ConsentCoverage.StatusAt(StoredStatus, Terms.ValidUntil, now);

    /// <summary>What a check weighs of this artefact.</summary>
    public ConsentCoverage Coverage => new(
        Id, Terms.Purpose, Terms.DataCategories, Terms.ValidFrom, Terms.ValidUntil, StoredStatus, Terms.FrequencyLimit,
        Terms.RecordFrom, Terms.RecordUntil, Terms.DataLife, CreatedAt);

    /// <summary>True while the controller may still pause, resume, amend or revoke it.</summary>
    public bool IsOpenAt(DateTimeOffset now) => StatusAt(now) is ConsentStatus.Active or ConsentStatus.Paused;
}

/// <summary>
/// The part of an artefact a check weighs — no evidence, no receipt — so checks read and keep
/// only what they need.
/// </summary>
public sealed record ConsentCoverage(
    string Id,
    string Purpose,
    IReadOnlyList<string> DataCategories,
    DateTimeOffset ValidFrom,
    DateTimeOffset ValidUntil,
    ConsentStatus StoredStatus,
    FrequencyLimit? FrequencyLimit,
    DateTimeOffset? RecordFrom,
    DateTimeOffset? RecordUntil,
    TimeSpan DataLife,
    DateTimeOffset CreatedAt)
{
    public ConsentStatus StatusAt(DateTimeOffset now) => StatusAt(StoredStatus, ValidUntil, now);

    /// <summary>True when the record time falls in [RecordFrom, RecordUntil).</summary>
    public bool CoversRecordTime(DateTimeOffset? recordTime) =>
        recordTime is not { } time
        || ((RecordFrom is null || time >= RecordFrom) && (RecordUntil is null || time < RecordUntil));

    internal static ConsentStatus StatusAt(ConsentStatus stored, DateTimeOffset validUntil, DateTimeOffset now) =>
        stored is ConsentStatus.Active or ConsentStatus.Paused && now >= validUntil ? ConsentStatus.Expired : stored;
}

/// <summary>One entry of an artefact's history.</summary>
public sealed record ConsentChange(long Sequence, string ConsentId, long Version, ConsentStatus Status, string? Reason, string ActorId, DateTimeOffset ChangedAt);

/// <summary>
/// One delivery of a subject's data, as Exchange reported it, with the position of the entry in
/// Exchange's audit log that records it (the first page that carried the subject), when Exchange gave one.
/// </summary>
public sealed record Disclosure(
    string DeliveryId, string SubjectId, string ControllerId, string RecipientId, string Purpose,
    IReadOnlyList<string> DataCategories, string? ConsentId, string? MandateId, DateTimeOffset DisclosedAt, long? AuditSequence = null);

/// <summary>A subject's request, through a platform, to erase their data.</summary>
public sealed record ErasureRequest(
    string Id, string SubjectId, string ControllerId, bool Completed, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt,
    long ErasedRecordCount, int RevokedConsentCount);
