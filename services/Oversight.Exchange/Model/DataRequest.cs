namespace Oversight.Exchange.Model;

public enum DataRequestState
{
    Approved = 1,
    Rejected = 2,
}

/// <summary>
/// An institution's request and its decision, with what it was decided under: the alliance and its
/// version as Governance announced it, and the version of Exchange's rules.
/// </summary>
public sealed record DataRequest(
    string Id,
    string InstitutionId,
    IReadOnlyList<string> DatasetIds,
    string Purpose,
    IReadOnlyList<string> Fields,
    int SubjectCount,
    DateTimeOffset? OccurAfter,
    DateTimeOffset? OccurBefore,
    DataRequestState State,
    IReadOnlyList<Rejection> Rejections,
    string? AllianceId,
    long AllianceVersion,
    int RulesVersion,
    bool Identified,
    DateTimeOffset DecidedAt,
    long AuditSequence);

/// <summary>The shape of a request's ask, as the RPC's bounds say.</summary>
public static class DataRequestRules
{
    public const int MaxDatasets = 16;
    public const int MaxFields = 128;
    public const int MaxSubjects = 10_000;

    /// <summary>A request for named subjects keeps one blind index per subject and dataset, written in one transaction: bounded so it never holds the writer long.</summary>
    public const int MaxSubjectDatasetPairs = 20_000;
}
