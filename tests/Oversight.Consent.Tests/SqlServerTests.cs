using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Oversight.Consent.V1;
using Oversight.Testing;

namespace Oversight.Consent.Tests;

/// <summary>
/// The Consent module against a real SQL Server, when <c>OVERSIGHT_SQLSERVER</c> names one (for
/// example the Compose <c>sqlserver</c> service). Each run migrates a database of its own and drops
/// it afterwards.
/// </summary>
[Collection("SQL Server")]
public sealed class SqlServerTests
{
    private static async Task<(ConsentTestHost Host, string Database, string Server)> StartAsync()
    {
        var server = await RealInfrastructure.SqlServerAsync();
        var database = $"oversight_consent_test_{Guid.NewGuid():N}";
        var host = await ConsentTestHost.StartAsync(settings =>
        {
            settings["Oversight:Consent:Database:Provider"] = "SqlServer";
            settings["Oversight:Consent:Database:ConnectionString"] = RealInfrastructure.SqlServerDatabase(server, database);
        });
        return (host, database, server);
    }

    private static async Task DropAsync(ConsentTestHost host, string database, string server)
    {
        await host.DisposeAsync();
        await RealInfrastructure.DropSqlServerDatabaseAsync(server, database);
    }

    [Fact]
    public async Task The_consent_lifecycle_runs_on_sql_server()
    {
        var (host, database, server) = await StartAsync();
        try
        {
            var shopwave = host.Consent(ConsentTestHost.Shopwave);
            var grant = host.NewGrant("sql-subject");
            grant.Terms.FrequencyLimit = new FrequencyLimit { MaxDeliveries = 5, Period = FrequencyPeriod.Month };
            var granted = await shopwave.GrantConsentAsync(grant);
            Assert.Equal(granted, await shopwave.GrantConsentAsync(grant));
            Assert.Equal(granted.Consent, (await shopwave.GetConsentAsync(new GetConsentRequest { ConsentId = granted.Consent.Id })).Consent);
            Assert.Equal(Decision.Allow, (await host.CheckAsync("sql-subject")).Decision.Decision);

            var paused = await shopwave.PauseConsentAsync(new PauseConsentRequest { RequestId = "p", ConsentId = granted.Consent.Id });
            Assert.Equal(DenyReason.Paused, (await host.CheckAsync("sql-subject", token: paused.ConsistencyToken)).Decision.DenyReason);
            await shopwave.ResumeConsentAsync(new ResumeConsentRequest { RequestId = "r", ConsentId = granted.Consent.Id });
            var amended = await shopwave.AmendConsentAsync(new AmendConsentRequest { RequestId = "a", ConsentId = granted.Consent.Id, Terms = host.NewGrant().Terms });
            var revoked = await shopwave.RevokeConsentAsync(new RevokeConsentRequest { RequestId = "v", ConsentId = amended.Consent.Id });
            Assert.Equal(DenyReason.Revoked, (await host.CheckAsync("sql-subject", token: revoked.ConsistencyToken)).Decision.DenyReason);

            for (var i = 0; i < 7; i++)
            {
                await host.GrantAsync($"sql-page-{i}");
            }

            var page = await shopwave.ListConsentsAsync(new ListConsentsRequest { ControllerId = ConsentTestHost.Shopwave, PageSize = 4 });
            var next = await shopwave.ListConsentsAsync(new ListConsentsRequest { ControllerId = ConsentTestHost.Shopwave, PageSize = 4, PageToken = page.NextPageToken });
            Assert.Equal(9, page.Consents.Concat(next.Consents).Select(c => c.Id).Distinct().Count());

            var batch = await shopwave.BatchCheckConsentAsync(new BatchCheckConsentRequest
            {
                ControllerId = ConsentTestHost.Shopwave, RecipientId = ConsentTestHost.CreditBureau, Purpose = "credit_assessment",
                SubjectIds = { Enumerable.Range(0, 1200).Select(i => $"sql-page-{i}") }, DataCategories = { "user.financial.transactions" },
            });
            Assert.Equal(7, batch.Decisions.Count(d => d.Decision == Decision.Allow));

            var history = await shopwave.ListConsentEventsAsync(new ListConsentEventsRequest { ConsentId = granted.Consent.Id });
            Assert.Equal([ConsentState.Active, ConsentState.Paused, ConsentState.Active, ConsentState.Superseded], history.Events.Select(e => e.State));

            await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
                () => host.Consent(ConsentTestHost.Paylink).RevokeConsentAsync(new RevokeConsentRequest { RequestId = "x", ConsentId = granted.Consent.Id }).ResponseAsync);
            Assert.Single(await host.DenialsAsync());

            host.Time.Advance(TimeSpan.FromDays(31));
            Assert.Equal(7, await host.Services.GetRequiredService<Application.ConsentExpirySweeper>().SweepAsync(CancellationToken.None));
            await ConsentTestHost.EventuallyAsync(async () =>
            {
                await using var connection = await host.Database.OpenAsync(CancellationToken.None);
                return await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, "SELECT COUNT(*) FROM outbox_message WHERE sent_at_ms IS NULL") == 0;
            }, "the relay sends every event from SQL Server");
        }
        finally
        {
            await DropAsync(host, database, server);
        }
    }

    [Fact]
    public async Task Concurrent_duplicates_and_racing_changes_hold_on_sql_server()
    {
        var (host, database, server) = await StartAsync();
        try
        {
            var shopwave = host.Consent(ConsentTestHost.Shopwave);
            var grant = host.NewGrant("sql-race", requestId: "same");
            var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => shopwave.GrantConsentAsync(grant).ResponseAsync));
            Assert.Single(answers.Select(a => a.Consent.Id).Distinct());

            var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
            {
                try
                {
                    await shopwave.RevokeConsentAsync(new RevokeConsentRequest { RequestId = $"rv{i}", ConsentId = answers[0].Consent.Id });
                    return StatusCode.OK;
                }
                catch (RpcException exception)
                {
                    return exception.StatusCode;
                }
            }));
            Assert.Equal(1, outcomes.Count(o => o == StatusCode.OK));
            Assert.All(outcomes.Where(o => o != StatusCode.OK), o => Assert.Contains(o, new[] { StatusCode.Aborted, StatusCode.FailedPrecondition }));
        }
        finally
        {
            await DropAsync(host, database, server);
        }
    }

    [Fact]
    public async Task Subject_ids_compare_exactly_as_on_sqlite()
    {
        var (host, database, server) = await StartAsync();
        try
        {
            await host.GrantAsync("Alice");
            Assert.Equal(Decision.Allow, (await host.CheckAsync("Alice")).Decision.Decision);
            Assert.Equal(DenyReason.NoConsent, (await host.CheckAsync("alice")).Decision.DenyReason);
            var batch = await host.Consent(ConsentTestHost.Shopwave).BatchCheckConsentAsync(new BatchCheckConsentRequest
            {
                ControllerId = ConsentTestHost.Shopwave, RecipientId = ConsentTestHost.CreditBureau, Purpose = "credit_assessment",
                SubjectIds = { "Alice", "alice" }, DataCategories = { "user.financial.transactions" },
            });
            Assert.Equal([Decision.Allow, Decision.Deny], batch.Decisions.Select(d => d.Decision));
        }
        finally
        {
            await DropAsync(host, database, server);
        }
    }

    [Fact]
    public async Task Racing_deliveries_reserve_no_more_uses_than_the_limit_on_sql_server()
    {
        var (host, database, server) = await StartAsync();
        try
        {
            await ReadModelTests.ChecksReserveUsesAsync(host);
        }
        finally
        {
            await DropAsync(host, database, server);
        }
    }

    [Fact]
    public async Task Racing_amendments_lose_with_aborted_on_sql_server()
    {
        var (host, database, server) = await StartAsync();
        try
        {
            var consent = await host.GrantAsync("sql-amend");
            var outcomes = await Task.WhenAll(Enumerable.Range(0, 6).Select(async i =>
            {
                try
                {
                    await host.Consent(ConsentTestHost.Shopwave).AmendConsentAsync(
                        new AmendConsentRequest { RequestId = $"am{i}", ConsentId = consent.Id, Terms = host.NewGrant().Terms });
                    return StatusCode.OK;
                }
                catch (RpcException exception)
                {
                    return exception.StatusCode;
                }
            }));
            Assert.Equal(1, outcomes.Count(o => o == StatusCode.OK));
            Assert.All(outcomes.Where(o => o != StatusCode.OK), o => Assert.Contains(o, new[] { StatusCode.Aborted, StatusCode.FailedPrecondition }));
        }
        finally
        {
            await DropAsync(host, database, server);
        }
    }

    /// <summary>Update-then-insert let two first writers both insert (one failed on the key); the one-statement upsert holds the key range.</summary>
    [Fact]
    public async Task Concurrent_first_events_of_an_organisation_store_it_once_on_sql_server()
    {
        var (host, database, server) = await StartAsync();
        try
        {
            var repository = host.Services.GetRequiredService<Infrastructure.ConsentRepository>();
            for (var round = 0; round < 5; round++)
            {
                var id = $"racing-bank-{round}";
                var stored = await Task.WhenAll(Enumerable.Range(1, 8).Select(async version =>
                {
                    await using var session = await host.Database.BeginAsync(CancellationToken.None);
                    var wrote = await repository.UpsertOrganisationAsync(session, new Model.KnownOrganisation(id, "institution", $"v{version}", "CN", version), host.Time.GetUtcNow());
                    await session.CommitAsync();
                    return wrote;
                }));
                Assert.Contains(true, stored);
                await using var connection = await host.Database.OpenAsync(CancellationToken.None);
                Assert.Equal(8, (await repository.OrganisationAsync(connection, id, null, CancellationToken.None))!.Version);
            }
        }
        finally
        {
            await DropAsync(host, database, server);
        }
    }
}
