using MassTransit;

namespace Oversight.Contracts;

/// <summary>
/// What every integration event carries, so a consumer can drop stale or repeated ones:
/// its own id, when it happened, which service produced it and the version of the thing it
/// describes. MassTransit routes by the concrete record's full type name; the base is kept out
/// of the broker topology.
/// </summary>
[ExcludeFromTopology]
public abstract record IntegrationEvent
{
    public required Guid EventId { get; init; }
    public required DateTimeOffset OccurredAt { get; init; }
    public required string Producer { get; init; }
    public required long Version { get; init; }
}

/// <summary>The producer names used in <see cref="IntegrationEvent.Producer"/>.</summary>
public static class Producers
{
    public const string Consent = "consent";
    public const string Governance = "governance";
    public const string Exchange = "exchange";
}
