using Google.Rpc;
using Grpc.Core;
using Oversight.Governance.V1;

namespace Oversight.Governance.Tests;

/// <summary>Transfers against a founded venture of 6,100 ordinary shares; the threshold is 5 % (305 shares), inclusive.</summary>
public sealed class ShareTransferTests : FoundedVentureTests
{
    private async Task<ShareTransfer> TransferAsync(string seller, string buyer, long quantity, string classId = "ordinary") =>
        (await Host.Shares(seller, "platform").RequestShareTransferAsync(new RequestShareTransferRequest
        {
            RequestId = Guid.NewGuid().ToString(), ClassId = classId, BuyerId = buyer, Quantity = quantity,
        })).Transfer;

    private async Task<long> HeldAsync(string holder) =>
        (await Host.Shares().GetCapTableAsync(new GetCapTableRequest())).CapTable.Holdings.SingleOrDefault(h => h.HolderId == holder)?.OrdinaryShares ?? 0;

    [Fact]
    public async Task One_share_below_the_threshold_settles_at_once_and_exactly_at_it_waits_for_the_regulator()
    {
        var below = await TransferAsync("shopwave", "dashfood", 204);
        Assert.Equal(ShareTransferState.Settled, below.State);
        Assert.True(below.LedgerSequence > 0);
        Assert.Equal(304, await HeldAsync("dashfood"));

        var at = await TransferAsync("shopwave", "dashfood", 1);
        Assert.Equal(ShareTransferState.AwaitingRegulator, at.State);
        Assert.Contains("305 of 6100", at.ApprovalReason, StringComparison.Ordinal);
        Assert.Equal(304, await HeldAsync("dashfood"));

        var approved = (await Host.Shares("central-bank", "regulator").ApproveShareTransferAsync(
            new ApproveShareTransferRequest { RequestId = "ok", TransferId = at.Id, Reason = "fit and proper" })).Transfer;
        Assert.Equal((ShareTransferState.Settled, 2L), (approved.State, approved.Version));
        Assert.Equal(305, await HeldAsync("dashfood"));
        Assert.Equal(2_795, await HeldAsync("shopwave"));
    }

    [Fact]
    public async Task A_new_shareholder_needs_the_regulator_who_may_refuse()
    {
        var transfer = await TransferAsync("shopwave", "newco", 1);
        Assert.Equal(ShareTransferState.AwaitingRegulator, transfer.State);
        Assert.Contains("not yet a shareholder", transfer.ApprovalReason, StringComparison.Ordinal);

        var rejected = (await Host.Shares("central-bank", "regulator").RejectShareTransferAsync(
            new RejectShareTransferRequest { RequestId = "no", TransferId = transfer.Id, Reason = "source of funds unclear" })).Transfer;
        Assert.Equal((ShareTransferState.Rejected, "source of funds unclear"), (rejected.State, rejected.DecisionReason));
        Assert.Equal(0, await HeldAsync("newco"));
        var late = await Assert.ThrowsAsync<RpcException>(() => Host.Shares("central-bank", "regulator").ApproveShareTransferAsync(
            new ApproveShareTransferRequest { RequestId = "late", TransferId = transfer.Id }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, late.StatusCode);
    }

    [Fact]
    public async Task Affiliates_holdings_count_towards_the_threshold()
    {
        await Host.Organisations().UpdateOrganisationAsync(new UpdateOrganisationRequest
        {
            RequestId = "aff", OrganisationId = "paylink", Name = "paylink", Jurisdiction = "CN", Affiliations = { "dashfood" },
        });
        var transfer = await TransferAsync("shopwave", "dashfood", 1);
        Assert.Equal(ShareTransferState.AwaitingRegulator, transfer.State);
        Assert.Contains("2101 of 6100", transfer.ApprovalReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sellers_cannot_sell_what_they_do_not_hold_nor_the_management_share()
    {
        var tooMany = await Assert.ThrowsAsync<RpcException>(() => TransferAsync("dashfood", "shopwave", 101));
        Assert.Equal("INSUFFICIENT_SHARES", tooMany.GetRpcStatus()?.GetDetail<PreconditionFailure>()?.Violations.Single().Type);

        var management = await Assert.ThrowsAsync<RpcException>(() => Host.Shares("state-investor", "state_investor").RequestShareTransferAsync(
            new RequestShareTransferRequest { RequestId = "m", ClassId = "management", BuyerId = "shopwave", Quantity = 1 }).ResponseAsync);
        Assert.Equal("NOT_TRANSFERABLE", management.GetRpcStatus()?.GetDetail<PreconditionFailure>()?.Violations.Single().Type);

        var zero = await Assert.ThrowsAsync<RpcException>(() => TransferAsync("shopwave", "paylink", 0));
        Assert.Equal(["quantity"], zero.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field));
        var bad = await Assert.ThrowsAsync<RpcException>(() => TransferAsync("shopwave", "shopwave", 1, classId: "preferred"));
        Assert.Equal(["class_id", "buyer_id"], bad.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field));
    }

    [Fact]
    public async Task Racing_approvals_never_settle_more_than_the_seller_holds()
    {
        var first = await TransferAsync("shopwave", "newco", 2_000);
        var second = await TransferAsync("shopwave", "newco", 2_000);
        var regulator = Host.Shares("central-bank", "regulator");
        var outcomes = await Task.WhenAll(new[] { first, second }.Select(async t =>
        {
            try
            {
                await regulator.ApproveShareTransferAsync(new ApproveShareTransferRequest { RequestId = $"approve-{t.Id}", TransferId = t.Id });
                return StatusCode.OK;
            }
            catch (RpcException exception)
            {
                return exception.StatusCode;
            }
        }));

        Assert.Equal(1, outcomes.Count(o => o == StatusCode.OK));
        Assert.Contains(outcomes.Single(o => o != StatusCode.OK), new[] { StatusCode.FailedPrecondition, StatusCode.Aborted });
        var table = (await Host.Shares().GetCapTableAsync(new GetCapTableRequest())).CapTable;
        Assert.Equal(6_100, table.OrdinaryOutstanding);
        Assert.Equal((1_000L, 2_000L), (table.Holdings.Single(h => h.HolderId == "shopwave").OrdinaryShares, table.Holdings.Single(h => h.HolderId == "newco").OrdinaryShares));
        Assert.Equal(10_000, table.Holdings.Sum(h => h.OrdinaryBasisPoints));
    }

    [Fact]
    public async Task Only_the_seller_withdraws_and_only_the_regulator_decides()
    {
        var transfer = await TransferAsync("shopwave", "newco", 10);
        var notRegulator = await Assert.ThrowsAsync<RpcException>(() => Host.Shares("operator", "operator").ApproveShareTransferAsync(
            new ApproveShareTransferRequest { RequestId = "x", TransferId = transfer.Id }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, notRegulator.StatusCode);
        var notSeller = await Assert.ThrowsAsync<RpcException>(() => Host.Shares("paylink", "platform").CancelShareTransferAsync(
            new CancelShareTransferRequest { RequestId = "y", TransferId = transfer.Id }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, notSeller.StatusCode);

        var cancelled = (await Host.Shares("shopwave", "platform").CancelShareTransferAsync(
            new CancelShareTransferRequest { RequestId = "z", TransferId = transfer.Id, Reason = "changed our mind" })).Transfer;
        Assert.Equal(ShareTransferState.Cancelled, cancelled.State);
        Assert.Equal(cancelled, (await Host.Shares("newco", "platform").GetShareTransferAsync(new GetShareTransferRequest { TransferId = transfer.Id })).Transfer);
    }
}
