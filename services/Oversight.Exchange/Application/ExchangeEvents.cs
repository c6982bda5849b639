using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Contracts;

namespace Oversight.Exchange.Application;

/// <summary>Exchange's events, stamped with its envelope and written to the outbox in the caller's transaction.</summary>
public static class ExchangeEvents
{
    /// <param name="version">The version of the aggregate the event describes, after the change.</param>
    public static Task EnqueueAsync<TEvent>(DbSession session, TEvent body, DateTimeOffset at, long version) where TEvent : IntegrationEvent =>
        Outbox.EnqueueAsync(session, Outbox.Stamp(body, Producers.Exchange, at, version));
}
