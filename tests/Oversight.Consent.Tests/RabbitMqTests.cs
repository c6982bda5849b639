using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Contracts;
using Oversight.Contracts.Consent;
using Oversight.Contracts.Exchange;
using Oversight.Testing;
using RabbitMQ.Client;

namespace Oversight.Consent.Tests;

/// <summary>What a consumer elsewhere received from the broker.</summary>
public sealed class Received
{
    public ConcurrentQueue<(Guid? MessageId, ConsentGranted Message)> Granted { get; } = new();

    public ConcurrentQueue<Guid> StoppingProbes { get; } = new();

    public ConcurrentQueue<Oversight.Contracts.Audit.AuditCheckpointSigned> Checkpoints { get; } = new();

    public ConcurrentQueue<Guid> Replayed { get; } = new();

    /// <summary>While set, <see cref="ReplayProbeConsumer"/> fails as a consumer with a bug would.</summary>
    public bool RefuseReplayProbes { get => Volatile.Read(ref _refuse); set => Volatile.Write(ref _refuse, value); }

    private bool _refuse = true;
}

/// <summary>Another service's witness, as far as the broker can tell: it receives the checkpoints Consent publishes.</summary>
public sealed class CheckpointProbe(Received received) : IConsumer<Oversight.Contracts.Audit.AuditCheckpointSigned>
{
    public Task Consume(ConsumeContext<Oversight.Contracts.Audit.AuditCheckpointSigned> context)
    {
        received.Checkpoints.Enqueue(context.Message);
        return Task.CompletedTask;
    }
}

public sealed class GrantedProbe(Received received) : IConsumer<ConsentGranted>
{
    public Task Consume(ConsumeContext<ConsentGranted> context)
    {
        received.Granted.Enqueue((context.MessageId, context.Message));
        return Task.CompletedTask;
    }
}

/// <summary>What the host's services look like to a consumer while the host stops under it: disposed.</summary>
public sealed record StoppingProbe(Guid Id);

/// <summary>Fails as a consumer does when the host stops under it, until the broker delivers the message again.</summary>
public sealed class StoppingProbeConsumer(Received received) : IConsumer<StoppingProbe>
{
    public Task Consume(ConsumeContext<StoppingProbe> context)
    {
        ObjectDisposedException.ThrowIf(!context.ReceiveContext.Redelivered, typeof(IServiceProvider));

        received.StoppingProbes.Enqueue(context.Message.Id);
        return Task.CompletedTask;
    }
}

public sealed class StoppingProbeConsumerDefinition() : ModuleConsumerDefinition<StoppingProbeConsumer>("test", "stopping-probe");

public sealed record DeliveryLimitProbe(Guid Id);

/// <summary>Never reached in the test: a raw client reads its queue instead.</summary>
public sealed class DeliveryLimitProbeConsumer : IConsumer<DeliveryLimitProbe>
{
    public Task Consume(ConsumeContext<DeliveryLimitProbe> context) => Task.CompletedTask;
}

public sealed class DeliveryLimitProbeConsumerDefinition() : ModuleConsumerDefinition<DeliveryLimitProbeConsumer>("test", "delivery-limit");

public sealed record ReplayProbe(Guid Id);

/// <summary>Fails permanently until the test "fixes the cause".</summary>
public sealed class ReplayProbeConsumer(Received received) : IConsumer<ReplayProbe>
{
    public Task Consume(ConsumeContext<ReplayProbe> context)
    {
        if (received.RefuseReplayProbes)
        {
            throw new InvalidOperationException("a bug in this consumer");
        }

        received.Replayed.Enqueue(context.Message.Id);
        return Task.CompletedTask;
    }
}

public sealed class ReplayProbeConsumerDefinition() : ModuleConsumerDefinition<ReplayProbeConsumer>("test", "replay-probe");

/// <summary>
/// The outbox, relay and inbox against a real RabbitMQ broker. One collection, so the tests do not
/// compete for the module's queues.
/// </summary>
[Collection("RabbitMQ")]
public sealed class RabbitMqTests
{
    private static (ConsentTestHost Host, Received Received) Probe(ConsentTestHost host) => (host, host.Services.GetRequiredService<Received>());

    private static Task<ConsentTestHost> StartAsync(string broker, string? dataDirectory = null, Action<IDictionary<string, string?>>? configure = null) =>
        ConsentTestHost.StartAsync(
            settings =>
            {
                settings["Oversight:Bus:RabbitMq"] = broker;
                settings["Oversight:Outbox:PublishTimeout"] = "00:00:02";
                settings["Oversight:Outbox:MaxBackoff"] = "00:00:01";
                configure?.Invoke(settings);
            },
            dataDirectory,
            services =>
            {
                services.AddSingleton<Received>();
                services.AddSingleton<RedeliveredEvents>();
                services.AddConsumeObserver(provider => provider.GetRequiredService<RedeliveredEvents>());
                services.AddBusContribution("probe", bus =>
                {
                    bus.AddConsumer<GrantedProbe>().Endpoint(e =>
                    {
                        e.Name = $"test-probe-{Guid.NewGuid():N}";
                        e.Temporary = true;
                    });
                    bus.AddConsumer<CheckpointProbe>().Endpoint(e =>
                    {
                        e.Name = $"test-checkpoints-{Guid.NewGuid():N}";
                        e.Temporary = true;
                    });
                });
            });

    /// <summary>
    /// Witnessing over the broker: the checkpoint Consent signs leaves through its outbox and reaches
    /// another service's consumer, and a checkpoint another service publishes is kept by Consent.
    /// </summary>
    [Fact]
    public async Task Checkpoints_travel_the_broker_both_ways_and_the_witness_keeps_the_others()
    {
        var (host, received) = Probe(await StartAsync(RealInfrastructure.RabbitMq()));
        await using var _ = host;
        await WaitForConsumersAsync(host);

        await host.GrantAsync("witnessed-subject");
        var signed = (await host.Audit().GetCheckpointAsync(new Oversight.Audit.V1.GetCheckpointRequest())).Checkpoint;
        await ConsentTestHost.EventuallyAsync(() => Task.FromResult(received.Checkpoints.Any(c => c.Origin == "oversight/consent" && c.TreeSize == signed.TreeSize)),
            "another service receives Consent's checkpoint", 30000);
        Assert.Equal(signed.Note, received.Checkpoints.Single(c => c.TreeSize == signed.TreeSize).Note);

        using var governanceKey = NSec.Cryptography.Key.Create(NSec.Cryptography.SignatureAlgorithm.Ed25519);
        var note = SignedNote.Sign(new Checkpoint("oversight/governance", 7, new byte[32]).Body(), NoteKey.Of("oversight/governance", governanceKey), governanceKey);
        await host.PublishAsync(Outbox.Stamp(new Oversight.Contracts.Audit.AuditCheckpointSigned
        {
            Origin = "oversight/governance", TreeSize = 7, RootHash = Convert.ToBase64String(new byte[32]), Note = note,
        }, Producers.Governance, DateTimeOffset.UtcNow, 7));
        await ConsentTestHost.EventuallyAsync(async () =>
            (await host.Audit().ListWitnessedCheckpointsAsync(new Oversight.Audit.V1.ListWitnessedCheckpointsRequest { Origin = "oversight/governance" }))
                .Checkpoints.Any(c => c.Checkpoint.Note == note), "Consent keeps Governance's checkpoint", 30000);
    }

    [Fact]
    public async Task A_state_change_reaches_a_consumer_through_the_broker_with_its_event_id()
    {
        var (host, received) = Probe(await StartAsync(RealInfrastructure.RabbitMq()));
        await using var _ = host;
        await WaitForConsumersAsync(host);

        var consent = await host.GrantAsync("broker-subject");
        await ConsentTestHost.EventuallyAsync(() => Task.FromResult(received.Granted.Any(g => g.Message.ConsentId == consent.Id)), "the event arrives");

        var (messageId, message) = received.Granted.Single(g => g.Message.ConsentId == consent.Id);
        Assert.Equal(message.EventId, messageId);
        Assert.Equal(Producers.Consent, message.Producer);
        Assert.Equal(["user.financial.transactions"], message.DataCategories);
    }

    [Fact]
    public async Task With_the_broker_down_writes_succeed_and_events_wait_until_it_is_back()
    {
        var broker = RealInfrastructure.RabbitMq();
        var unreachable = new UriBuilder(new Uri(broker)) { Port = 1 }.Uri.ToString();
        var dataDirectory = Path.Combine(Path.GetTempPath(), "oversight-tests", Guid.NewGuid().ToString("N"));
        string consentId;
        await using (var down = await StartAsync(unreachable, dataDirectory))
        {
            consentId = (await down.GrantAsync("patient-subject")).Id;
            Assert.Equal(Model.ConsentStatus.Active, (await down.Services.GetRequiredService<Infrastructure.ConsentRepository>()
                .GetAsync(await down.Database.OpenAsync(CancellationToken.None), consentId))!.StoredStatus);
            await ConsentTestHost.EventuallyAsync(async () => await AttemptsAsync(down) > 0, "the relay tried and failed");
            Assert.Equal(1L, await UnsentAsync(down));
        }

        // Shutting down with the broker still away must not count the event as sent.
        await using (var file = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dataDirectory, "consent.db")}"))
        {
            Assert.Equal(1L, await Dapper.SqlMapper.ExecuteScalarAsync<long>(file, "SELECT COUNT(*) FROM outbox_message WHERE sent_at_ms IS NULL"));
        }

        // An outside consumer's queue, bound before the relay can publish, so nothing races the binding.
        var queue = $"test-outside-{Guid.NewGuid():N}";
        var factory = new ConnectionFactory { Uri = new Uri(broker) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        const string exchange = "Oversight.Contracts.Consent:ConsentGranted";
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
        await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false);
        await channel.QueueBindAsync(queue, exchange, "");
        try
        {
            await using var up = await StartAsync(broker, dataDirectory);
            await ConsentTestHost.EventuallyAsync(async () => await UnsentAsync(up) == 0, "the waiting event is published and marked sent");

            var bodies = new List<string>();
            while (await channel.BasicGetAsync(queue, autoAck: true) is { } delivery)
            {
                bodies.Add(System.Text.Encoding.UTF8.GetString(delivery.Body.Span));
            }

            Assert.Single(bodies, b => b.Contains(consentId, StringComparison.Ordinal));
        }
        finally
        {
            await channel.QueueDeleteAsync(queue);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task A_redelivered_event_has_no_second_effect()
    {
        await using var host = await StartAsync(RealInfrastructure.RabbitMq());
        await WaitForConsumersAsync(host);
        var erasure = (await host.Subjects(ConsentTestHost.Shopwave).RequestErasureAsync(
            new V1.RequestErasureRequest { RequestId = "e", SubjectId = "twice" })).ErasureRequest;
        var completed = new SubjectErasureCompleted
        {
            EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Exchange, Version = 1,
            ErasureRequestId = erasure.Id, SubjectId = "twice", ErasedRecordCount = 7, CompletedAt = DateTimeOffset.UtcNow,
        };

        // The same event three times, as a broker may redeliver it; the effect adds up if applied twice.
        var consumed = new ConsumedCount<SubjectErasureCompleted>(m => m.EventId == completed.EventId);
        using var watching = host.Services.GetRequiredService<IBus>().ConnectConsumeObserver(consumed);
        await host.PublishAsync(completed);
        await host.PublishAsync(completed);
        await host.PublishAsync(completed);
        await ConsentTestHost.EventuallyAsync(() => Task.FromResult(consumed.Count == 3), "all three deliveries are consumed");
        Assert.Equal(1, await ScalarAsync(host, $"SELECT COUNT(*) FROM inbox_message WHERE message_id = '{completed.EventId}'"));
        Assert.Equal(7, await ScalarAsync(host, $"SELECT erased_record_count FROM erasure_request WHERE id = '{erasure.Id}'"));
    }

    [Fact]
    public async Task A_poison_message_goes_to_the_error_queue_after_bounded_retries()
    {
        var broker = RealInfrastructure.RabbitMq();
        await using var host = await StartAsync(broker);
        await WaitForConsumersAsync(host);
        const string errorQueue = "consent-data-disclosed_error";
        var before = await RealInfrastructure.QueueDepthAsync(broker, errorQueue);

        // A subject without an id cannot be logged: the insert fails every time.
        await host.PublishAsync(new DataDisclosed
        {
            EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Exchange, Version = 1,
            DeliveryId = "poison", ControllerId = ConsentTestHost.Shopwave, RecipientId = ConsentTestHost.CreditBureau,
            Purpose = "credit_assessment", DataCategories = ["user"], Subjects = [new DisclosedSubject { SubjectId = null! }],
            DisclosedAt = DateTimeOffset.UtcNow,
        });

        await ConsentTestHost.EventuallyAsync(async () => await RealInfrastructure.QueueDepthAsync(broker, errorQueue) > before, "the message is in the error queue", 30000);
        Assert.Equal(0, await ScalarAsync(host, "SELECT COUNT(*) FROM disclosure"));
    }

    [Fact]
    public async Task Stopping_under_traffic_faults_nothing_and_the_next_start_finishes_the_backlog()
    {
        var broker = RealInfrastructure.RabbitMq();
        var data = Path.Combine(Path.GetTempPath(), "oversight-tests", Guid.NewGuid().ToString("N"));
        const string errorQueue = "consent-organisation-registered_error";
        var faultedBefore = await RealInfrastructure.QueueDepthAsync(broker, errorQueue);
        var run = Guid.NewGuid().ToString("N")[..8];
        // Enough that the backlog outlasts the stop on a fast machine too, published all at once.
        var events = Enumerable.Range(0, 2000).Select(i => new Oversight.Contracts.Governance.OrganisationRegistered
        {
            EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Governance, Version = 1,
            OrganisationId = $"stop-{run}-{i}", Kind = "platform", Name = $"Stop {i}", Jurisdiction = "CN",
        }).ToList();

        var first = await StartAsync(broker, data);
        await WaitForConsumersAsync(first);
        await Task.WhenAll(events.Select(first.PublishAsync));

        await ConsentTestHost.EventuallyAsync(async () => await ScalarAsync(first, $"SELECT COUNT(*) FROM known_organisation WHERE id LIKE 'stop-{run}-%'") > 20,
            "some of the backlog is consumed");
        var consumedBeforeStop = await ScalarAsync(first, $"SELECT COUNT(*) FROM known_organisation WHERE id LIKE 'stop-{run}-%'");
        await first.DisposeAsync();
        Assert.True(consumedBeforeStop < events.Count, "the first host consumed the whole backlog; nothing was in flight when it stopped");

        // MassTransit keeps its log context in an AsyncLocal: the second host starts outside this flow,
        // or it would find the first host's disposed logger factory.
        Task<ConsentTestHost> starting;
        using (ExecutionContext.SuppressFlow())
        {
            starting = Task.Run(() => StartAsync(broker, data));
        }

        await using var second = await starting;
        await ConsentTestHost.EventuallyAsync(async () => await ScalarAsync(second, $"SELECT COUNT(*) FROM known_organisation WHERE id LIKE 'stop-{run}-%'") == events.Count,
            "the next start consumes the rest", 60000);
        Assert.Equal(faultedBefore, await RealInfrastructure.QueueDepthAsync(broker, errorQueue));
    }

    [Fact]
    public async Task A_locked_store_keeps_events_with_their_consumer_and_faults_none()
    {
        var broker = RealInfrastructure.RabbitMq();
        await using var host = await StartAsync(broker, configure: StoreOutageTests.ShortTries);
        await WaitForConsumersAsync(host);
        var run = Guid.NewGuid().ToString("N")[..8];

        await StoreOutageTests.OutlastEveryDeliveryAsync(host, run, StoreOutageTests.Registrations(run, 20));

        Assert.Equal(0u, await RealInfrastructure.QueueDepthAsync(broker, "consent-organisation-registered_error"));
    }

    [Fact]
    public async Task A_consumer_failing_because_the_host_stops_returns_its_message_to_the_queue()
    {
        var broker = RealInfrastructure.RabbitMq();
        await using var host = await ConsentTestHost.StartAsync(
            settings => settings["Oversight:Bus:RabbitMq"] = broker,
            services: services =>
            {
                services.AddSingleton<Received>();
                services.AddBusContribution("test", bus => bus.AddConsumer<StoppingProbeConsumer, StoppingProbeConsumerDefinition>());
            });
        await WaitForConsumersAsync(host);
        var received = host.Services.GetRequiredService<Received>();
        var probe = new StoppingProbe(Guid.NewGuid());

        await host.PublishAsync(probe);

        await ConsentTestHost.EventuallyAsync(() => Task.FromResult(received.StoppingProbes.Contains(probe.Id)), "the message comes back and is consumed");
        Assert.Equal(0u, await RealInfrastructure.QueueDepthAsync(broker, "test-stopping-probe_error"));
    }

    /// <summary>
    /// Every consumer's queue is a quorum queue with a delivery limit (declaring it again with those
    /// arguments succeeds; a classic queue would refuse), and a message that reaches its consumer
    /// that many times without an answer, as one that kills its consumer would, moves to the error
    /// queue instead of vanishing.
    /// </summary>
    [Fact]
    public async Task Queues_are_quorum_queues_and_a_message_never_answered_moves_to_the_error_queue()
    {
        var broker = RealInfrastructure.RabbitMq();
        const string queue = "test-delivery-limit";
        // The run's other tests declare the module's queues with the default limit, for good.
        var limit = new BusOptions().DeliveryLimit;
        await using (var host = await ConsentTestHost.StartAsync(
            settings => settings["Oversight:Bus:RabbitMq"] = broker,
            services: services => services.AddBusContribution("test", bus => bus.AddConsumer<DeliveryLimitProbeConsumer, DeliveryLimitProbeConsumerDefinition>())))
        {
            await WaitForConsumersAsync(host);
        }

        var factory = new ConnectionFactory { Uri = new Uri(broker) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var before = await RealInfrastructure.QueueDepthAsync(broker, $"{queue}_error");
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: new Dictionary<string, object?>
        {
            ["x-queue-type"] = "quorum", ["x-delivery-limit"] = limit, ["x-dead-letter-exchange"] = $"{queue}_error",
        });

        await channel.BasicPublishAsync("", queue, "never answered"u8.ToArray());
        var deliveries = 0;
        await ConsentTestHost.EventuallyAsync(async () =>
        {
            if (await channel.BasicGetAsync(queue, autoAck: false) is { } delivery)
            {
                deliveries++;
                await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true);
            }

            return await RealInfrastructure.QueueDepthAsync(broker, $"{queue}_error") == before + 1;
        }, "the message is dead-lettered to the error queue");
        Assert.InRange(deliveries, limit, limit + 1);
        Assert.Equal(0u, await RealInfrastructure.QueueDepthAsync(broker, queue));
    }

    /// <summary>
    /// The way back from an error queue that docs/operations.md gives: once the cause is fixed, a
    /// shovel moves the error queue's messages to the consumer's queue and deletes itself, and they
    /// are consumed.
    /// </summary>
    [Fact]
    public async Task A_shovel_moves_a_faulted_message_back_to_its_queue_once_the_cause_is_fixed()
    {
        var broker = RealInfrastructure.RabbitMq();
        await using var host = await ConsentTestHost.StartAsync(
            settings =>
            {
                settings["Oversight:Bus:RabbitMq"] = broker;
                settings["Oversight:Bus:RetryLimit"] = "1";
                settings["Oversight:Bus:RetryMinInterval"] = "00:00:00.050";
            },
            services: services =>
            {
                services.AddSingleton<Received>();
                services.AddBusContribution("test", bus => bus.AddConsumer<ReplayProbeConsumer, ReplayProbeConsumerDefinition>());
            });
        await WaitForConsumersAsync(host);
        var received = host.Services.GetRequiredService<Received>();
        const string queue = "test-replay-probe";
        var probe = new ReplayProbe(Guid.NewGuid());

        await host.PublishAsync(probe);
        await ConsentTestHost.EventuallyAsync(async () => await RealInfrastructure.QueueDepthAsync(broker, $"{queue}_error") == 1, "the message is faulted");
        received.RefuseReplayProbes = false;

        var vhost = Uri.UnescapeDataString(new Uri(broker).AbsolutePath.TrimStart('/'));
        var shovel = $$"""
            {"src-protocol": "amqp091", "src-uri": "amqp:///{{Uri.EscapeDataString(vhost)}}", "src-queue": "{{queue}}_error", "src-delete-after": "queue-length",
             "dest-protocol": "amqp091", "dest-uri": "amqp:///{{Uri.EscapeDataString(vhost)}}", "dest-queue": "{{queue}}"}
            """;
        using (var set = System.Diagnostics.Process.Start("rabbitmqctl", ["set_parameter", "-p", vhost, "shovel", $"replay-{queue}", shovel])!)
        {
            await set.WaitForExitAsync();
            Assert.Equal(0, set.ExitCode);
        }

        await ConsentTestHost.EventuallyAsync(() => Task.FromResult(received.Replayed.Contains(probe.Id)), "the moved message is consumed", 30000);
        Assert.Equal(0u, await RealInfrastructure.QueueDepthAsync(broker, $"{queue}_error"));
    }

    [Fact]
    public async Task Each_test_run_has_a_virtual_host_of_its_own()
    {
        var factory = new ConnectionFactory { Uri = new Uri(RealInfrastructure.RabbitMq()) };
        await using var connection = await factory.CreateConnectionAsync();

        Assert.StartsWith("oversight-test-", factory.VirtualHost, StringComparison.Ordinal);
        Assert.True(connection.IsOpen);
    }

    // The receive endpoints bind their queues asynchronously after start: wait until every one is
    // ready (the bus reports Healthy only then), or an event published before would find no queue.
    private static async Task WaitForConsumersAsync(ConsentTestHost host)
    {
        var health = await host.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(60));
        Assert.Equal(BusHealthStatus.Healthy, health);
    }

    private static async Task<long> AttemptsAsync(ConsentTestHost host) => await ScalarAsync(host, "SELECT COALESCE(MAX(attempts), 0) FROM outbox_message");

    private static async Task<long> UnsentAsync(ConsentTestHost host) => await ScalarAsync(host, "SELECT COUNT(*) FROM outbox_message WHERE sent_at_ms IS NULL");

    private static async Task<long> ScalarAsync(ConsentTestHost host, string sql)
    {
        await using var connection = await host.Database.OpenAsync(CancellationToken.None);
        return await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, sql);
    }
}

/// <summary>Counts the deliveries of one kind of message that a consumer finished (acked), effect or no-op.</summary>
internal sealed class ConsumedCount<T>(Func<T, bool> matches) : IConsumeObserver where T : class
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public Task PostConsume<TMessage>(ConsumeContext<TMessage> context) where TMessage : class
    {
        if (context.Message is T message && matches(message))
        {
            Interlocked.Increment(ref _count);
        }

        return Task.CompletedTask;
    }

    public Task PreConsume<TMessage>(ConsumeContext<TMessage> context) where TMessage : class => Task.CompletedTask;

    public Task ConsumeFault<TMessage>(ConsumeContext<TMessage> context, Exception exception) where TMessage : class => Task.CompletedTask;
}
