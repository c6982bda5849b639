namespace Oversight.Exchange.Model;

public enum UploadState
{
    Receiving = 1,
    Completed = 2,
}

/// <summary>The account of one upload: how far it got and what it stored, refused or found unchanged.</summary>
public sealed record UploadAccount(
    string OwnerId,
    string UploadId,
    string DatasetId,
    UploadState State,
    long Batches,
    long Accepted,
    long Replaced,
    long Unchanged,
    long Rejected,
    IReadOnlyList<RecordRejection> Rejections,
    DateTimeOffset StartedAt,
    DateTimeOffset? CompletedAt)
{
    /// <summary>The rejections an account keeps: the first ones, enough to find the fault in the source.</summary>
    public const int MaxRejectionsKept = 100;
}

/// <summary>What one batch did to the vault.</summary>
public sealed record BatchOutcome(long Accepted, long Replaced, long Unchanged, IReadOnlyList<RecordRejection> Rejections);
