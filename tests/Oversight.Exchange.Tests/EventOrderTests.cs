using Microsoft.Extensions.DependencyInjection;
using Oversight.Contracts;
using Oversight.Contracts.Governance;
using static Oversight.Exchange.Tests.ExchangeTestHost;
using static Oversight.Testing.EventHistories;

namespace Oversight.Exchange.Tests;

/// <summary>
/// The order promised is per aggregate, by version: the broker may deliver an aggregate's events in
/// any order (a consumer takes several at once) and more than once. Every order of an alliance's
/// history, and of the exchange's freezes, each event delivered twice, must leave what the newest
/// version says — never an older state, and never a suspension undone by a late activation.
/// </summary>
public sealed class EventOrderTests : IAsyncLifetime
{
    private ExchangeTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await StartAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task Every_order_of_an_alliances_events_delivered_twice_leaves_its_newest_standing()
    {
        var histories = new (string Name, Func<string, IntegrationEvent[]> Events, long Standing)[]
        {
            ("suspended and resumed", id => [Activated(id, 1), Suspended(id, 2), Resumed(id, 3)], 1),
            ("suspended", id => [Activated(id, 1), Suspended(id, 2)], 2),
            ("suspended, resumed and terminated", id => [Activated(id, 1), Suspended(id, 2), Resumed(id, 3), Terminated(id, 4)], 3),
            ("expired", id => [Activated(id, 1), Expired(id, 2)], 3),
        };
        var expected = new Dictionary<string, (long Standing, long Version)>();
        var published = 0;
        foreach (var (_, events, standing) in histories)
        {
            var count = events("probe").Length;
            foreach (var order in Permutations(Enumerable.Range(0, count).ToArray()))
            {
                var id = Guid.NewGuid().ToString("D");
                var history = events(id);
                foreach (var index in order)
                {
                    await PublishAsync(history[index]);
                    await PublishAsync(history[index]);
                }

                published += count;
                var newest = history[^1];
                expected[id] = (standing, newest.Version);
            }
        }

        await EventuallyAsync(async () => await _host.ScalarAsync<long>("SELECT COUNT(*) FROM inbox_message WHERE consumer LIKE 'Alliance%'") == published,
            "every event is consumed", 60000);
        foreach (var (id, (standing, version)) in expected)
        {
            Assert.Equal(standing, await _host.ScalarAsync<long>("SELECT standing FROM known_alliance WHERE id = @Id", new { Id = id }));
            Assert.Equal(version, await _host.ScalarAsync<long>("SELECT version FROM known_alliance WHERE id = @Id", new { Id = id }));
            if (standing == 1)
            {
                // Opened again only with the scope its newest activation carried.
                Assert.Equal("""["credit_assessment"]""", await _host.ScalarAsync<string>("SELECT purposes FROM known_alliance WHERE id = @Id", new { Id = id }));
            }
        }
    }

    [Fact]
    public async Task Every_order_of_freezes_and_unfreezes_delivered_twice_leaves_the_newest()
    {
        var block = 0;
        foreach (var order in Permutations([0, 1, 2]))
        {
            var versions = Enumerable.Range(1, 3).Select(i => (long)(block * 10 + 10 + i)).ToArray();
            IntegrationEvent[] history = [Frozen(versions[0]), Unfrozen(versions[1]), Frozen(versions[2])];
            var before = await _host.ScalarAsync<long>("SELECT COUNT(*) FROM inbox_message WHERE consumer LIKE 'Exchange%'");
            foreach (var index in order)
            {
                await PublishAsync(history[index]);
                await PublishAsync(history[index]);
            }

            await EventuallyAsync(async () => await _host.ScalarAsync<long>("SELECT COUNT(*) FROM inbox_message WHERE consumer LIKE 'Exchange%'") == before + 3,
                "the block is consumed", 30000);
            Assert.Equal(1L, await _host.ScalarAsync<long>("SELECT frozen FROM exchange_standing"));
            Assert.Equal(versions[2], await _host.ScalarAsync<long>("SELECT version FROM exchange_standing"));
            block++;
        }
    }

    /// <summary>By the event's own type: each goes to its consumer's queue.</summary>
    private Task PublishAsync(IntegrationEvent message) =>
        _host.Services.GetRequiredService<MassTransit.IBus>().Publish(message, message.GetType());

    private static AllianceScopeTerms Scope() => new()
    {
        Purposes = ["credit_assessment"], DataCategories = ["user.financial"], Fields = ["amount"], IdentifiedData = false, MaxRetentionSeconds = 86400,
        ValidFrom = DateTimeOffset.UtcNow.AddDays(-1), ValidUntil = DateTimeOffset.UtcNow.AddDays(30),
    };

    private static AllianceActivated Activated(string id, long version) =>
        Stamped(new AllianceActivated { AllianceId = id, InstitutionId = CreditBureau, Scope = Scope() }, version);

    private static AllianceSuspended Suspended(string id, long version) =>
        Stamped(new AllianceSuspended { AllianceId = id, InstitutionId = CreditBureau, Reason = "order" }, version);

    private static AllianceResumed Resumed(string id, long version) =>
        Stamped(new AllianceResumed { AllianceId = id, InstitutionId = CreditBureau, Scope = Scope() }, version);

    private static AllianceTerminated Terminated(string id, long version) =>
        Stamped(new AllianceTerminated { AllianceId = id, InstitutionId = CreditBureau, Reason = "ended" }, version);

    private static AllianceExpired Expired(string id, long version) =>
        Stamped(new AllianceExpired { AllianceId = id, InstitutionId = CreditBureau, ExpiredAt = DateTimeOffset.UtcNow }, version);

    private static ExchangeFrozen Frozen(long version) =>
        Stamped(new ExchangeFrozen { OrderId = Guid.NewGuid().ToString("D"), Reason = "turmoil", FrozenAt = DateTimeOffset.UtcNow }, version);

    private static ExchangeUnfrozen Unfrozen(long version) =>
        Stamped(new ExchangeUnfrozen { OrderId = Guid.NewGuid().ToString("D"), UnfrozenAt = DateTimeOffset.UtcNow }, version);
}
