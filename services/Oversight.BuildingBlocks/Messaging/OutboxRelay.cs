using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Messaging;

/// <summary>How a module's relay paces itself; bound from <c>Oversight:Outbox</c>.</summary>
public sealed class OutboxOptions
{
    public int BatchSize { get; set; } = 100;

    /// <summary>How often to look for events when no commit signalled any.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a relay's turn (and the batch it claimed) lasts unless renewed. The relay renews it
    /// while it works, so a relay that died is replaced within this.
    /// </summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one publish may wait for the broker's confirmation.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest a relay waits between tries of a broker that failed; it bounds how late it publishes once the broker is back.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Tries before a row whose type or body this build cannot read is parked (a broker failure
    /// never parks anything: those rows wait for the broker however long it takes).
    /// </summary>
    public int MaxUnreadableAttempts { get; set; } = 10;

    /// <summary>Health reports Degraded while the oldest unsent event is older than this.</summary>
    public TimeSpan MaxUnsentAge { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>The stored event cannot be turned back into a message by this build.</summary>
internal sealed class UnreadableOutboxMessageException(string message) : Exception(message);

/// <summary>
/// Publishes a module's outbox in sequence order, with the stored event id as the message id,
/// and marks each one sent once the broker confirmed it. A failure stops the batch (so order
/// holds), backs off and tries again: nothing is dropped. Several replicas may run a relay against
/// one database: one publishes at a time (the relay's turn, renewed while it works), and the others
/// stand by. When the one publishing stops it gives its turn up; when it dies the turn lapses within
/// <see cref="OutboxOptions.Lease"/>, and the next relay starts again at the first unsent event,
/// the dead relay's claimed batch included (whatever of it was published already comes twice, with
/// the same message id, and the consumers' inbox drops it).
/// </summary>
public sealed class OutboxRelay<TDatabase>(
    TDatabase database,
    IBus bus,
    TimeProvider time,
    IOptions<OutboxOptions> options,
    ILogger<OutboxRelay<TDatabase>> logger) : BackgroundService
    where TDatabase : ModuleDatabase
{
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    private long? _turnRenewedAtMs;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var backoff = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            int published;
            try
            {
                if (!database.IsReady)
                {
                    await Task.Delay(settings.PollInterval, stoppingToken);
                    continue;
                }

                published = await RelayBatchAsync(settings, stoppingToken);
                backoff = TimeSpan.Zero;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, settings.MaxBackoff.Ticks));
                logger.LogWarning(exception, "The {Module} outbox relay failed; retrying in {Backoff}", database.Module, backoff);
                await Task.Delay(backoff, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
                continue;
            }

            if (published < settings.BatchSize)
            {
                await database.OutboxSignal.WaitAsync(settings.PollInterval, stoppingToken);
            }
        }
    }

    /// <summary>Claims and publishes one batch; returns how many were published.</summary>
    internal async Task<int> RelayBatchAsync(OutboxOptions settings, CancellationToken cancellationToken)
    {
        if (!await HoldTurnAsync(settings, cancellationToken))
        {
            // Another relay's turn: stand by, and look again after the poll interval.
            return 0;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        List<OutboxRow> batch;
        await using (var claim = await database.BeginAsync(cancellationToken))
        {
            batch = (await claim.QueryAsync<OutboxRow>(MessagingSql.ClaimOutboxBatch(database.Dialect), new
            {
                Owner = _owner,
                Now = now,
                LeaseUntil = now + (long)settings.Lease.TotalMilliseconds,
                Batch = settings.BatchSize,
            })).OrderBy(r => r.Sequence).ToList();
            await claim.CommitAsync();
        }

        var sent = new List<long>(batch.Count);
        try
        {
            foreach (var row in batch)
            {
                if (!await HoldTurnAsync(settings, cancellationToken))
                {
                    // The turn lapsed (this process stalled past its lease) and another relay took it: it publishes from here.
                    await MarkSentAsync(sent);
                    await ReleaseAsync(row, null);
                    return sent.Count;
                }

                await PublishAsync(row, settings, cancellationToken);
                sent.Add(row.Sequence);
            }
        }
        catch (UnreadableOutboxMessageException exception) when (batch[sent.Count].Attempts + 1 >= settings.MaxUnreadableAttempts)
        {
            var unreadable = batch[sent.Count];
            logger.LogError("Parking outbox message {MessageId} ({Type}) of the {Module} module after {Attempts} tries: {Error}",
                unreadable.MessageId, unreadable.MessageType, database.Module, unreadable.Attempts + 1, exception.Message);
            await MarkSentAsync(sent);
            await ParkAsync(unreadable);
            await ReleaseAsync(unreadable, exception);
            return sent.Count;
        }
        catch (Exception exception)
        {
            // Whatever stopped the batch — a broker failure or shutdown — give the rest back at once,
            // so this or another relay starts again at the failed row instead of waiting out the lease.
            var shuttingDown = exception is OperationCanceledException && cancellationToken.IsCancellationRequested;
            await MarkSentAsync(sent);
            await ReleaseAsync(batch[sent.Count], shuttingDown ? null : exception);
            throw;
        }

        await MarkSentAsync(sent);
        return sent.Count;
    }

    /// <summary>
    /// True while this relay holds the turn: renewed when a third of the lease has passed since it
    /// last was, taken when nobody holds it or the holder's lapsed. Taking it over from another relay
    /// frees the rows that relay had claimed, so this one starts at the first unsent event.
    /// </summary>
    private async Task<bool> HoldTurnAsync(OutboxOptions settings, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var lease = (long)settings.Lease.TotalMilliseconds;
        if (_turnRenewedAtMs is { } renewed && now - renewed < lease / 3)
        {
            return true;
        }

        await using var session = await database.BeginAsync(cancellationToken);
        var previous = await session.QuerySingleOrDefaultAsync<string?>(MessagingSql.RelayTurnOwner);
        if (await session.ExecuteAsync(MessagingSql.TakeRelayTurn, new { Owner = _owner, Now = now, Until = now + lease }) == 0)
        {
            _turnRenewedAtMs = null;
            return false;
        }

        if (previous != _owner)
        {
            if (previous is not null)
            {
                logger.LogWarning("The {Module} outbox relay takes over from {Previous}, whose turn lapsed", database.Module, previous);
            }

            await session.ExecuteAsync(MessagingSql.ReclaimOutboxLeases, new { Owner = _owner });
        }

        await session.CommitAsync();
        _turnRenewedAtMs = now;
        return true;
    }

    /// <summary>Gives the turn up on the way out, so a relay standing by takes over at once instead of after the lease.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await using var session = await database.BeginAsync(CancellationToken.None);
            await session.ExecuteAsync(MessagingSql.GiveUpRelayTurn, new { Owner = _owner });
            await session.CommitAsync();
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
        {
            // The database is gone or not ready: the turn lapses by itself within the lease.
        }
    }

    private async Task PublishAsync(OutboxRow row, OutboxOptions settings, CancellationToken cancellationToken)
    {
        var type = Outbox.ResolveType(row.MessageType)
            ?? throw new UnreadableOutboxMessageException($"Outbox message {row.MessageId} has unknown type {row.MessageType}.");
        object message;
        try
        {
            message = JsonSerializer.Deserialize(row.Body, type, Outbox.Json)
                ?? throw new UnreadableOutboxMessageException($"Outbox message {row.MessageId} has an empty body.");
        }
        catch (JsonException exception)
        {
            throw new UnreadableOutboxMessageException($"Outbox message {row.MessageId} has a body this build cannot read: {exception.Message}");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.PublishTimeout);
        var messageId = Guid.Parse(row.MessageId);
        await bus.Publish(message, type, context => context.MessageId = messageId, timeout.Token);
    }

    private async Task MarkSentAsync(List<long> sequences)
    {
        if (sequences.Count == 0)
        {
            return;
        }

        await using var session = await database.BeginAsync(CancellationToken.None);
        await session.ExecuteAsync(
            MessagingSql.MarkOutboxSent,
            new { SentAt = time.GetUtcNow().ToUnixTimeMilliseconds(), Sequences = sequences });
        await session.CommitAsync();
    }

    private async Task ParkAsync(OutboxRow row)
    {
        await using var session = await database.BeginAsync(CancellationToken.None);
        await session.ExecuteAsync(MessagingSql.ParkOutboxMessage, new { At = time.GetUtcNow().ToUnixTimeMilliseconds(), row.Sequence });
        await session.CommitAsync();
    }

    private async Task ReleaseAsync(OutboxRow row, Exception? exception)
    {
        await using var session = await database.BeginAsync(CancellationToken.None);
        // Release every row of this batch still held, so the next round starts again at the failed one.
        await session.ExecuteAsync(
            MessagingSql.ReleaseOutboxLease,
            new { Owner = _owner });
        if (exception is not null)
        {
            var error = exception.Message.Length > 1000 ? exception.Message[..1000] : exception.Message;
            await session.ExecuteAsync(MessagingSql.RecordOutboxFailure, new { Error = error, row.Sequence });
        }

        await session.CommitAsync();
    }

    internal sealed class OutboxRow
    {
        public long Sequence { get; set; }
        public string MessageId { get; set; } = "";
        public string MessageType { get; set; } = "";
        public string Body { get; set; } = "";
        public int Attempts { get; set; }
    }
}
