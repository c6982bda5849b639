using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Oversight.Governance.V1;

namespace Oversight.Governance.Tests;

/// <summary>
/// Proposals end to end on a venture of 6,100 ordinary votes: shopwave 3,000, paylink 2,000,
/// state-investor 1,000 (and the management share), dashfood 100. Notice 7 days, window 2 days.
/// </summary>
public sealed class ProposalTests : IAsyncLifetime
{
    private GovernanceTestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await GovernanceTestHost.StartAsync();
        foreach (var (id, kind) in new[]
        {
            ("shopwave", OrganisationKind.Platform), ("paylink", OrganisationKind.Platform), ("dashfood", OrganisationKind.Platform),
            ("newco", OrganisationKind.Platform), ("state-investor", OrganisationKind.StateInvestor), ("bureau", OrganisationKind.Institution),
        })
        {
            await _host.Organisations().RegisterOrganisationAsync(new RegisterOrganisationRequest { RequestId = id, OrganisationId = id, Kind = kind, Name = id, Jurisdiction = "CN" });
        }

        await _host.Shares().FoundVentureAsync(new FoundVentureRequest
        {
            RequestId = "found",
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
                new Allocation { HolderId = "dashfood", ClassId = "ordinary", Quantity = 100 },
                new Allocation { HolderId = "state-investor", ClassId = "management", Quantity = 1 },
            },
        });
        _host.Time.Advance(TimeSpan.FromSeconds(1));
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private Task<V1.Proposal> ProposeAsync(V1.ProposalCategory category = V1.ProposalCategory.Ordinary, params string[] related) =>
        ProposeAsync(new ProposalAction { PlainResolution = new PlainResolution { Text = "Resolved: open a Shenzhen office." } }, category, related);

    private async Task<V1.Proposal> ProposeAsync(ProposalAction action, V1.ProposalCategory category = V1.ProposalCategory.Ordinary, params string[] related)
    {
        var now = _host.Time.GetUtcNow();
        return (await _host.Proposals("shopwave").CreateProposalAsync(new CreateProposalRequest
        {
            RequestId = Guid.NewGuid().ToString(), Category = category, Title = "Open a Shenzhen office",
            Action = action,
            OpenTime = Timestamp.FromDateTimeOffset(now.AddDays(7)), CloseTime = Timestamp.FromDateTimeOffset(now.AddDays(9)),
            RelatedParties = { related },
        })).Proposal;
    }

    private Task<CastBallotResponse> VoteAsync(string holder, string proposalId, V1.VoteChoice choice, string kind = "platform") =>
        _host.Proposals(holder, kind).CastBallotAsync(new CastBallotRequest { RequestId = Guid.NewGuid().ToString(), ProposalId = proposalId, Choice = choice }).ResponseAsync;

    private async Task<V1.Proposal> CloseAsync(string proposalId)
    {
        _host.Time.Advance(TimeSpan.FromDays(2));
        await _host.Services.GetRequiredService<Application.Proposals>().TallyDueAsync(CancellationToken.None);
        return (await _host.Proposals("shopwave").GetProposalAsync(new GetProposalRequest { ProposalId = proposalId })).Proposal;
    }

    [Fact]
    public async Task A_proposal_opens_after_notice_takes_changeable_ballots_and_is_tallied_at_the_close()
    {
        var proposal = await ProposeAsync();
        Assert.Equal((V1.ProposalState.Scheduled, 1, 1L, 2L), (proposal.State, proposal.RuleVersion, proposal.Majority.Numerator, proposal.Majority.Denominator));
        var early = await Assert.ThrowsAsync<RpcException>(() => VoteAsync("paylink", proposal.Id, V1.VoteChoice.For));
        Assert.Equal(StatusCode.FailedPrecondition, early.StatusCode);

        _host.Time.Advance(TimeSpan.FromDays(7));
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
        _host.Time.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));

        // After the opening, shopwave sells 1,000 to paylink (approved by the regulator).
        var transfer = (await _host.Shares("shopwave", "platform").RequestShareTransferAsync(
            new RequestShareTransferRequest { RequestId = "t", ClassId = "ordinary", BuyerId = "paylink", Quantity = 1_000 })).Transfer;
        await _host.Shares("central-bank", "regulator").ApproveShareTransferAsync(new ApproveShareTransferRequest { RequestId = "a", TransferId = transfer.Id });

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
        _host.Time.Advance(TimeSpan.FromDays(7));
        await VoteAsync("shopwave", proposal.Id, V1.VoteChoice.For);
        await VoteAsync("paylink", proposal.Id, V1.VoteChoice.For);
        await VoteAsync("state-investor", proposal.Id, V1.VoteChoice.Against, "state_investor");
        Assert.Equal(V1.ProposalState.Vetoed, (await CloseAsync(proposal.Id)).State);
    }

    [Fact]
    public async Task Related_parties_are_recused_from_both_sides_of_the_count()
    {
        var proposal = await ProposeAsync(V1.ProposalCategory.Ordinary, "dashfood");
        _host.Time.Advance(TimeSpan.FromDays(7));
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
        _host.Time.Advance(TimeSpan.FromDays(7));
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => VoteAsync("newco", proposal.Id, V1.VoteChoice.For))).StatusCode);
        var byInstitution = await Assert.ThrowsAsync<RpcException>(() => _host.Proposals("bureau", "institution").CreateProposalAsync(new CreateProposalRequest
        {
            RequestId = "x", Category = V1.ProposalCategory.Ordinary, Title = "t", Action = new ProposalAction { PlainResolution = new PlainResolution { Text = "t" } },
            OpenTime = Timestamp.FromDateTimeOffset(_host.Time.GetUtcNow().AddDays(8)), CloseTime = Timestamp.FromDateTimeOffset(_host.Time.GetUtcNow().AddDays(9)),
        }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, byInstitution.StatusCode);

        var hasty = await Assert.ThrowsAsync<RpcException>(() => _host.Proposals("operator", "operator").CreateProposalAsync(new CreateProposalRequest
        {
            RequestId = "y", Category = V1.ProposalCategory.Ordinary, Title = "t", Action = new ProposalAction { RulebookChange = new RulebookChange { Summary = "s" } },
            OpenTime = Timestamp.FromDateTimeOffset(_host.Time.GetUtcNow().AddDays(1)), CloseTime = Timestamp.FromDateTimeOffset(_host.Time.GetUtcNow().AddDays(2)),
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, hasty.StatusCode);
        Assert.Contains("open_time", hasty.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_proposer_withdraws_before_the_opening_only()
    {
        var proposal = await ProposeAsync();
        var notProposer = await Assert.ThrowsAsync<RpcException>(() => _host.Proposals("paylink").WithdrawProposalAsync(
            new WithdrawProposalRequest { RequestId = "w0", ProposalId = proposal.Id }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, notProposer.StatusCode);
        var withdrawn = (await _host.Proposals("shopwave").WithdrawProposalAsync(new WithdrawProposalRequest { RequestId = "w1", ProposalId = proposal.Id, Reason = "moot" })).Proposal;
        Assert.Equal(V1.ProposalState.Withdrawn, withdrawn.State);

        var other = await ProposeAsync();
        _host.Time.Advance(TimeSpan.FromDays(7));
        var tooLate = await Assert.ThrowsAsync<RpcException>(() => _host.Proposals("shopwave").WithdrawProposalAsync(
            new WithdrawProposalRequest { RequestId = "w2", ProposalId = other.Id }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, tooLate.StatusCode);
        Assert.Equal(V1.ProposalState.Withdrawn, (await CloseAsync(proposal.Id)).State);
    }

    private async Task<string> PassAsync(ProposalAction action)
    {
        var proposal = await ProposeAsync(action, V1.ProposalCategory.Special);
        _host.Time.Advance(TimeSpan.FromDays(7));
        await VoteAsync("shopwave", proposal.Id, V1.VoteChoice.For);
        await VoteAsync("paylink", proposal.Id, V1.VoteChoice.For);
        var closed = await CloseAsync(proposal.Id);
        Assert.Equal(V1.ProposalState.Passed, closed.State);
        return closed.AppointmentId + closed.AllianceId;
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
                ValidFrom = Timestamp.FromDateTimeOffset(_host.Time.GetUtcNow()), ValidUntil = Timestamp.FromDateTimeOffset(_host.Time.GetUtcNow() + validFor),
            },
        },
    };

    [Fact]
    public async Task An_alliance_is_active_only_after_a_special_proposal_and_the_regulator_and_every_move_is_an_event()
    {
        var ordinary = await Assert.ThrowsAsync<RpcException>(() => ProposeAsync(FormAlliance(TimeSpan.FromDays(365)), V1.ProposalCategory.Ordinary));
        Assert.Equal(StatusCode.InvalidArgument, ordinary.StatusCode);

        var allianceId = await PassAsync(FormAlliance(TimeSpan.FromDays(365)));
        Assert.Equal(V1.AllianceState.AwaitingRegulator, (await _host.Alliances().GetAllianceAsync(new GetAllianceRequest { AllianceId = allianceId })).Alliance.State);
        var byOperator = await Assert.ThrowsAsync<RpcException>(() => _host.Alliances("operator", "operator").ApproveAllianceAsync(
            new ApproveAllianceRequest { RequestId = "x", AllianceId = allianceId }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, byOperator.StatusCode);

        var active = (await _host.Alliances().ApproveAllianceAsync(new ApproveAllianceRequest { RequestId = "a", AllianceId = allianceId })).Alliance;
        Assert.Equal((V1.AllianceState.Active, "amount"), (active.State, active.Scope.Fields[0]));
        Assert.Equal(V1.AllianceState.Suspended, (await _host.Alliances().SuspendAllianceAsync(
            new SuspendAllianceRequest { RequestId = "s", AllianceId = allianceId, Reason = "audit finding" })).Alliance.State);
        Assert.Equal(V1.AllianceState.Active, (await _host.Alliances().ResumeAllianceAsync(
            new ResumeAllianceRequest { RequestId = "r", AllianceId = allianceId, Reason = "remediated" })).Alliance.State);

        await PassAsync(new ProposalAction { TerminateAlliance = new TerminateAlliance { AllianceId = allianceId } });
        Assert.Equal(V1.AllianceState.Terminated, (await _host.Alliances().GetAllianceAsync(new GetAllianceRequest { AllianceId = allianceId })).Alliance.State);

        foreach (var type in new[] { "AllianceActivated", "AllianceSuspended", "AllianceResumed", "AllianceTerminated" })
        {
            Assert.Equal(1, await _host.ScalarAsync($"SELECT COUNT(*) FROM outbox_message WHERE message_type = 'Oversight.Contracts.Governance.{type}'"));
        }
    }

    [Fact]
    public async Task An_alliance_expires_at_the_end_of_its_validity_and_a_rejected_one_never_activates()
    {
        var expiring = await PassAsync(FormAlliance(TimeSpan.FromDays(20)));
        await _host.Alliances().ApproveAllianceAsync(new ApproveAllianceRequest { RequestId = "a", AllianceId = expiring });
        _host.Time.Advance(TimeSpan.FromDays(20));
        Assert.Equal(1, await _host.Services.GetRequiredService<Application.Alliances>().ExpireDueAsync(CancellationToken.None));
        Assert.Equal(V1.AllianceState.Expired, (await _host.Alliances().GetAllianceAsync(new GetAllianceRequest { AllianceId = expiring })).Alliance.State);

        var refused = await PassAsync(FormAlliance(TimeSpan.FromDays(365)));
        await _host.Alliances().RejectAllianceAsync(new RejectAllianceRequest { RequestId = "no", AllianceId = refused, Reason = "scope too wide" });
        var approveLate = await Assert.ThrowsAsync<RpcException>(() => _host.Alliances().ApproveAllianceAsync(
            new ApproveAllianceRequest { RequestId = "late", AllianceId = refused }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, approveLate.StatusCode);
    }

    private static ProposalAction Appoint(string person, string role) =>
        new() { AppointExecutive = new AppointExecutive { PersonName = person, Role = role } };

    [Fact]
    public async Task A_passed_appointment_waits_for_the_regulator_then_holds_office_from_its_effective_date()
    {
        var appointmentId = await PassAsync(Appoint("Li Wei", "ceo"));
        var pending = (await _host.Executives().GetAppointmentAsync(new GetAppointmentRequest { AppointmentId = appointmentId })).Appointment;
        Assert.Equal((V1.AppointmentState.AwaitingRegulator, "Li Wei", "ceo"), (pending.State, pending.PersonName, pending.Role));
        Assert.Empty((await _host.Executives("shopwave", "platform").ListExecutivesInOfficeAsync(new ListExecutivesInOfficeRequest())).Appointments);

        var notRegulator = await Assert.ThrowsAsync<RpcException>(() => _host.Executives("operator", "operator").ApproveAppointmentAsync(
            new ApproveAppointmentRequest { RequestId = "x", AppointmentId = appointmentId }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, notRegulator.StatusCode);

        var effective = _host.Time.GetUtcNow().AddDays(3);
        var approved = (await _host.Executives().ApproveAppointmentAsync(new ApproveAppointmentRequest
        {
            RequestId = "a", AppointmentId = appointmentId, EffectiveTime = Timestamp.FromDateTimeOffset(effective),
        })).Appointment;
        Assert.Equal(V1.AppointmentState.Approved, approved.State);

        Task<ListExecutivesInOfficeResponse> On(DateTimeOffset at) =>
            _host.Executives("shopwave", "platform").ListExecutivesInOfficeAsync(new ListExecutivesInOfficeRequest { AtTime = Timestamp.FromDateTimeOffset(at) }).ResponseAsync;
        Assert.Empty((await On(effective.AddSeconds(-1))).Appointments);
        Assert.Equal("Li Wei", Assert.Single((await On(effective)).Appointments).PersonName);

        var revoked = (await _host.Executives().RevokeAppointmentAsync(new RevokeAppointmentRequest { RequestId = "r", AppointmentId = appointmentId, Reason = "misconduct" })).Appointment;
        Assert.Equal(V1.AppointmentState.Ended, revoked.State);
        Assert.Equal(1, await _host.ScalarAsync("SELECT COUNT(*) FROM outbox_message WHERE message_type = 'Oversight.Contracts.Governance.ExecutiveRemoved'"));
    }

    [Fact]
    public async Task One_holder_per_role_and_a_passed_removal_ends_the_office()
    {
        var first = await PassAsync(Appoint("Li Wei", "ceo"));
        await _host.Executives().ApproveAppointmentAsync(new ApproveAppointmentRequest { RequestId = "a1", AppointmentId = first });
        var second = await PassAsync(Appoint("Zhang Min", "ceo"));
        var occupied = await Assert.ThrowsAsync<RpcException>(() => _host.Executives().ApproveAppointmentAsync(
            new ApproveAppointmentRequest { RequestId = "a2", AppointmentId = second }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, occupied.StatusCode);
        Assert.Contains("ceo", occupied.Status.Detail, StringComparison.Ordinal);

        await PassAsync(new ProposalAction { RemoveExecutive = new RemoveExecutive { AppointmentId = first } });
        Assert.Equal(V1.AppointmentState.Ended, (await _host.Executives().GetAppointmentAsync(new GetAppointmentRequest { AppointmentId = first })).Appointment.State);
        await _host.Executives().ApproveAppointmentAsync(new ApproveAppointmentRequest { RequestId = "a3", AppointmentId = second });
        Assert.Equal("Zhang Min", Assert.Single((await _host.Executives().ListExecutivesInOfficeAsync(new ListExecutivesInOfficeRequest())).Appointments).PersonName);

        var rejected = await PassAsync(Appoint("Wang Fang", "cfo"));
        Assert.Equal(V1.AppointmentState.Rejected, (await _host.Executives().RejectAppointmentAsync(
            new RejectAppointmentRequest { RequestId = "rj", AppointmentId = rejected, Reason = "not fit and proper" })).Appointment.State);
    }

    [Fact]
    public async Task Racing_ballots_from_one_holder_count_once()
    {
        var proposal = await ProposeAsync();
        _host.Time.Advance(TimeSpan.FromDays(7));
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => VoteAsync("shopwave", proposal.Id, i % 2 == 0 ? V1.VoteChoice.For : V1.VoteChoice.Against)));
        var closed = await CloseAsync(proposal.Id);
        Assert.Equal(3_000, closed.Tally.ForWeight + closed.Tally.AgainstWeight);
    }
}
