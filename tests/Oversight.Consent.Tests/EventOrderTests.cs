using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Oversight.Contracts;
using Oversight.Contracts.Governance;
using static Oversight.Testing.EventHistories;

namespace Oversight.Consent.Tests;

/// <summary>
/// The order promised is per aggregate, by version: the broker may deliver an aggregate's events in
/// any order and more than once. Every order of an organisation's and a mandate's history, each
/// event delivered twice, must leave what the newest version says: a late registration never
/// undoes a rename, a late enactment never revives a repealed mandate.
/// </summary>
public sealed class EventOrderTests : IAsyncLifetime
{
    private ConsentTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await ConsentTestHost.StartAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task Every_order_of_an_organisations_events_delivered_twice_leaves_its_newest_version()
    {
        var ids = new List<string>();
        foreach (var order in Permutations([0, 1, 2]))
        {
            var id = $"order-{Guid.NewGuid():N}";
            IntegrationEvent[] history =
            [
                Stamped(new OrganisationRegistered { OrganisationId = id, Kind = OrganisationKinds.Platform, Name = "v1", Jurisdiction = "CN" }, 1),
                Stamped(new OrganisationUpdated { OrganisationId = id, Kind = OrganisationKinds.Platform, Name = "v2", Jurisdiction = "SG" }, 2),
                Stamped(new OrganisationUpdated { OrganisationId = id, Kind = OrganisationKinds.Platform, Name = "v3", Jurisdiction = "HK" }, 3),
            ];
            await PublishTwiceAsync(history, order);
            ids.Add(id);
        }

        await ConsentTestHost.EventuallyAsync(async () => await ScalarAsync<long>(
            "SELECT COUNT(*) FROM inbox_message WHERE consumer IN ('OrganisationRegisteredConsumer', 'OrganisationUpdatedConsumer')") == 3 * ids.Count, "every event is consumed");
        foreach (var id in ids)
        {
            Assert.Equal("v3 HK 3", await ScalarAsync<string>("SELECT name || ' ' || jurisdiction || ' ' || version FROM known_organisation WHERE id = @Id", new { Id = id }));
        }
    }

    [Fact]
    public async Task Every_order_of_a_mandates_enactment_and_repeal_delivered_twice_leaves_it_repealed()
    {
        var ids = new List<string>();
        foreach (var order in Permutations([0, 1]))
        {
            var id = $"order-{Guid.NewGuid():N}";
            IntegrationEvent[] history =
            [
                Stamped(new StatutoryMandateEnacted
                {
                    MandateId = id, LegalReference = "Credit Reporting Act §12", RecipientId = ConsentTestHost.CreditBureau, Purposes = ["credit_assessment"],
                    DataCategories = ["user.financial"], ValidFrom = DateTimeOffset.UtcNow.AddDays(-1), ValidUntil = null,
                }, 1),
                Stamped(new StatutoryMandateRepealed { MandateId = id, RepealedAt = DateTimeOffset.UtcNow }, 2),
            ];
            await PublishTwiceAsync(history, order);
            ids.Add(id);
        }

        await ConsentTestHost.EventuallyAsync(async () => await ScalarAsync<long>(
            "SELECT COUNT(*) FROM inbox_message WHERE consumer LIKE 'StatutoryMandate%'") == 2 * ids.Count, "every event is consumed");
        foreach (var id in ids)
        {
            Assert.Equal(1L, await ScalarAsync<long>("SELECT COUNT(*) FROM statutory_mandate WHERE id = @Id AND repealed_at_ms IS NOT NULL AND version = 2", new { Id = id }));
        }
    }

    private async Task PublishTwiceAsync(IntegrationEvent[] history, int[] order)
    {
        var bus = _host.Services.GetRequiredService<IBus>();
        foreach (var index in order)
        {
            await bus.Publish(history[index], history[index].GetType());
            await bus.Publish(history[index], history[index].GetType());
        }
    }

    private async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await _host.Database.OpenAsync(CancellationToken.None);
        return (await Dapper.SqlMapper.ExecuteScalarAsync<T>(connection, sql, parameters))!;
    }
}
