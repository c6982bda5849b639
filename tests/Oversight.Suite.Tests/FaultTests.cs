using System.Diagnostics;
using System.Text.Json;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.Data.Sqlite;
using Oversight.BuildingBlocks.Security;
using Oversight.Governance.V1;
using Oversight.Testing;
using RabbitMQ.Client;

namespace Oversight.Suite.Tests;

/// <summary>
/// Faults as a deployment meets them, with Governance and Consent as separate processes of the host
/// on a broker node of the test's own: the broker stopped while writes go on, the producer killed
/// in the middle of a burst, the consumer killed in the middle of a backlog. Each checks that every
/// acknowledged write's event arrived and was applied once, at its newest version, and reports its
/// figures (expected, arrived, on the wire twice, how long until consuming again and until drained);
/// <c>docs/operations.md</c> records them. The timings are reported, never asserted.
/// </summary>
[Collection("Broker faults")]
public sealed class FaultTests
{
    private const string OrganisationExchange = "Oversight.Contracts.Governance:OrganisationRegistered";
    private const string UpdateExchange = "Oversight.Contracts.Governance:OrganisationUpdated";
    private const string ConsumerQueue = "consent-organisation-registered";

    [Fact]
    public async Task The_broker_stopped_while_writes_go_on_loses_nothing_and_consuming_resumes_once_it_is_back()
    {
        await using var suite = await Suite.StartAsync();
        var writes = new Writes(suite);

        await writes.RegisterAsync(0, 50);
        await suite.Broker.StopAsync();
        var stopped = Stopwatch.StartNew();
        await writes.RegisterAsync(50, 100); // acknowledged: they wait in Governance's outbox
        var appliedBeforeReturn = await suite.AppliedAsync();
        // The outage: long enough that MassTransit's own waits (3, 6, 12, 24, then 30 s) would
        // have grown past our bound, so the figure shows the bound, not luck.
        await Task.Delay(TimeSpan.FromSeconds(45) - stopped.Elapsed);
        var back = await suite.Broker.StartAgainAsync();

        var resumed = await suite.WhenAppliedAsync(count => count > appliedBeforeReturn, "Consent applies an event written while the broker was down");
        await writes.RegisterAsync(100, 150);
        var drained = await suite.WhenAppliedAsync(count => count == 150, "every event is applied");

        var figures = await suite.FiguresAsync("broker stopped 45 s while writes go on", writes, back, resumed, drained);
        Assert.Equal(150, figures.Expected);
        Assert.Equal(figures.Expected, figures.Arrived);
    }

    [Fact]
    public async Task The_producer_killed_mid_burst_is_taken_over_by_its_restart_and_every_acknowledged_event_arrives_at_its_newest_version()
    {
        await using var suite = await Suite.StartAsync();
        var writes = new Writes(suite);
        await writes.RegisterAsync(0, 40);

        // Forty organisations changed over and over from four callers; Governance killed under them.
        using var burst = new CancellationTokenSource();
        var changing = Enumerable.Range(0, 4).Select(caller => writes.KeepUpdatingAsync(caller * 10, caller * 10 + 10, burst.Token)).ToList();
        await Eventually.HoldsAsync(() => Task.FromResult(writes.Acknowledged >= 400), "a burst of changes is acknowledged", 120000);
        suite.Governance.Kill(entireProcessTree: true);
        await suite.Governance.WaitForExitAsync();
        await burst.CancelAsync();
        await Task.WhenAll(changing);

        var restarted = await suite.StartGovernanceAsync();
        var drained = await suite.WhenAsync(suite.NewestVersionsAppliedAsync, "Consent holds every organisation at Governance's newest version");

        // A change Governance committed as it was killed, before it answered, arrives too.
        var figures = await suite.FiguresAsync("producer SIGKILLed mid-burst, then restarted", writes, restarted, drained, drained);
        Assert.InRange(figures.Arrived, figures.Expected, figures.Expected + 4);
    }

    [Fact]
    public async Task The_consumer_killed_mid_backlog_applies_every_event_once_after_its_restart()
    {
        await using var suite = await Suite.StartAsync();
        var writes = new Writes(suite);
        suite.Consent.Kill(entireProcessTree: true);
        await suite.Consent.WaitForExitAsync();
        await writes.RegisterAsync(0, 600);
        await Eventually.HoldsAsync(async () => await suite.QueueDepthAsync() == 600, "the backlog waits in Consent's queue", 60000);

        await suite.StartConsentAsync();
        await suite.WhenAppliedAsync(count => count >= 50, "Consent works through the backlog");
        suite.Consent.Kill(entireProcessTree: true);
        await suite.Consent.WaitForExitAsync();
        var applied = await suite.AppliedAsync();
        Assert.True(applied < 600, "Consent applied the whole backlog before it was killed; nothing was in flight");

        var restarted = await suite.StartConsentAsync();
        var drained = await suite.WhenAppliedAsync(count => count == 600, "every event is applied after the restart");

        var figures = await suite.FiguresAsync($"consumer SIGKILLed mid-backlog ({applied} of 600 applied), then restarted", writes, restarted, drained, drained);
        Assert.Equal(600, figures.Expected);
        Assert.Equal(600, figures.Arrived);
    }

    [Fact]
    public async Task The_broker_killed_with_a_backlog_keeps_every_confirmed_message_in_its_quorum_queue()
    {
        await using var suite = await Suite.StartAsync();
        var writes = new Writes(suite);
        suite.Consent.Kill(entireProcessTree: true);
        await suite.Consent.WaitForExitAsync();
        await writes.RegisterAsync(0, 200);
        await Eventually.HoldsAsync(async () => await suite.QueueDepthAsync() == 200, "the backlog waits in Consent's queue", 60000);

        await suite.Broker.KillAsync();
        await suite.Broker.StartAgainAsync();
        var restarted = await suite.StartConsentAsync();
        var drained = await suite.WhenAppliedAsync(count => count == 200, "every event is applied after the node's restart");

        var figures = await suite.FiguresAsync("broker SIGKILLed with 200 events queued, then restarted", writes, restarted, drained, drained);
        Assert.Equal(200, figures.Arrived);
    }

    /// <summary>
    /// Two replicas of each service on one database each and one broker, under a burst of changes
    /// through both Governance replicas; one replica of each killed mid-work. The survivors go on:
    /// every acknowledged change arrives once, at the newest version, and both audit logs — appended
    /// to and checkpointed by two replicas — still verify.
    /// </summary>
    [Fact]
    public async Task Two_replicas_of_each_service_with_one_of_each_killed_mid_burst_apply_every_acknowledged_event_once()
    {
        await using var suite = await Suite.StartAsync();
        var (_, governancePort) = await suite.StartReplicaAsync("governance");
        var (_, consentPort) = await suite.StartReplicaAsync("consent");
        var first = new Writes(suite);
        var second = new Writes(suite, suite.OrganisationsAt(governancePort));
        await first.RegisterAsync(0, 40);
        await second.RegisterAsync(40, 80);

        using var burst = new CancellationTokenSource();
        var changing = new[] { first.KeepUpdatingAsync(0, 20, burst.Token), first.KeepUpdatingAsync(20, 40, burst.Token),
            second.KeepUpdatingAsync(40, 60, burst.Token), second.KeepUpdatingAsync(60, 80, burst.Token) };
        await Eventually.HoldsAsync(() => Task.FromResult(first.Acknowledged + second.Acknowledged >= 400), "a burst of changes is acknowledged", 120000);
        foreach (var replica in new[] { suite.Governance, suite.Consent })
        {
            replica.Kill(entireProcessTree: true);
            await replica.WaitForExitAsync();
        }

        var killedAt = DateTimeOffset.UtcNow;
        var secondBefore = second.Acknowledged;
        await Eventually.HoldsAsync(() => Task.FromResult(second.Acknowledged >= secondBefore + 100), "the surviving Governance replica goes on", 120000);
        await burst.CancelAsync();
        await Task.WhenAll(changing);
        var drained = await suite.WhenAsync(suite.NewestVersionsAppliedAsync, "Consent holds every organisation at Governance's newest version");

        var figures = await suite.FiguresAsync("two replicas of each, one of each SIGKILLed mid-burst", first, killedAt, drained, drained, second.Acknowledged);
        Assert.InRange(figures.Arrived, figures.Expected, figures.Expected + 2);
        foreach (var (service, port) in new[] { ("governance", governancePort), ("consent", consentPort) })
        {
            var (exitCode, output, error) = await AuditCliTests.AuditHost.RunCliAsync(
                new() { [$"OVERSIGHT_{service.ToUpperInvariant()}_ADDRESS"] = $"http://127.0.0.1:{port}" },
                "--as", "central-bank", "--kind", "regulator", "audit", "verify-log", "--service", service);
            Assert.True(exitCode == 0, $"{service}'s log does not verify:\n{output}{error}");
        }
    }

    /// <summary>What a fault test reports.</summary>
    internal sealed record Figures(string Fault, int Expected, int Arrived, int OnTheWire, int Twice, double? ConsumingAfterSeconds, double DrainedAfterSeconds);

    /// <summary>Writes through Governance's RPCs (the first replica's, unless given another's); counts what Governance acknowledged.</summary>
    private sealed class Writes(Suite suite, OrganisationService.OrganisationServiceClient? replica = null)
    {
        private readonly OrganisationService.OrganisationServiceClient _organisations = replica ?? suite.Organisations;

        private int _acknowledged;

        public int Acknowledged => _acknowledged;

        public async Task RegisterAsync(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                var id = Suite.OrganisationId(i);
                await _organisations.RegisterOrganisationAsync(new RegisterOrganisationRequest
                {
                    RequestId = id, OrganisationId = id, Kind = OrganisationKind.Platform, Name = $"Fault {i}", Jurisdiction = "CN",
                });
                Interlocked.Increment(ref _acknowledged);
            }
        }

        /// <summary>Renames the organisations in turn until stopped or until Governance stops answering.</summary>
        public async Task KeepUpdatingAsync(int from, int to, CancellationToken stop)
        {
            for (var round = 1; !stop.IsCancellationRequested; round++)
            {
                for (var i = from; i < to; i++)
                {
                    try
                    {
                        await _organisations.UpdateOrganisationAsync(new UpdateOrganisationRequest
                        {
                            RequestId = $"{Suite.OrganisationId(i)}-{round}", OrganisationId = Suite.OrganisationId(i), Name = $"Fault {i} round {round}", Jurisdiction = "CN",
                        }, cancellationToken: stop);
                        Interlocked.Increment(ref _acknowledged);
                    }
                    catch (RpcException)
                    {
                        return; // Killed under the call, or stopped: whether it committed is Governance's to say.
                    }
                }
            }
        }
    }

    /// <summary>The node, the two processes, and what the test reads of them.</summary>
    private sealed class Suite : IAsyncDisposable
    {
        private readonly string _root = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));
        private readonly int _governancePort = RealInfrastructure.FreePort();
        private readonly string _wire = $"fault-wire-{Guid.NewGuid():N}";
        private readonly List<GrpcChannel> _channels = [];
        private readonly List<Process> _replicas = [];

        private Suite(BrokerNode broker) => Broker = broker;

        public BrokerNode Broker { get; }

        public Process Governance { get; private set; } = null!;

        public Process Consent { get; private set; } = null!;

        public OrganisationService.OrganisationServiceClient Organisations { get; private set; } = null!;

        private string ConsentDatabase => Path.Combine(_root, "consent", "consent.db");

        private string GovernanceDatabase => Path.Combine(_root, "governance", "governance.db");

        public static string OrganisationId(int i) => $"fault-{i:D4}";

        public static async Task<Suite> StartAsync()
        {
            var suite = new Suite(await BrokerNode.StartAsync());
            await suite.WatchTheWireAsync();
            await suite.StartConsentAsync();
            await suite.StartGovernanceAsync();
            suite.Organisations = suite.OrganisationsAt(suite._governancePort);
            return suite;
        }

        /// <summary>The operator's client of the Governance replica listening on <paramref name="port"/>.</summary>
        public OrganisationService.OrganisationServiceClient OrganisationsAt(int port)
        {
            var operatorToken = new TokenIssuer(new AuthOptions(), TimeProvider.System).Mint("operator", "operator");
            var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            _channels.Add(channel);
            return new OrganisationService.OrganisationServiceClient(channel.Intercept(metadata =>
            {
                metadata.Add("Authorization", $"Bearer {operatorToken}");
                return metadata;
            }));
        }

        /// <summary>Another replica of <paramref name="service"/> on the same database and broker; its gRPC port.</summary>
        public async Task<(Process Process, int Port)> StartReplicaAsync(string service)
        {
            var port = RealInfrastructure.FreePort();
            var module = char.ToUpperInvariant(service[0]) + service[1..];
            var process = await StartHostAsync("--services", service, "--data", Path.Combine(_root, service), $"--Oversight:{module}:Port={port}");
            _replicas.Add(process);
            return (process, port);
        }

        public async Task<DateTimeOffset> StartConsentAsync()
        {
            Consent = await StartHostAsync(
                "--services", "consent", "--data", Path.Combine(_root, "consent"), $"--Oversight:Consent:Port={RealInfrastructure.FreePort()}");
            await Eventually.HoldsAsync(async () => await ConsumersAsync(ConsumerQueue) > 0, "Consent consumes its queue", 60000);
            return DateTimeOffset.UtcNow;
        }

        public async Task<DateTimeOffset> StartGovernanceAsync()
        {
            Governance = await StartHostAsync(
                "--services", "governance", "--data", Path.Combine(_root, "governance"), $"--Oversight:Governance:Port={_governancePort}");
            return DateTimeOffset.UtcNow;
        }

        public async Task<long> AppliedAsync() => await ConsentScalarAsync("SELECT COUNT(*) FROM known_organisation WHERE id LIKE 'fault-%'");

        public async Task<long> ConsentScalarAsync(string sql)
        {
            if (!File.Exists(ConsentDatabase))
            {
                return 0;
            }

            await using var connection = new SqliteConnection($"Data Source={ConsentDatabase};Mode=ReadOnly;Pooling=False");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            return (long)(await command.ExecuteScalarAsync())!;
        }

        /// <summary>Every organisation Governance holds is known to Consent at the same version.</summary>
        public async Task<bool> NewestVersionsAppliedAsync()
        {
            var governance = await VersionsAsync(GovernanceDatabase, "organisation");
            var consent = await VersionsAsync(ConsentDatabase, "known_organisation");
            return governance.Count > 0 && governance.All(pair => consent.TryGetValue(pair.Key, out var version) && version == pair.Value);
        }

        public Task<DateTimeOffset> WhenAppliedAsync(Func<long, bool> condition, string what) =>
            WhenAsync(async () => condition(await AppliedAsync()), what);

        public async Task<DateTimeOffset> WhenAsync(Func<Task<bool>> condition, string what)
        {
            await Eventually.HoldsAsync(condition, what, 180000);
            return DateTimeOffset.UtcNow;
        }

        public async Task<uint> QueueDepthAsync() => await RealInfrastructure.QueueDepthAsync(Broker.Uri, ConsumerQueue);

        /// <summary>Reads every message the test's own queue saw, and reports.</summary>
        public async Task<Figures> FiguresAsync(string fault, Writes writes, DateTimeOffset from, DateTimeOffset consuming, DateTimeOffset drained, int alsoAcknowledged = 0)
        {
            var ids = new List<string>();
            var factory = new ConnectionFactory { Uri = new Uri(Broker.Uri) };
            await using (var connection = await factory.CreateConnectionAsync())
            await using (var channel = await connection.CreateChannelAsync())
            {
                while (await channel.BasicGetAsync(_wire, autoAck: true) is { } message)
                {
                    using var envelope = JsonDocument.Parse(message.Body);
                    ids.Add(envelope.RootElement.GetProperty("messageId").GetString()!);
                }
            }

            var arrived = (int)await ConsentScalarAsync(
                "SELECT COUNT(*) FROM inbox_message WHERE consumer IN ('OrganisationRegisteredConsumer', 'OrganisationUpdatedConsumer')");
            var figures = new Figures(
                fault, Expected: writes.Acknowledged + alsoAcknowledged, Arrived: arrived, OnTheWire: ids.Count, Twice: ids.Count - ids.Distinct().Count(),
                ConsumingAfterSeconds: consuming == drained ? null : (consuming - from).TotalSeconds, DrainedAfterSeconds: (drained - from).TotalSeconds);
            var line = JsonSerializer.Serialize(figures);
            TestContext.Current.TestOutputHelper?.WriteLine(line);
            if (Environment.GetEnvironmentVariable("OVERSIGHT_FAULT_FIGURES") is { Length: > 0 } file)
            {
                await File.AppendAllTextAsync(file, line + Environment.NewLine);
            }

            return figures;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var channel in _channels)
            {
                channel.Dispose();
            }

            foreach (var process in new[] { Governance, Consent }.Concat(_replicas))
            {
                if (process is { HasExited: false })
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }

                process?.Dispose();
            }

            await Broker.DisposeAsync();
            SqliteConnection.ClearAllPools();
            Directory.Delete(_root, recursive: true);
        }

        private static async Task<Dictionary<string, long>> VersionsAsync(string database, string table)
        {
            var versions = new Dictionary<string, long>();
            if (!File.Exists(database))
            {
                return versions;
            }

            await using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT id, version FROM {table} WHERE id LIKE 'fault-%'";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                versions[reader.GetString(0)] = reader.GetInt64(1);
            }

            return versions;
        }

        private async Task<Process> StartHostAsync(params string[] arguments)
        {
            var process = HostProcessTests.Start(
            [
                .. arguments, $"--Oversight:Bus:RabbitMq={Broker.Uri}", "--Oversight:AllowDevelopmentKeys=true",
                $"--Oversight:HealthPort={RealInfrastructure.FreePort()}",
            ]);
            await HostProcessTests.ReadUntilAsync(process, line => line.StartsWith("data ", StringComparison.Ordinal));
            // Keep reading, so the host never blocks on a full pipe.
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            return process;
        }

        /// <summary>A queue of the test's own, bound to both organisation exchanges before anything is published: it sees every publish.</summary>
        private async Task WatchTheWireAsync()
        {
            var factory = new ConnectionFactory { Uri = new Uri(Broker.Uri) };
            await using var connection = await factory.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            await channel.QueueDeclareAsync(_wire, durable: true, exclusive: false, autoDelete: false,
                arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" });
            foreach (var exchange in new[] { OrganisationExchange, UpdateExchange })
            {
                await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true, autoDelete: false);
                await channel.QueueBindAsync(_wire, exchange, "");
            }
        }

        private async Task<uint> ConsumersAsync(string queue)
        {
            var factory = new ConnectionFactory { Uri = new Uri(Broker.Uri) };
            await using var connection = await factory.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                return (await channel.QueueDeclarePassiveAsync(queue)).ConsumerCount;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                return 0;
            }
        }
    }
}
