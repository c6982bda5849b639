using Grpc.Core;
using Oversight.Governance.V1;
using Oversight.Testing;

namespace Oversight.Governance.Tests;

/// <summary>
/// Issuing and cancelling shares by proposal, the regulator's cancellation of a proposal, withdrawn
/// appointments and the lists, on the founded venture (6,100 of 10,000 authorised ordinary shares).
/// </summary>
public sealed class CapitalChangeTests : FoundedVentureTests
{
    private static ProposalAction Issue(params (string Holder, long Quantity)[] lines) =>
        new() { IssueShares = new IssueShares { Allocations = { lines.Select(l => new Allocation { HolderId = l.Holder, ClassId = "ordinary", Quantity = l.Quantity }) } } };

    private static ProposalAction Cancel(params (string Holder, long Quantity)[] lines) =>
        new() { CancelShares = new CancelShares { Cancellations = { lines.Select(l => new Allocation { HolderId = l.Holder, ClassId = "ordinary", Quantity = l.Quantity }) } } };

    private async Task<CapitalChange> ChangeAsync(string id) =>
        (await Host.Shares().GetCapitalChangeAsync(new GetCapitalChangeRequest { CapitalChangeId = id })).CapitalChange;

    private async Task<Dictionary<string, long>> HoldingsAsync() =>
        (await Host.Shares().GetCapTableAsync(new GetCapTableRequest())).CapTable.Holdings.ToDictionary(h => h.HolderId, h => h.OrdinaryShares);

    [Fact]
    public async Task An_issuance_below_the_threshold_settles_when_its_proposal_passes()
    {
        var change = await ChangeAsync(await PassAsync(Issue(("dashfood", 100))));
        Assert.Equal((CapitalChangeKind.Issuance, CapitalChangeState.Settled, ""), (change.Kind, change.State, change.ApprovalReason));

        var table = (await Host.Shares().GetCapTableAsync(new GetCapTableRequest())).CapTable;
        Assert.Equal((6_200L, 200L), (table.OrdinaryOutstanding, table.Holdings.Single(h => h.HolderId == "dashfood").OrdinaryShares));
        var entries = (await Host.Shares().ListLedgerEntriesAsync(new ListLedgerEntriesRequest { PageSize = 500 })).Entries;
        var last = entries[^1];
        Assert.Equal((LedgerEntryKind.Issuance, "dashfood", 100L, $"issuance {change.Id}", change.LedgerSequence),
            (last.Kind, last.ToHolderId, last.Quantity, last.Reason, last.Sequence));
    }

    [Fact]
    public async Task An_issuance_to_a_new_holder_or_to_one_at_the_threshold_waits_for_the_regulator()
    {
        var id = await PassAsync(Issue(("newco", 500), ("paylink", 10)));
        var waiting = await ChangeAsync(id);
        Assert.Equal(CapitalChangeState.AwaitingRegulator, waiting.State);
        Assert.Contains("'newco' is not yet a shareholder", waiting.ApprovalReason, StringComparison.Ordinal);
        Assert.Contains("'paylink' with its affiliates would hold 2010 of 6610", waiting.ApprovalReason, StringComparison.Ordinal);
        Assert.False((await HoldingsAsync()).ContainsKey("newco"));

        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => Host.Shares().ApproveCapitalChangeAsync(
            new ApproveCapitalChangeRequest { RequestId = "op", CapitalChangeId = id }).ResponseAsync);
        var approved = (await Host.Shares("central-bank", "regulator").ApproveCapitalChangeAsync(
            new ApproveCapitalChangeRequest { RequestId = "ok", CapitalChangeId = id, Reason = "fit and proper" })).CapitalChange;
        Assert.Equal((CapitalChangeState.Settled, "fit and proper"), (approved.State, approved.DecisionReason));
        Assert.Equal((500L, 2_010L), ((await HoldingsAsync())["newco"], (await HoldingsAsync())["paylink"]));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => Host.Shares("central-bank", "regulator").ApproveCapitalChangeAsync(
            new ApproveCapitalChangeRequest { RequestId = "again", CapitalChangeId = id }).ResponseAsync);

        var refused = await PassAsync(Issue(("shopwave", 1)));
        var rejected = (await Host.Shares("central-bank", "regulator").RejectCapitalChangeAsync(
            new RejectCapitalChangeRequest { RequestId = "no", CapitalChangeId = refused, Reason = "concentration" })).CapitalChange;
        Assert.Equal(CapitalChangeState.Rejected, rejected.State);
        Assert.Equal(3_000L, (await HoldingsAsync())["shopwave"]);
        var listed = await Host.Shares("central-bank", "regulator").ListCapitalChangesAsync(new ListCapitalChangesRequest { State = CapitalChangeState.Rejected });
        Assert.Equal(refused, Assert.Single(listed.CapitalChanges).Id);
    }

    [Fact]
    public async Task Outstanding_shares_never_exceed_the_authorised_and_a_change_the_ledger_cannot_take_lapses()
    {
        Assert.Equal(["action.issue_shares.allocations"], await RpcAssert.InvalidFieldsAsync(() => ProposeAsync(Issue(("dashfood", 3_901)), V1.ProposalCategory.Special)));
        Assert.Equal(["action.cancel_shares.cancellations"], await RpcAssert.InvalidFieldsAsync(() => ProposeAsync(Cancel(("dashfood", 101)), V1.ProposalCategory.Special)));

        // Two issuances, each within the authorised shares on its own: the regulator can settle only one.
        var first = await PassAsync(Issue(("dashfood", 3_000)));
        var second = await PassAsync(Issue(("dashfood", 3_000)));
        var regulator = Host.Shares("central-bank", "regulator");
        await regulator.ApproveCapitalChangeAsync(new ApproveCapitalChangeRequest { RequestId = "a1", CapitalChangeId = first });
        var full = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => regulator.ApproveCapitalChangeAsync(
            new ApproveCapitalChangeRequest { RequestId = "a2", CapitalChangeId = second }).ResponseAsync);
        Assert.Contains("exceed the 10000 authorised", full.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(9_100, (await Host.Shares().GetCapTableAsync(new GetCapTableRequest())).CapTable.OrdinaryOutstanding);

        // Two cancellations passed together, each possible alone: the second finds too little left and lapses.
        var a = await ProposeAsync(Cancel(("paylink", 1_500)), V1.ProposalCategory.Special);
        var b = await ProposeAsync(Cancel(("paylink", 1_500)), V1.ProposalCategory.Special);
        Host.Time.Advance(TimeSpan.FromDays(7));
        foreach (var proposal in new[] { a, b })
        {
            await VoteAsync("shopwave", proposal.Id, V1.VoteChoice.For);
            await VoteAsync("dashfood", proposal.Id, V1.VoteChoice.For);
        }

        await CloseAsync(a.Id);
        var states = new List<CapitalChange>();
        foreach (var proposal in new[] { a, b })
        {
            states.Add(await ChangeAsync((await Host.Proposals("shopwave").GetProposalAsync(new GetProposalRequest { ProposalId = proposal.Id })).Proposal.CapitalChangeId));
        }

        Assert.Equal([CapitalChangeState.Settled, CapitalChangeState.Lapsed], states.Select(s => s.State).Order());
        Assert.Contains("fewer than the 1500 to cancel", states.Single(s => s.State == CapitalChangeState.Lapsed).DecisionReason, StringComparison.Ordinal);
        Assert.Equal(500L, (await HoldingsAsync())["paylink"]);
    }

    [Fact]
    public async Task A_cancellation_that_lifts_another_holder_to_the_threshold_waits_for_the_regulator()
    {
        // dashfood's 100 of 2,001 is one share's worth below 5%: settles at once.
        var below = await ChangeAsync(await PassAsync(Cancel(("shopwave", 3_000), ("paylink", 1_099))));
        Assert.Equal(CapitalChangeState.Settled, below.State);
        Assert.Equal(2_001, (await Host.Shares().GetCapTableAsync(new GetCapTableRequest())).CapTable.OrdinaryOutstanding);

        // 100 of 2,000 is exactly 5%, inclusive: the regulator must approve.
        Proposer = "paylink";
        var proposal = await ProposeAsync(Cancel(("paylink", 1)), V1.ProposalCategory.Special);
        Host.Time.Advance(TimeSpan.FromDays(7));
        await VoteAsync("paylink", proposal.Id, V1.VoteChoice.For);
        await VoteAsync("state-investor", proposal.Id, V1.VoteChoice.For, "state_investor");
        var exactly = await ChangeAsync((await CloseAsync(proposal.Id)).CapitalChangeId);
        Assert.Equal(CapitalChangeState.AwaitingRegulator, exactly.State);
        Assert.Contains("'dashfood' with its affiliates would hold 100 of 2000", exactly.ApprovalReason, StringComparison.Ordinal);
        Assert.Equal(901L, (await HoldingsAsync())["paylink"]);
    }

    [Fact]
    public async Task Changes_of_capital_need_a_special_proposal_and_well_formed_lines()
    {
        Assert.Equal(["category"], await RpcAssert.InvalidFieldsAsync(() => ProposeAsync(Issue(("dashfood", 1)))));
        Assert.Equal(["action.issue_shares.allocations"], await RpcAssert.InvalidFieldsAsync(() => ProposeAsync(Issue(), V1.ProposalCategory.Special)));

        var bad = Issue(("dashfood", 0), ("dashfood", 1), ("bureau", 1));
        bad.IssueShares.Allocations[2].ClassId = "management";
        Assert.Equal(["action.issue_shares.allocations[0].quantity", "action.issue_shares.allocations[1].holder_id"],
            await RpcAssert.InvalidFieldsAsync(() => ProposeAsync(bad, V1.ProposalCategory.Special)));

        var wrongKind = Issue(("bureau", 1), ("dashfood", 1));
        wrongKind.IssueShares.Allocations[1].ClassId = "management";
        Assert.Equal(["action.issue_shares.allocations[0].holder_id", "action.issue_shares.allocations[1].class_id"],
            await RpcAssert.InvalidFieldsAsync(() => ProposeAsync(wrongKind, V1.ProposalCategory.ReservedMatter)));
    }

    [Fact]
    public async Task The_regulator_cancels_a_proposal_before_its_tally_and_nothing_is_carried_out()
    {
        var proposal = await ProposeAsync(Issue(("dashfood", 100)), V1.ProposalCategory.Special);
        Host.Time.Advance(TimeSpan.FromDays(7));
        await VoteAsync("shopwave", proposal.Id, V1.VoteChoice.For);
        await VoteAsync("paylink", proposal.Id, V1.VoteChoice.For);

        var regulator = Host.Proposals("central-bank", "regulator");
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => Host.Proposals("operator", "operator").CancelProposalAsync(
            new CancelProposalRequest { RequestId = "c0", ProposalId = proposal.Id, Reason = "no" }).ResponseAsync);
        Assert.Equal(["reason"], await RpcAssert.InvalidFieldsAsync(() => regulator.CancelProposalAsync(new CancelProposalRequest { RequestId = "c1", ProposalId = proposal.Id }).ResponseAsync));
        var cancelled = (await regulator.CancelProposalAsync(new CancelProposalRequest { RequestId = "c2", ProposalId = proposal.Id, Reason = "unlawful dilution" })).Proposal;
        Assert.Equal((V1.ProposalState.Cancelled, "unlawful dilution"), (cancelled.State, cancelled.EndReason));

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => VoteAsync("dashfood", proposal.Id, V1.VoteChoice.For));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => regulator.CancelProposalAsync(
            new CancelProposalRequest { RequestId = "c3", ProposalId = proposal.Id, Reason = "again" }).ResponseAsync);
        var after = await CloseAsync(proposal.Id);
        Assert.Equal((V1.ProposalState.Cancelled, "", (TallyResult?)null), (after.State, after.CapitalChangeId, after.Tally));
        Assert.Equal(6_100, (await Host.Shares().GetCapTableAsync(new GetCapTableRequest())).CapTable.OrdinaryOutstanding);

        var passed = await PassProposalAsync(new ProposalAction { PlainResolution = new PlainResolution { Text = "Resolved." } });
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => regulator.CancelProposalAsync(
            new CancelProposalRequest { RequestId = "c4", ProposalId = passed.Id, Reason = "too late" }).ResponseAsync);
    }

    [Fact]
    public async Task Proposals_transfers_and_changes_are_listed_by_state_newest_first_in_pages()
    {
        var passed = await PassProposalAsync(new ProposalAction { PlainResolution = new PlainResolution { Text = "Resolved." } });
        var scheduled = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            Host.Time.Advance(TimeSpan.FromSeconds(1));
            scheduled.Add((await ProposeAsync()).Id);
        }

        var reader = Host.Proposals("dashfood");
        var first = await reader.ListProposalsAsync(new ListProposalsRequest { State = V1.ProposalState.Scheduled, PageSize = 2 });
        var second = await reader.ListProposalsAsync(new ListProposalsRequest { State = V1.ProposalState.Scheduled, PageSize = 2, PageToken = first.NextPageToken });
        Assert.Equal(Enumerable.Reverse(scheduled), first.Proposals.Concat(second.Proposals).Select(p => p.Id));
        Assert.Equal("", second.NextPageToken);
        Assert.Equal(passed.Id, Assert.Single((await reader.ListProposalsAsync(new ListProposalsRequest { State = V1.ProposalState.Passed })).Proposals).Id);
        Assert.Equal(4, (await reader.ListProposalsAsync(new ListProposalsRequest())).Proposals.Count);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => Host.Proposals("bureau", "institution").ListProposalsAsync(new ListProposalsRequest()).ResponseAsync);
        Assert.Equal(["state", "page_token"], await RpcAssert.InvalidFieldsAsync(() => reader.ListProposalsAsync(
            new ListProposalsRequest { State = (V1.ProposalState)42, PageToken = "not a token" }).ResponseAsync));

        var shopwave = Host.Shares("shopwave", "platform");
        Host.Time.Advance(TimeSpan.FromSeconds(1));
        var settled = (await shopwave.RequestShareTransferAsync(new RequestShareTransferRequest { RequestId = "t1", ClassId = "ordinary", BuyerId = "dashfood", Quantity = 1 })).Transfer;
        Host.Time.Advance(TimeSpan.FromSeconds(1));
        var waiting = (await shopwave.RequestShareTransferAsync(new RequestShareTransferRequest { RequestId = "t2", ClassId = "ordinary", BuyerId = "newco", Quantity = 1 })).Transfer;
        var regulator = Host.Shares("central-bank", "regulator");
        Assert.Equal(waiting.Id, Assert.Single((await regulator.ListShareTransfersAsync(
            new ListShareTransfersRequest { State = ShareTransferState.AwaitingRegulator })).Transfers).Id);
        Assert.Equal([waiting.Id, settled.Id], (await regulator.ListShareTransfersAsync(new ListShareTransfersRequest())).Transfers.Select(t => t.Id));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => shopwave.ListShareTransfersAsync(new ListShareTransfersRequest()).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => shopwave.ListCapitalChangesAsync(new ListCapitalChangesRequest()).ResponseAsync);
    }

    [Fact]
    public async Task The_operator_withdraws_an_appointment_the_regulator_has_not_decided()
    {
        var id = await PassAsync(new ProposalAction { AppointExecutive = new AppointExecutive { PersonName = "Li Wei", Role = "ceo" } });
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => Host.Executives().WithdrawAppointmentAsync(
            new WithdrawAppointmentRequest { RequestId = "w0", AppointmentId = id, Reason = "declined" }).ResponseAsync);
        var withdrawn = (await Host.Executives("operator", "operator").WithdrawAppointmentAsync(
            new WithdrawAppointmentRequest { RequestId = "w1", AppointmentId = id, Reason = "the candidate declined" })).Appointment;
        Assert.Equal((AppointmentState.Withdrawn, "the candidate declined"), (withdrawn.State, withdrawn.DecisionReason));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => Host.Executives().ApproveAppointmentAsync(
            new ApproveAppointmentRequest { RequestId = "a", AppointmentId = id }).ResponseAsync);
        Assert.Empty((await Host.Executives().ListExecutivesInOfficeAsync(new ListExecutivesInOfficeRequest())).Appointments);
    }
}
