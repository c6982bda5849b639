using System.Diagnostics;
using MassTransit;
using Microsoft.Data.Sqlite;
using Oversight.Contracts;
using Oversight.Contracts.Governance;
using Oversight.Testing;
using RabbitMQ.Client;

namespace Oversight.Suite.Tests;

/// <summary>The host process stopped the way an orchestrator stops it: SIGTERM, in the middle of a burst of events.</summary>
[Collection("RabbitMQ")]
public sealed class HostStopTests
{
    [Fact]
    public async Task A_SIGTERM_mid_burst_faults_nothing_and_the_restarted_host_applies_every_event_once()
    {
        var broker = RealInfrastructure.RabbitMq();
        var data = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));
        var database = Path.Combine(data, "consent.db");
        var run = Guid.NewGuid().ToString("N")[..8];
        const int count = 2000;
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            var uri = new Uri(broker);
            rabbit.Host(new UriBuilder(uri) { Scheme = "rabbitmq", UserName = "", Password = "" }.Uri, host =>
            {
                host.Username("guest");
                host.Password("guest");
            });
        });
        await bus.StartAsync();
        try
        {
            var first = StartConsent(broker, data);
            try
            {
                await HostProcessTests.ReadUntilAsync(first, line => line.StartsWith("data ", StringComparison.Ordinal));
                Drain(first);
                await WaitForQueueAsync(broker, "consent-organisation-registered");
                // All at once, so most of the burst is still queued when the signal comes.
                await Task.WhenAll(Enumerable.Range(0, count).Select(i => bus.Publish(new OrganisationRegistered
                {
                    EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Governance, Version = 1,
                    OrganisationId = $"sigterm-{run}-{i}", Kind = "platform", Name = $"Sigterm {i}", Jurisdiction = "CN",
                })));

                await EventuallyAsync(async () => await AppliedAsync(database, run) > 20, "some of the burst is applied");
                Signal(first, "TERM");
                using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(90));
                await first.WaitForExitAsync(stopping.Token);
            }
            finally
            {
                if (!first.HasExited)
                {
                    first.Kill(entireProcessTree: true);
                }

                first.Dispose();
            }

            Assert.True(await AppliedAsync(database, run) < count, "the first host applied the whole burst before it stopped; nothing was in flight");

            using var second = StartConsent(broker, data);
            try
            {
                await HostProcessTests.ReadUntilAsync(second, line => line.StartsWith("data ", StringComparison.Ordinal));
                Drain(second);
                await EventuallyAsync(async () => await AppliedAsync(database, run) == count, "the restarted host applies the rest", 120000);
                Assert.Equal(count, await ScalarAsync(database, $"SELECT COUNT(*) FROM inbox_message WHERE consumer = 'OrganisationRegisteredConsumer'"));
                Assert.Equal(0u, await RealInfrastructure.QueueDepthAsync(broker, "consent-organisation-registered_error"));
            }
            finally
            {
                second.Kill(entireProcessTree: true);
                await second.WaitForExitAsync();
            }
        }
        finally
        {
            await bus.StopAsync();
            SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    private static Process StartConsent(string broker, string data) =>
        // Development keys: this test is about stopping, not about keys (HostProcessTests covers those).
        HostProcessTests.Start("--services", "consent", "--data", data, $"--Oversight:Bus:RabbitMq={broker}", "--Oversight:AllowDevelopmentKeys=true",
            $"--Oversight:Consent:Port={HostProcessTests.FreePort()}", $"--Oversight:HealthPort={HostProcessTests.FreePort()}");

    /// <summary>Keeps reading the host's output, so its logging never blocks on a full pipe.</summary>
    private static void Drain(Process process)
    {
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
    }

    private static void Signal(Process process, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    private static async Task<long> AppliedAsync(string database, string run) =>
        await ScalarAsync(database, $"SELECT COUNT(*) FROM known_organisation WHERE id LIKE 'sigterm-{run}-%'");

    private static async Task<long> ScalarAsync(string database, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        return await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, sql);
    }

    /// <summary>The consumer's queue exists (and is bound) once the host's receive endpoint is up.</summary>
    private static Task WaitForQueueAsync(string broker, string queue) =>
        EventuallyAsync(async () =>
        {
            var factory = new ConnectionFactory { Uri = new Uri(broker) };
            await using var connection = await factory.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                return (await channel.QueueDeclarePassiveAsync(queue)).ConsumerCount > 0;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                return false;
            }
        }, $"{queue} has a consumer");

    private static Task EventuallyAsync(Func<Task<bool>> condition, string what, int timeoutMs = 60000) =>
        Eventually.HoldsAsync(condition, what, timeoutMs);
}
