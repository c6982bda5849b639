using MassTransit;

namespace Oversight.Contracts;

/// <summary>
/// What every integration event carries, so a consumer can drop stale or repeated ones:
/// its own id, when it happened, which service produced it and the version of the thing it
/// describes. Each module stamps this envelope in one place (its events factory); the outbox
/// refuses an event without it. MassTransit routes by the concrete record's full type name; the
/// base is kept out of the broker topology.
/// </summary>
[ExcludeFromTopology]
public abstract record IntegrationEvent
{
    public Guid EventId { get; init; }
    public DateTimeOffset OccurredAt { get; init; }
    public string Producer { get; init; } = "";
    public long Version { get; init; }
}

/// <summary>The producer names used in <see cref="IntegrationEvent.Producer"/>.</summary>
public static class Producers
{
    public const string Consent = "consent";
    public const string Governance = "governance";
    public const string Exchange = "exchange";
}
