using MassTransit;
using Oversight.BuildingBlocks.Data;
using Oversight.Contracts;

namespace Oversight.BuildingBlocks.Messaging;

/// <summary>
/// A consumer whose effect and inbox record commit together: a redelivered event (same
/// <see cref="IntegrationEvent.EventId"/>) is acknowledged without effect. An exception rolls
/// both back and lets MassTransit retry, then move the message to the error queue.
/// </summary>
public abstract class InboxConsumer<TDatabase, TMessage>(TDatabase database, TimeProvider time) : IConsumer<TMessage>
    where TDatabase : ModuleDatabase
    where TMessage : IntegrationEvent
{
    protected TimeProvider Time { get; } = time;

    public async Task Consume(ConsumeContext<TMessage> context)
    {
        await using var session = await database.BeginAsync(context.CancellationToken);
        var consumer = GetType().Name;
        if (!await Inbox.TryRecordAsync(session, context.Message.EventId, consumer, Time.GetUtcNow().ToUnixTimeMilliseconds()))
        {
            return;
        }

        await HandleAsync(session, context.Message);
        await session.CommitAsync();
    }

    /// <summary>Applies the event inside the inbox transaction.</summary>
    protected abstract Task HandleAsync(DbSession session, TMessage message);
}
