using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Oversight.Governance.V1;

namespace Oversight.Governance.Tests;

/// <summary>Proposals and ballots, executives and alliances on the founded venture.</summary>
public sealed class ProposalTests : FoundedVentureTests
{
    [Fact]
    public async Task A_proposal_opens_after_notice_takes_changeable_ballots_and_is_tallied_at_the_close()
    {
        var proposal = await ProposeAsync();
        Assert.Equal((V1.ProposalState.Scheduled, 1, 1L, 2L), (proposal.State, proposal.RuleVersion, proposal.Majority.Numerator, proposal.Majority.Denominator));
        var early = await Assert.ThrowsAsync<RpcException>(() => VoteAsync("paylink", proposal.Id, V1.VoteChoice.For));
        Assert.Equal(StatusCode.FailedPrecondition, early.StatusCode);

        Host.Time.Advance(TimeSpan.FromDays(7));
        await VoteAsync("shopwave", proposal.Id, V1.VoteChoice.For);
        await VoteAsync("paylink", proposal.Id, V1.VoteChoice.Against);
        var changed = await VoteAsync("paylink", proposal.Id, V1.VoteChoice.For);
        Assert.Equal(2_000, changed.Weight);
        await VoteAsync("state-investor", proposal.Id, V1.VoteChoice.Abstain, "state_investor");

        var closed = await CloseAsync(proposal.Id);
        Assert.Equal(V1.ProposalState.Passed, closed.State);
        Assert.Equal((6_100L, 5_000L, 0L, 1_000L), (closed.Tally.EntitledWeight, closed.Tally.ForWeight, closed.Tally.AgainstWeight, closed.Tally.AbstainWeight));
        var late = await Assert.ThrowsAsync<RpcException>(() => VoteAsync("dashfood", proposal.Id, V1.VoteChoice.Against));
        Assert.Equal(StatusCode.FailedPrecondition, late.StatusCode);
    }

    [Fact]
    public async Task Shares_moved_after_the_record_date_do_not_change_the_weights()
    {
        var proposal = await ProposeAsync();
        Host.Time.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));

        // After the opening, shopwave sells 1,000 to paylink (approved by the regulator).
        var transfer = (await Host.Shares("shopwave", "platform").RequestShareTransferAsync(
            new RequestShareTransferRequest { RequestId = "t", ClassId = "ordinary", BuyerId = "paylink", Quantity = 1_000 })).Transfer;
        await Host.Shares("central-bank", "regulator").ApproveShareTransferAsync(new ApproveShareTransferRequest { RequestId = "a", TransferId = transfer.Id });

        Assert.Equal(3_000, (await VoteAsync("shopwave", proposal.Id, V1.VoteChoice.Against)).Weight);
        Assert.Equal(2_000, (await VoteAsync("paylink", proposal.Id, V1.VoteChoice.For)).Weight);
        var closed = await CloseAsync(proposal.Id);
        Assert.Equal((V1.ProposalState.Failed, 2_000L, 3_000L), (closed.State, closed.Tally.ForWeight, closed.Tally.AgainstWeight));
    }

    [Fact]
    public async Task The_state_investor_vetoes_a_reserved_matter()
    {
        var proposal = await ProposeAsync(V1.ProposalCategory.ReservedMatter);
        Assert.Equal((2L, 3L), (proposal.Majority.Numerator, proposal.Majority.Denominator));
        Host.Time.Advance(TimeSpan.FromDays(7));
        await VoteAsync("shopwave", proposal.Id, V1.VoteChoice.For);
        await VoteAsync("paylink", proposal.Id, V1.VoteChoice.For);
        await VoteAsync("state-investor", proposal.Id, V1.VoteChoice.Against, "state_investor");
        Assert.Equal(V1.ProposalState.Vetoed, (await CloseAsync(proposal.Id)).State);
    }

    [Fact]
    public async Task Related_parties_are_recused_from_both_sides_of_the_count()
    {
        var proposal = await ProposeAsync(V1.ProposalCategory.Ordinary, "dashfood");
        Host.Time.Advance(TimeSpan.FromDays(7));
        var recused = await Assert.ThrowsAsync<RpcException>(() => VoteAsync("dashfood", proposal.Id, V1.VoteChoice.For));
        Assert.Equal(StatusCode.FailedPrecondition, recused.StatusCode);
        await VoteAsync("shopwave", proposal.Id, V1.VoteChoice.For);
        var closed = await CloseAsync(proposal.Id);
        Assert.Equal(6_000L, closed.Tally.EntitledWeight);
        Assert.Equal(["dashfood"], closed.Tally.Recused);
        Assert.Equal(V1.ProposalState.Passed, closed.State);
    }

    [Fact]
    public async Task Only_holders_vote_only_holders_and_the_operator_propose_and_notice_is_enforced()
    {
        var proposal = await ProposeAsync();
        Host.Time.Advance(TimeSpan.FromDays(7));
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => VoteAsync("newco", proposal.Id, V1.VoteChoice.For))).StatusCode);
        var byInstitution = await Assert.ThrowsAsync<RpcException>(() => Host.Proposals("bureau", "institution").CreateProposalAsync(new CreateProposalRequest
        {
            RequestId = "x", Category = V1.ProposalCategory.Ordinary, Title = "t", Action = new ProposalAction { PlainResolution = new PlainResolution { Text = "t" } },
            OpenTime = Timestamp.FromDateTimeOffset(Host.Time.GetUtcNow().AddDays(8)), CloseTime = Timestamp.FromDateTimeOffset(Host.Time.GetUtcNow().AddDays(9)),
        }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, byInstitution.StatusCode);

        var hasty = await Assert.ThrowsAsync<RpcException>(() => Host.Proposals("operator", "operator").CreateProposalAsync(new CreateProposalRequest
        {
            RequestId = "y", Category = V1.ProposalCategory.Ordinary, Title = "t", Action = new ProposalAction { RulebookChange = new RulebookChange { Summary = "s" } },
            OpenTime = Timestamp.FromDateTimeOffset(Host.Time.GetUtcNow().AddDays(1)), CloseTime = Timestamp.FromDateTimeOffset(Host.Time.GetUtcNow().AddDays(2)),
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, hasty.StatusCode);
        Assert.Contains("open_time", hasty.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_proposer_withdraws_before_the_opening_only()
    {
        var proposal = await ProposeAsync();
        var notProposer = await Assert.ThrowsAsync<RpcException>(() => Host.Proposals("paylink").WithdrawProposalAsync(
            new WithdrawProposalRequest { RequestId = "w0", ProposalId = proposal.Id }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, notProposer.StatusCode);
        var withdrawn = (await Host.Proposals("shopwave").WithdrawProposalAsync(new WithdrawProposalRequest { RequestId = "w1", ProposalId = proposal.Id, Reason = "moot" })).Proposal;
        Assert.Equal(V1.ProposalState.Withdrawn, withdrawn.State);

        var other = await ProposeAsync();
        Host.Time.Advance(TimeSpan.FromDays(7));
        var tooLate = await Assert.ThrowsAsync<RpcException>(() => Host.Proposals("shopwave").WithdrawProposalAsync(
            new WithdrawProposalRequest { RequestId = "w2", ProposalId = other.Id }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, tooLate.StatusCode);
        Assert.Equal(V1.ProposalState.Withdrawn, (await CloseAsync(proposal.Id)).State);
    }

    private ProposalAction FormAlliance(TimeSpan validFor) => new()
    {
        FormAlliance = new FormAlliance
        {
            InstitutionId = "bureau",
            Scope = new AllianceScope
            {
                Purposes = { "credit_assessment" }, DataCategories = { "user.financial.transactions" }, Fields = { "amount", "merchant" },
                MaxRetention = Duration.FromTimeSpan(TimeSpan.FromDays(90)),
                ValidFrom = Timestamp.FromDateTimeOffset(Host.Time.GetUtcNow()), ValidUntil = Timestamp.FromDateTimeOffset(Host.Time.GetUtcNow() + validFor),
            },
        },
    };

    [Fact]
    public async Task An_alliance_is_active_only_after_a_special_proposal_and_the_regulator_and_every_move_is_an_event()
    {
        var ordinary = await Assert.ThrowsAsync<RpcException>(() => ProposeAsync(FormAlliance(TimeSpan.FromDays(365)), V1.ProposalCategory.Ordinary));
        Assert.Equal(StatusCode.InvalidArgument, ordinary.StatusCode);

        var allianceId = await PassAsync(FormAlliance(TimeSpan.FromDays(365)));
        Assert.Equal(V1.AllianceState.AwaitingRegulator, (await Host.Alliances().GetAllianceAsync(new GetAllianceRequest { AllianceId = allianceId })).Alliance.State);
        var byOperator = await Assert.ThrowsAsync<RpcException>(() => Host.Alliances("operator", "operator").ApproveAllianceAsync(
            new ApproveAllianceRequest { RequestId = "x", AllianceId = allianceId }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, byOperator.StatusCode);

        var active = (await Host.Alliances().ApproveAllianceAsync(new ApproveAllianceRequest { RequestId = "a", AllianceId = allianceId })).Alliance;
        Assert.Equal((V1.AllianceState.Active, "amount"), (active.State, active.Scope.Fields[0]));
        Assert.Equal(V1.AllianceState.Suspended, (await Host.Alliances().SuspendAllianceAsync(
            new SuspendAllianceRequest { RequestId = "s", AllianceId = allianceId, Reason = "audit finding" })).Alliance.State);
        Assert.Equal(V1.AllianceState.Active, (await Host.Alliances().ResumeAllianceAsync(
            new ResumeAllianceRequest { RequestId = "r", AllianceId = allianceId, Reason = "remediated" })).Alliance.State);

        await PassAsync(new ProposalAction { TerminateAlliance = new TerminateAlliance { AllianceId = allianceId } });
        Assert.Equal(V1.AllianceState.Terminated, (await Host.Alliances().GetAllianceAsync(new GetAllianceRequest { AllianceId = allianceId })).Alliance.State);

        foreach (var type in new[] { "AllianceActivated", "AllianceSuspended", "AllianceResumed", "AllianceTerminated" })
        {
            Assert.Equal(1, await Host.ScalarAsync($"SELECT COUNT(*) FROM outbox_message WHERE message_type = 'Oversight.Contracts.Governance.{type}'"));
        }
    }

    [Fact]
    public async Task An_alliance_expires_at_the_end_of_its_validity_and_a_rejected_one_never_activates()
    {
        var expiring = await PassAsync(FormAlliance(TimeSpan.FromDays(20)));
        await Host.Alliances().ApproveAllianceAsync(new ApproveAllianceRequest { RequestId = "a", AllianceId = expiring });
        Host.Time.Advance(TimeSpan.FromDays(20));
        Assert.Equal(1, await Host.Services.GetRequiredService<Application.Alliances>().ExpireDueAsync(CancellationToken.None));
        Assert.Equal(V1.AllianceState.Expired, (await Host.Alliances().GetAllianceAsync(new GetAllianceRequest { AllianceId = expiring })).Alliance.State);

        var refused = await PassAsync(FormAlliance(TimeSpan.FromDays(365)));
        await Host.Alliances().RejectAllianceAsync(new RejectAllianceRequest { RequestId = "no", AllianceId = refused, Reason = "scope too wide" });
        var approveLate = await Assert.ThrowsAsync<RpcException>(() => Host.Alliances().ApproveAllianceAsync(
            new ApproveAllianceRequest { RequestId = "late", AllianceId = refused }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, approveLate.StatusCode);
    }

    private static ProposalAction Appoint(string person, string role) =>
        new() { AppointExecutive = new AppointExecutive { PersonName = person, Role = role } };

    [Fact]
    public async Task A_passed_appointment_waits_for_the_regulator_then_holds_office_from_its_effective_date()
    {
        var appointmentId = await PassAsync(Appoint("Li Wei", "ceo"));
        var pending = (await Host.Executives().GetAppointmentAsync(new GetAppointmentRequest { AppointmentId = appointmentId })).Appointment;
        Assert.Equal((V1.AppointmentState.AwaitingRegulator, "Li Wei", "ceo"), (pending.State, pending.PersonName, pending.Role));
        Assert.Empty((await Host.Executives("shopwave", "platform").ListExecutivesInOfficeAsync(new ListExecutivesInOfficeRequest())).Appointments);

        var notRegulator = await Assert.ThrowsAsync<RpcException>(() => Host.Executives("operator", "operator").ApproveAppointmentAsync(
            new ApproveAppointmentRequest { RequestId = "x", AppointmentId = appointmentId }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, notRegulator.StatusCode);

        var effective = Host.Time.GetUtcNow().AddDays(3);
        var approved = (await Host.Executives().ApproveAppointmentAsync(new ApproveAppointmentRequest
        {
            RequestId = "a", AppointmentId = appointmentId, EffectiveTime = Timestamp.FromDateTimeOffset(effective),
        })).Appointment;
        Assert.Equal(V1.AppointmentState.Approved, approved.State);

        Task<ListExecutivesInOfficeResponse> On(DateTimeOffset at) =>
            Host.Executives("shopwave", "platform").ListExecutivesInOfficeAsync(new ListExecutivesInOfficeRequest { AtTime = Timestamp.FromDateTimeOffset(at) }).ResponseAsync;
        Assert.Empty((await On(effective.AddSeconds(-1))).Appointments);
        Assert.Equal("Li Wei", Assert.Single((await On(effective)).Appointments).PersonName);

        var revoked = (await Host.Executives().RevokeAppointmentAsync(new RevokeAppointmentRequest { RequestId = "r", AppointmentId = appointmentId, Reason = "misconduct" })).Appointment;
        Assert.Equal(V1.AppointmentState.Ended, revoked.State);
        Assert.Equal(1, await Host.ScalarAsync("SELECT COUNT(*) FROM outbox_message WHERE message_type = 'Oversight.Contracts.Governance.ExecutiveRemoved'"));
    }

    [Fact]
    public async Task One_holder_per_role_and_a_passed_removal_ends_the_office()
    {
        var first = await PassAsync(Appoint("Li Wei", "ceo"));
        await Host.Executives().ApproveAppointmentAsync(new ApproveAppointmentRequest { RequestId = "a1", AppointmentId = first });
        var second = await PassAsync(Appoint("Zhang Min", "ceo"));
        var occupied = await Assert.ThrowsAsync<RpcException>(() => Host.Executives().ApproveAppointmentAsync(
            new ApproveAppointmentRequest { RequestId = "a2", AppointmentId = second }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, occupied.StatusCode);
        Assert.Contains("ceo", occupied.Status.Detail, StringComparison.Ordinal);

        await PassAsync(new ProposalAction { RemoveExecutive = new RemoveExecutive { AppointmentId = first } });
        Assert.Equal(V1.AppointmentState.Ended, (await Host.Executives().GetAppointmentAsync(new GetAppointmentRequest { AppointmentId = first })).Appointment.State);
        await Host.Executives().ApproveAppointmentAsync(new ApproveAppointmentRequest { RequestId = "a3", AppointmentId = second });
        Assert.Equal("Zhang Min", Assert.Single((await Host.Executives().ListExecutivesInOfficeAsync(new ListExecutivesInOfficeRequest())).Appointments).PersonName);

        var rejected = await PassAsync(Appoint("Wang Fang", "cfo"));
        Assert.Equal(V1.AppointmentState.Rejected, (await Host.Executives().RejectAppointmentAsync(
            new RejectAppointmentRequest { RequestId = "rj", AppointmentId = rejected, Reason = "not fit and proper" })).Appointment.State);
    }

    [Fact]
    public async Task Racing_ballots_from_one_holder_count_once()
    {
        var proposal = await ProposeAsync();
        Host.Time.Advance(TimeSpan.FromDays(7));
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => VoteAsync("shopwave", proposal.Id, i % 2 == 0 ? V1.VoteChoice.For : V1.VoteChoice.Against)));
        var closed = await CloseAsync(proposal.Id);
        Assert.Equal(3_000, closed.Tally.ForWeight + closed.Tally.AgainstWeight);
    }
}
