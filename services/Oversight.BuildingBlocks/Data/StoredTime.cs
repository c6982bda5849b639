namespace Oversight.BuildingBlocks.Data;

/// <summary>
/// Times are stored as Unix milliseconds, so every time the services hand out is cut to the
/// millisecond first: what a write answers equals what a later read returns.
/// </summary>
public static class StoredTime
{
    public static DateTimeOffset ToMillisecond(DateTimeOffset value) =>
        DateTimeOffset.FromUnixTimeMilliseconds(value.ToUnixTimeMilliseconds());

    /// <summary>Now, cut to the millisecond.</summary>
    public static DateTimeOffset UtcNowToMillisecond(this TimeProvider time) => ToMillisecond(time.GetUtcNow());
}
