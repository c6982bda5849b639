using Google.Rpc;
using Grpc.Core;
using Oversight.BuildingBlocks.Errors;
using Oversight.Governance.Model;
using Oversight.Governance.V1;
using Allocation = Oversight.Governance.V1.Allocation;
using LedgerEntry = Oversight.Governance.Model.LedgerEntry;
using LedgerEntryKind = Oversight.Governance.Model.LedgerEntryKind;
using ShareClass = Oversight.Governance.V1.ShareClass;
using ShareClassKind = Oversight.Governance.V1.ShareClassKind;

namespace Oversight.Governance.Tests;

public sealed class ShareLedgerRuleTests
{
    [Fact]
    public void Display_percentages_always_sum_to_exactly_100_and_stay_within_a_point_of_exact()
    {
        var random = new Random(20261128);
        for (var round = 0; round < 2000; round++)
        {
            var holdings = Enumerable.Range(0, random.Next(1, 12))
                .Select(i => ($"h{i}", (long)random.Next(0, 3) switch { 0 => random.Next(1, 10), 1 => random.Next(1, 100_000), _ => random.NextInt64(1, 10_000_000_000) }))
                .ToList();
            var total = holdings.Sum(h => h.Item2);
            var points = ShareLedger.BasisPoints(holdings, total);
            Assert.Equal(10_000, points.Values.Sum());
            foreach (var (holder, quantity) in holdings)
            {
                var exact = (double)quantity * 10_000 / total;
                Assert.InRange(points[holder], Math.Floor(exact), Math.Floor(exact) + 1);
            }
        }
    }

    [Fact]
    public void Ties_in_the_remainder_go_by_holder_id() =>
        Assert.Equal(new Dictionary<string, int> { ["a"] = 3334, ["b"] = 3333, ["c"] = 3333 }, ShareLedger.BasisPoints([("c", 1), ("a", 1), ("b", 1)], 3));

    [Fact]
    public void Replaying_the_ledger_to_an_earlier_point_gives_that_point_s_holdings()
    {
        Model.ShareClass[] classes = [new("ordinary", Model.ShareClassKind.Ordinary, 10, 1_000, true), new("management", Model.ShareClassKind.Management, 0, 1, false)];
        var t = DateTimeOffset.UnixEpoch;
        LedgerEntry[] ledger =
        [
            new(1, LedgerEntryKind.Issuance, "ordinary", null, "shopwave", 600, t, "founding"),
            new(2, LedgerEntryKind.Issuance, "ordinary", null, "paylink", 400, t, "founding"),
            new(3, LedgerEntryKind.Issuance, "management", null, "state-investor", 1, t, "founding"),
            new(4, LedgerEntryKind.Transfer, "ordinary", "shopwave", "paylink", 100, t, "transfer"),
            new(5, LedgerEntryKind.Cancellation, "ordinary", "paylink", null, 500, t, "buy-back"),
        ];

        var founded = ShareLedger.Derive(classes, ledger, 3);
        Assert.Equal((3L, 1000L, 10_000L), (founded.LedgerSequence, founded.OrdinaryOutstanding, founded.TotalVotingPower));
        Assert.Equal([("shopwave", 6000), ("paylink", 4000), ("state-investor", 0)], founded.Holdings.Select(h => (h.HolderId, h.OrdinaryBasisPoints)));

        var now = ShareLedger.Derive(classes, ledger, long.MaxValue);
        Assert.Equal((5L, 500L), (now.LedgerSequence, now.OrdinaryOutstanding));
        Assert.Equal([("shopwave", 500L, 10_000), ("state-investor", 0L, 0)], now.Holdings.Select(h => (h.HolderId, h.OrdinaryShares, h.OrdinaryBasisPoints)));
        Assert.Equal(1, now.Holdings.Single(h => h.HolderId == "state-investor").ManagementShares);
    }

    [Fact]
    public void Founding_rules_name_each_problem()
    {
        var violations = new FieldViolations();
        FoundingRules.Validate(
            [new("ordinary", Model.ShareClassKind.Ordinary, 0, 100, true), new("mgmt", Model.ShareClassKind.Management, 1, 2, true)],
            [new("shopwave", "ordinary", 80), new("paylink", "ordinary", 30), new("x", "nope", 0)],
            violations);
        Assert.Equal(
            ["share_classes[0].votes_per_share", "share_classes[1]", "allocations[2].class_id", "allocations[2].quantity", "allocations"],
            violations.Items.Select(v => v.Field));
    }
}

public sealed class FoundingTests : IAsyncLifetime
{
    private GovernanceTestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await GovernanceTestHost.StartAsync();
        foreach (var (id, kind) in new[] { ("shopwave", OrganisationKind.Platform), ("paylink", OrganisationKind.Platform), ("state-investor", OrganisationKind.StateInvestor), ("bureau", OrganisationKind.Institution) })
        {
            await _host.Organisations().RegisterOrganisationAsync(new RegisterOrganisationRequest { RequestId = id, OrganisationId = id, Kind = kind, Name = id, Jurisdiction = "CN" });
        }
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private static FoundVentureRequest Founding(string requestId = "found") => new()
    {
        RequestId = requestId,
        ShareClasses =
        {
            new ShareClass { Id = "ordinary", Kind = ShareClassKind.Ordinary, VotesPerShare = 1, Authorised = 10_000, Transferable = true },
            new ShareClass { Id = "management", Kind = ShareClassKind.Management, VotesPerShare = 0, Authorised = 1 },
        },
        Allocations =
        {
            new Allocation { HolderId = "shopwave", ClassId = "ordinary", Quantity = 3_000 },
            new Allocation { HolderId = "paylink", ClassId = "ordinary", Quantity = 2_000 },
            new Allocation { HolderId = "state-investor", ClassId = "ordinary", Quantity = 1_000 },
            new Allocation { HolderId = "state-investor", ClassId = "management", Quantity = 1 },
        },
    };

    [Fact]
    public async Task The_venture_is_founded_once_and_its_cap_table_is_derived()
    {
        var table = (await _host.Shares().FoundVentureAsync(Founding())).CapTable;
        Assert.Equal((6_000L, 6_000L, 4L), (table.OrdinaryOutstanding, table.TotalVotingPower, table.LedgerSequence));
        Assert.Equal([("shopwave", 5000), ("paylink", 3333), ("state-investor", 1667)], table.Holdings.Select(h => (h.HolderId, h.OrdinaryBasisPoints)));
        Assert.Equal(1, table.Holdings.Single(h => h.HolderId == "state-investor").ManagementShares);

        Assert.Equal(table, (await _host.Shares().FoundVentureAsync(Founding())).CapTable);
        var again = await Assert.ThrowsAsync<RpcException>(() => _host.Shares().FoundVentureAsync(Founding("again")).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);

        var asOfFirst = (await _host.Shares("shopwave", "platform").GetCapTableAsync(new GetCapTableRequest { AsOfSequence = 1 })).CapTable;
        Assert.Equal([("shopwave", 10_000)], asOfFirst.Holdings.Select(h => (h.HolderId, h.OrdinaryBasisPoints)));

        var ledger = await _host.Shares().ListLedgerEntriesAsync(new ListLedgerEntriesRequest { PageSize = 3 });
        var rest = await _host.Shares().ListLedgerEntriesAsync(new ListLedgerEntriesRequest { PageSize = 3, PageToken = ledger.NextPageToken });
        Assert.Equal([1L, 2, 3, 4], ledger.Entries.Concat(rest.Entries).Select(e => e.Sequence));
        Assert.All(ledger.Entries, e => Assert.Equal(("founding", V1.LedgerEntryKind.Issuance), (e.Reason, e.Kind)));
    }

    [Fact]
    public async Task Only_the_operator_founds_and_only_parties_read_the_cap_table()
    {
        var regulatorFounds = await Assert.ThrowsAsync<RpcException>(() => _host.Shares("central-bank", "regulator").FoundVentureAsync(Founding()).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, regulatorFounds.StatusCode);
        var notFounded = await Assert.ThrowsAsync<RpcException>(() => _host.Shares().GetCapTableAsync(new GetCapTableRequest()).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, notFounded.StatusCode);

        await _host.Shares().FoundVentureAsync(Founding());
        Assert.NotNull((await _host.Shares("central-bank", "regulator").GetCapTableAsync(new GetCapTableRequest())).CapTable);
        var outsider = await Assert.ThrowsAsync<RpcException>(() => _host.Shares("bureau", "institution").GetCapTableAsync(new GetCapTableRequest()).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, outsider.StatusCode);
    }

    [Fact]
    public async Task Founders_must_be_registered_shareholder_kinds_and_the_management_share_goes_to_the_state_investor()
    {
        var request = Founding();
        request.Allocations[3].HolderId = "shopwave";
        request.Allocations[2].HolderId = "bureau";
        var exception = await Assert.ThrowsAsync<RpcException>(() => _host.Shares().FoundVentureAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, exception.StatusCode);
        Assert.Equal(["allocations[2].holder_id", "allocations[3].holder_id"],
            exception.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field));
        var table = await Assert.ThrowsAsync<RpcException>(() => _host.Shares().GetCapTableAsync(new GetCapTableRequest()).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, table.StatusCode);
    }
}
