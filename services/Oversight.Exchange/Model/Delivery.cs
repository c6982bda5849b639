namespace Oversight.Exchange.Model;

public enum DeliveryState
{
    Streaming = 1,
    Completed = 2,
    Stopped = 3,
}

/// <summary>
/// One delivery of an approved request: what left, what was withheld and why, and how long the
/// recipient may keep it. A delivery resumed after a cut goes on under the same id.
/// </summary>
public sealed record Delivery(
    string Id,
    string DataRequestId,
    string RecipientId,
    IReadOnlyList<string> ControllerIds,
    DeliveryState State,
    string StopReason,
    long Pages,
    long Delivered,
    IReadOnlyDictionary<string, long> Withheld,
    DateTimeOffset StartedAt,
    DateTimeOffset? RetentionDeadline,
    DateTimeOffset? PurgeAttestedAt,
    DateTimeOffset? PurgedAt,
    string? PurgeStatement,
    long Version,
    IReadOnlyDictionary<string, DeliveryShare>? Shares = null)
{
    /// <summary>Who may read the delivery's own audit entries besides the regulator: its recipient and every platform whose data it carries.</summary>
    public string Parties => string.Join(' ', ControllerIds.Prepend(RecipientId).Distinct(StringComparer.Ordinal));

    /// <summary>
    /// The delivery as one of the platforms whose data it carries sees it: the counts and deadline of
    /// its own datasets' records, not the other platforms'.
    /// </summary>
    public Delivery AsSeenBy(string controllerId) => Shares?.GetValueOrDefault(controllerId) is { } share
        ? this with { Delivered = share.Delivered, Withheld = share.Withheld, RetentionDeadline = share.RetentionDeadline }
        : this;
}

/// <summary>One platform's share of a delivery: its datasets' records delivered and withheld, and the least deadline of the pages that carried them.</summary>
public sealed record DeliveryShare(long Delivered, IReadOnlyDictionary<string, long> Withheld, DateTimeOffset? RetentionDeadline)
{
    public static DeliveryShare None { get; } = new(0, new Dictionary<string, long>(), null);

    /// <summary>This share with one more page of the platform's records.</summary>
    public DeliveryShare Add(long delivered, IReadOnlyDictionary<string, long> withheld, DateTimeOffset? deadline) =>
        new(Delivered + delivered, WithheldCounts.Sum([Withheld, withheld]), Retention.Earliest(RetentionDeadline, deadline));
}

/// <summary>Records withheld, by Consent's deny reason.</summary>
public static class WithheldCounts
{
    /// <summary>The counts added up by reason.</summary>
    public static Dictionary<string, long> Sum(IEnumerable<IReadOnlyDictionary<string, long>> counts)
    {
        var total = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (reason, count) in counts.SelectMany(c => c))
        {
            total[reason] = total.GetValueOrDefault(reason) + count;
        }

        return new Dictionary<string, long>(total, StringComparer.Ordinal);
    }
}

/// <summary>Where a delivery stands in its request's datasets: the dataset's position in the request and the last record key sent.</summary>
public sealed record DeliveryCursor(int DatasetIndex, string AfterRecordKey)
{
    public static DeliveryCursor Start { get; } = new(0, "");
}

/// <summary>One page as it is recorded: its cursor, counts and deadline, and its audit entry.</summary>
public sealed record DeliveryPage(
    long PageNumber, DeliveryCursor End, long Delivered, IReadOnlyDictionary<string, long> Withheld, DateTimeOffset? RetentionDeadline, long AuditSequence);

/// <summary>How long delivered data may be kept (design §10.3).</summary>
public static class Retention
{
    /// <summary>
    /// The least of the alliance's maximum retention and each allowing consent's data life, from the
    /// time of delivery; a statutory mandate sets no data life of its own.
    /// </summary>
    public static DateTimeOffset Deadline(DateTimeOffset deliveredAt, TimeSpan allianceMaxRetention, IEnumerable<TimeSpan?> consentDataLives)
    {
        var shortest = allianceMaxRetention;
        foreach (var life in consentDataLives)
        {
            if (life is { } value && value < shortest)
            {
                shortest = value;
            }
        }

        return deliveredAt + shortest;
    }

    /// <summary>The earlier of two deadlines; a missing one (nothing delivered yet) is no deadline.</summary>
    public static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;
}
