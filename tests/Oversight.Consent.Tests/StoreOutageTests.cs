using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Contracts;
using Oversight.Contracts.Governance;

namespace Oversight.Consent.Tests;

/// <summary>
/// The events the transport delivered again (the broker's redelivered flag, or MassTransit's
/// redelivery count): each was handed back to its queue, which a quorum queue counts against its
/// delivery limit.
/// </summary>
public sealed class RedeliveredEvents : IConsumeObserver
{
    private readonly ConcurrentDictionary<Guid, bool> _events = new();

    public int Count => _events.Count;

    public Task PreConsume<T>(ConsumeContext<T> context) where T : class
    {
        if (context.Message is IntegrationEvent message && (context.ReceiveContext.Redelivered || context.GetRedeliveryCount() > 0))
        {
            _events.TryAdd(message.EventId, true);
        }

        return Task.CompletedTask;
    }

    public Task PostConsume<T>(ConsumeContext<T> context) where T : class => Task.CompletedTask;

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}

/// <summary>
/// Another connection holds the module's SQLite file write-locked (<c>BEGIN IMMEDIATE</c>), as a
/// long backup or a stuck writer would: every consumer meets SQLITE_BUSY until it lets go.
/// </summary>
public sealed class StoreOutage : IAsyncDisposable
{
    private readonly SqliteConnection _connection;

    private StoreOutage(SqliteConnection connection) => _connection = connection;

    public static async Task<StoreOutage> BeginAsync(string databaseFile)
    {
        var connection = new SqliteConnection($"Data Source={databaseFile};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "BEGIN IMMEDIATE";
        await command.ExecuteNonQueryAsync();
        return new StoreOutage(connection);
    }

    public async ValueTask DisposeAsync()
    {
        await using (var command = _connection.CreateCommand())
        {
            command.CommandText = "ROLLBACK";
            await command.ExecuteNonQueryAsync();
        }

        await _connection.DisposeAsync();
    }
}

/// <summary>A store that is busy for longer than all of a delivery's tries parks nothing and returns nothing to the queue.</summary>
public sealed class StoreOutageTests
{
    /// <summary>Short busy timeout and back-off, so a delivery spends its tries in about a second.</summary>
    internal static void ShortTries(IDictionary<string, string?> settings)
    {
        settings["Oversight:Consent:Database:BusyTimeout"] = "00:00:00.500";
        settings["Oversight:Bus:RetryLimit"] = "1";
        settings["Oversight:Bus:RetryMinInterval"] = "00:00:00.050";
        settings["Oversight:Bus:RetryMaxInterval"] = "00:00:00.200";
        settings["Oversight:Bus:PrefetchCount"] = "8";
        settings["Oversight:Bus:ConcurrentMessageLimit"] = "8";
    }

    internal static List<OrganisationRegistered> Registrations(string run, int count) => Enumerable.Range(0, count).Select(i => new OrganisationRegistered
    {
        EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Governance, Version = 1,
        OrganisationId = $"outage-{run}-{i}", Kind = "platform", Name = $"Outage {i}", Jurisdiction = "CN",
    }).ToList();

    /// <summary>
    /// Holds the store locked for four times as long as all the tries of a delivery take (where an
    /// event used to be faulted, then handed back to its queue), then lets go and waits for every
    /// event to be applied. The outage is a fault's length, not a wait for a result: on a slow
    /// machine fewer tries fit in it, and what is checked holds all the same. None was handed back
    /// to the transport, and none was faulted.
    /// </summary>
    internal static async Task OutlastEveryDeliveryAsync(ConsentTestHost host, string run, IReadOnlyList<OrganisationRegistered> events)
    {
        var redelivered = host.Services.GetRequiredService<RedeliveredEvents>();
        var bus = host.Services.GetRequiredService<BusOptions>();
        var busy = TimeSpan.Parse(host.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()["Oversight:Consent:Database:BusyTimeout"]!, System.Globalization.CultureInfo.InvariantCulture);
        var delivery = (bus.RetryLimit + 1) * (busy + bus.RetryMaxInterval);
        await using (await StoreOutage.BeginAsync(Path.Combine(host.DataDirectory, "consent.db")))
        {
            foreach (var message in events)
            {
                await host.PublishAsync(message);
            }

            await Task.Delay(4 * delivery);
        }

        await ConsentTestHost.EventuallyAsync(async () => await AppliedAsync(host, run) == events.Count, "every event is applied once the store is back", 60000);
        Assert.Equal(0, redelivered.Count);
    }

    internal static async Task<long> AppliedAsync(ConsentTestHost host, string run)
    {
        await using var connection = await host.Database.OpenAsync(CancellationToken.None);
        return await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, $"SELECT COUNT(*) FROM known_organisation WHERE id LIKE 'outage-{run}-%'");
    }

    [Fact]
    public async Task On_the_in_memory_bus_a_locked_store_delays_events_but_parks_none()
    {
        await using var host = await ConsentTestHost.StartAsync(ShortTries, services: services =>
        {
            services.AddSingleton<RedeliveredEvents>();
            services.AddConsumeObserver(provider => provider.GetRequiredService<RedeliveredEvents>());
        });
        var run = Guid.NewGuid().ToString("N")[..8];

        await OutlastEveryDeliveryAsync(host, run, Registrations(run, 20));
    }
}
