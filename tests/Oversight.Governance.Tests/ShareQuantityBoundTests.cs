using Google.Protobuf.WellKnownTypes;
using Oversight.Governance.Model;
using Oversight.Governance.V1;
using Oversight.Testing;
using Allocation = Oversight.Governance.V1.Allocation;
using CancelShares = Oversight.Governance.V1.CancelShares;
using IssueShares = Oversight.Governance.V1.IssueShares;
using ProposalAction = Oversight.Governance.V1.ProposalAction;
using ShareClass = Oversight.Governance.V1.ShareClass;
using ShareClassKind = Oversight.Governance.V1.ShareClassKind;

namespace Oversight.Governance.Tests;

/// <summary>
/// Every share number a caller gives is bounded (<see cref="ShareQuantities"/>), so no holding,
/// total or voting power can overflow: the extremes are INVALID_ARGUMENT naming the field and its
/// bound, and a venture founded at the bounds derives exact numbers.
/// </summary>
public sealed class ShareQuantityBoundTests : IAsyncLifetime
{
    /// <summary>Beyond the bound of a share quantity (2^31 is within it: the hostile corpus covers it on every numeric field).</summary>
    private static readonly long[] Extremes = [long.MaxValue, ShareQuantities.MaxQuantity + 1, -1];

    private GovernanceTestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await GovernanceTestHost.StartAsync();
        var registry = _host.Organisations();
        foreach (var (id, kind) in new[] { ("shopwave", OrganisationKind.Platform), ("paylink", OrganisationKind.Platform), ("central-bank", OrganisationKind.Regulator) })
        {
            await registry.RegisterOrganisationAsync(new RegisterOrganisationRequest
            {
                RequestId = $"register-{id}", OrganisationId = id, Kind = kind, Name = id, Jurisdiction = "CN",
            });
        }
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private static FoundVentureRequest Founding(long votesPerShare, long authorised, params long[] quantities) => new()
    {
        RequestId = Guid.NewGuid().ToString("N"),
        ShareClasses = { new ShareClass { Id = "ordinary", Kind = ShareClassKind.Ordinary, VotesPerShare = votesPerShare, Authorised = authorised, Transferable = true } },
        Allocations = { quantities.Select((q, i) => new Allocation { HolderId = i == 0 ? "shopwave" : "paylink", ClassId = "ordinary", Quantity = q }) },
    };

    [Fact]
    public async Task Authorised_shares_votes_and_allocations_beyond_their_bounds_are_refused_naming_the_field()
    {
        foreach (var extreme in Extremes)
        {
            var fields = await RpcAssert.InvalidFieldsAsync(() => _host.Shares().FoundVentureAsync(Founding(1, extreme, 1)).ResponseAsync);
            Assert.Contains("share_classes[0].authorised", fields);

            fields = await RpcAssert.InvalidFieldsAsync(() => _host.Shares().FoundVentureAsync(Founding(extreme, 1_000, 1)).ResponseAsync);
            Assert.Contains("share_classes[0].votes_per_share", fields);

            fields = await RpcAssert.InvalidFieldsAsync(() => _host.Shares().FoundVentureAsync(Founding(1L << 31, 1_000, 1)).ResponseAsync);
            Assert.Contains("share_classes[0].votes_per_share", fields);

            fields = await RpcAssert.InvalidFieldsAsync(() => _host.Shares().FoundVentureAsync(Founding(1, 1_000, extreme)).ResponseAsync);
            Assert.Contains("allocations[0].quantity", fields);
        }

        var exception = await RpcAssert.FailsAsync(global::Grpc.Core.StatusCode.InvalidArgument,
            () => _host.Shares().FoundVentureAsync(Founding(1, long.MaxValue, long.MaxValue / 2, long.MaxValue / 2)).ResponseAsync);
        Assert.Contains($"must be between 1 and {ShareQuantities.MaxAuthorised}", exception.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_venture_founded_at_the_bounds_derives_exact_voting_power()
    {
        var half = ShareQuantities.MaxAuthorised / 2;
        var founded = await _host.Shares().FoundVentureAsync(Founding(ShareQuantities.MaxVotesPerShare, ShareQuantities.MaxAuthorised, half, half));

        Assert.Equal(ShareQuantities.MaxAuthorised, founded.CapTable.OrdinaryOutstanding);
        Assert.Equal(ShareQuantities.MaxAuthorised * ShareQuantities.MaxVotesPerShare, founded.CapTable.TotalVotingPower);
        Assert.All(founded.CapTable.Holdings, h => Assert.Equal(half * ShareQuantities.MaxVotesPerShare, h.VotingPower));
    }

    [Fact]
    public async Task Transfer_issue_and_cancel_quantities_beyond_their_bound_are_refused_naming_the_field()
    {
        await _host.Shares().FoundVentureAsync(Founding(1, 1_000_000, 600_000, 400_000));
        var now = DateTimeOffset.UtcNow;
        foreach (var extreme in Extremes)
        {
            var fields = await RpcAssert.InvalidFieldsAsync(() => _host.Shares("shopwave", "platform").RequestShareTransferAsync(new RequestShareTransferRequest
            {
                RequestId = Guid.NewGuid().ToString("N"), ClassId = "ordinary", BuyerId = "paylink", Quantity = extreme,
            }).ResponseAsync);
            Assert.Equal(["quantity"], fields);

            foreach (var action in new[]
            {
                new ProposalAction { IssueShares = new IssueShares { Allocations = { new Allocation { HolderId = "shopwave", ClassId = "ordinary", Quantity = extreme } } } },
                new ProposalAction { CancelShares = new CancelShares { Cancellations = { new Allocation { HolderId = "shopwave", ClassId = "ordinary", Quantity = extreme } } } },
            })
            {
                fields = await RpcAssert.InvalidFieldsAsync(() => _host.Proposals("shopwave").CreateProposalAsync(new CreateProposalRequest
                {
                    RequestId = Guid.NewGuid().ToString("N"),
                    Category = V1.ProposalCategory.Special,
                    Title = "Change the capital",
                    Action = action,
                    OpenTime = Timestamp.FromDateTimeOffset(now.AddDays(8)),
                    CloseTime = Timestamp.FromDateTimeOffset(now.AddDays(9)),
                }).ResponseAsync);
                var expected = action.IssueShares is null ? "action.cancel_shares.cancellations[0].quantity" : "action.issue_shares.allocations[0].quantity";
                Assert.Equal([expected], fields);
            }
        }
    }

    [Fact]
    public async Task Page_sizes_and_ledger_points_at_the_extremes_are_answered_not_failed()
    {
        foreach (var pageSize in new[] { int.MaxValue, int.MinValue, -1 })
        {
            Assert.Equal(["page_size"], await RpcAssert.InvalidFieldsAsync(
                () => _host.Shares().ListLedgerEntriesAsync(new ListLedgerEntriesRequest { PageSize = pageSize }).ResponseAsync));
        }

        Assert.Equal(["as_of_sequence"], await RpcAssert.InvalidFieldsAsync(
            () => _host.Shares().GetCapTableAsync(new GetCapTableRequest { AsOfSequence = -1 }).ResponseAsync));
    }
}
