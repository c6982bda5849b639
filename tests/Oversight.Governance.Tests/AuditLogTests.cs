using Microsoft.Extensions.DependencyInjection;
using Oversight.Audit.V1;
using Oversight.BuildingBlocks.Audit;
using Oversight.Governance.Infrastructure;

namespace Oversight.Governance.Tests;

/// <summary>Governance's audit on its Merkle log: the rows of the audits kept before it are carried over once.</summary>
public sealed class AuditLogTests : IAsyncLifetime
{
    private GovernanceTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await GovernanceTestHost.StartAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task Rows_of_the_audits_kept_before_the_log_are_carried_onto_it_once_oldest_first_with_their_times()
    {
        var before = await _host.ScalarAsync("SELECT size FROM audit_log_head");
        var t0 = _host.Time.GetUtcNow().ToUnixTimeMilliseconds() - 60_000;
        await using (var connection = await _host.Database.OpenAsync(CancellationToken.None))
        {
            await Dapper.SqlMapper.ExecuteAsync(connection, """
                INSERT INTO governance_audit (at_ms, actor_id, actor_kind, action, target, detail)
                VALUES (@T1, 'operator', 'operator', 'organisation.registered', 'organisation/old-shop', 'platform Old Shop (CN)'),
                       (@T3, 'central-bank', 'regulator', 'exchange.frozen', 'exchange', 'an inquiry');
                INSERT INTO access_denial (denied_at_ms, caller_id, caller_kind, method, resource, reason)
                VALUES (@T2, 'shopwave', 'platform', '/oversight.governance.v1.OrganisationService/RegisterOrganisation', '', 'Only the operator registers.');
                """, new { T1 = t0 + 1, T2 = t0 + 2, T3 = t0 + 3 });
        }

        var carryOver = _host.Services.GetRequiredService<LegacyAuditCarryOver<GovernanceDatabase>>();
        Assert.Equal(3, await carryOver.CarryAsync(CancellationToken.None));
        Assert.Equal(0, await carryOver.CarryAsync(CancellationToken.None));
        Assert.Equal(0, await _host.ScalarAsync("SELECT COUNT(*) FROM governance_audit"));
        Assert.Equal(0, await _host.ScalarAsync("SELECT COUNT(*) FROM access_denial"));

        var carried = (await _host.Audit().ListEntriesAsync(new ListEntriesRequest())).Entries.Where(e => e.Sequence >= before).ToList();
        Assert.Equal(
            [
                ("organisation.registered", "organisation/old-shop", "succeeded", t0 + 1),
                ("access.denied", "/oversight.governance.v1.OrganisationService/RegisterOrganisation", "refused", t0 + 2),
                ("exchange.frozen", "exchange", "succeeded", t0 + 3),
            ],
            carried.Select(e => (e.Action, e.Resource, e.Outcome, e.RecordTime.ToDateTimeOffset().ToUnixTimeMilliseconds())));
        Assert.Equal("/oversight.governance.v1.OrganisationService/RegisterOrganisation", carried[1].Detail["method"]);

        // On the log they are entries like any other: the whole log still verifies.
        var report = await _host.Audit().VerifyLogAsync(new VerifyLogRequest());
        Assert.Empty(report.Problems);
        Assert.Equal(before + 3, report.EntriesChecked);
    }
}
