using System.Text.Json;
using System.Threading.Channels;
using Oversight.BuildingBlocks.Data;
using Oversight.Contracts;

namespace Oversight.BuildingBlocks.Messaging;

/// <summary>
/// The transactional outbox: an event is written in the same transaction as the state change
/// that causes it, and published later by the <see cref="OutboxRelay{TDatabase}"/>. With the
/// broker down, writes still succeed and their events wait.
/// </summary>
public static class Outbox
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task EnqueueAsync(DbSession session, IntegrationEvent message)
    {
        if (message.EventId == Guid.Empty || message.Producer.Length == 0 || message.Version < 0 || message.OccurredAt == default)
        {
            throw new InvalidOperationException($"A {message.GetType().Name} must carry its envelope (id, time, producer, version); stamp it with Stamp().");
        }

        await session.ExecuteAsync(
            MessagingSql.EnqueueOutbox,
            new
            {
                MessageId = message.EventId.ToString("D"),
                MessageType = message.GetType().FullName,
                Body = JsonSerializer.Serialize(message, message.GetType(), Json),
                OccurredAt = message.OccurredAt.ToUnixTimeMilliseconds(),
            });
        session.NoteOutboxMessage();
    }

    /// <summary>
    /// The event with its envelope: a time-ordered id, the time it happened, its producer and the
    /// version of what it describes. Each module calls this from its one events factory.
    /// </summary>
    public static TEvent Stamp<TEvent>(TEvent body, string producer, DateTimeOffset at, long version) where TEvent : IntegrationEvent =>
        body with { EventId = Guid.CreateVersion7(at), OccurredAt = at, Producer = producer, Version = version };

    /// <summary>The contract type a stored type name refers to, or null for a name no longer known.</summary>
    internal static Type? ResolveType(string name) => typeof(IntegrationEvent).Assembly.GetType(name, throwOnError: false);
}

/// <summary>A wake-up call for a relay: pulsed after a commit that enqueued events.</summary>
public sealed class OutboxSignal
{
    // Capacity one: a pending wake-up covers every commit made before the relay looks.
    private readonly Channel<bool> _channel = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Pulse() => _channel.Writer.TryWrite(true);

    /// <summary>Waits for a pulse or the timeout, whichever comes first.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            await _channel.Reader.ReadAsync(timer.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
    }
}
