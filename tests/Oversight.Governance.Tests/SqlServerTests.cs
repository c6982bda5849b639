using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Oversight.Governance.V1;
using Oversight.Testing;

namespace Oversight.Governance.Tests;

/// <summary>
/// The Governance module against a real SQL Server, when <c>OVERSIGHT_SQLSERVER</c> names one. Each
/// test migrates a database of its own and drops it afterwards. What SQL Server decides here — the
/// filtered unique indexes (one regulator, one holder per role), the primary keys, identity sequences,
/// the ledger's optimistic version under concurrent writers, OFFSET/FETCH pages — is what these check.
/// </summary>
[Collection("SQL Server")]
public sealed class SqlServerTests
{
    private static async Task RunAsync(Func<GovernanceTestHost, Task> test)
    {
        var server = await RealInfrastructure.SqlServerAsync();
        var database = $"oversight_governance_test_{Guid.NewGuid():N}";
        GovernanceTestHost? host = null;
        try
        {
            host = await GovernanceTestHost.StartAsync(settings =>
            {
                settings["Oversight:Governance:Database:Provider"] = "SqlServer";
                settings["Oversight:Governance:Database:ConnectionString"] = RealInfrastructure.SqlServerDatabase(server, database);
            });
            await test(host);
        }
        finally
        {
            if (host is not null)
            {
                await host.DisposeAsync();
            }

            await RealInfrastructure.DropSqlServerDatabaseAsync(server, database);
        }
    }

    private static RegisterOrganisationRequest Register(string id, OrganisationKind kind, params string[] affiliations) => new()
    {
        RequestId = $"register-{id}", OrganisationId = id, Kind = kind, Name = $"{id} Ltd", Jurisdiction = "CN", Affiliations = { affiliations },
    };

    private static async Task RegisterAsync(GovernanceTestHost host, params (string Id, OrganisationKind Kind)[] organisations)
    {
        foreach (var (id, kind) in organisations)
        {
            await host.Organisations().RegisterOrganisationAsync(Register(id, kind));
        }
    }

    private static Task<FoundVentureResponse> FoundAsync(GovernanceTestHost host, string requestId, params (string Holder, long Ordinary)[] holders) =>
        host.Shares().FoundVentureAsync(new FoundVentureRequest
        {
            RequestId = requestId,
            ShareClasses =
            {
                new ShareClass { Id = "ordinary", Kind = ShareClassKind.Ordinary, VotesPerShare = 1, Authorised = 10_000, Transferable = true },
                new ShareClass { Id = "management", Kind = ShareClassKind.Management, VotesPerShare = 0, Authorised = 1 },
            },
            Allocations =
            {
                holders.Select(h => new Allocation { HolderId = h.Holder, ClassId = "ordinary", Quantity = h.Ordinary }),
                new Allocation { HolderId = "state-investor", ClassId = "management", Quantity = 1 },
            },
        }).ResponseAsync;

    private static string? ViolationType(RpcException exception) =>
        exception.GetRpcStatus()?.GetDetail<PreconditionFailure>()?.Violations.Single().Type;

    [Fact]
    public Task The_registry_keeps_one_regulator_and_the_audit_log_pages_oldest_first_on_sql_server() => RunAsync(async host =>
    {
        var operatorClient = host.Organisations();
        var first = await operatorClient.RegisterOrganisationAsync(Register("c-platform", OrganisationKind.Platform));
        await RegisterAsync(host, ("a-platform", OrganisationKind.Platform), ("b-institution", OrganisationKind.Institution), ("central-bank", OrganisationKind.Regulator));
        Assert.Equal(first, await operatorClient.RegisterOrganisationAsync(Register("c-platform", OrganisationKind.Platform)));

        // The filtered unique index (kind) WHERE kind = 'regulator' refuses a second regulator; the primary key a second id.
        var second = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => operatorClient.RegisterOrganisationAsync(Register("other-bank", OrganisationKind.Regulator)).ResponseAsync);
        Assert.Equal("ONE_REGULATOR", ViolationType(second));
        var again = Register("a-platform", OrganisationKind.Platform);
        again.RequestId = "again";
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => operatorClient.RegisterOrganisationAsync(again).ResponseAsync);
        Assert.Equal(4, await host.ScalarAsync("SELECT COUNT(*) FROM organisation"));

        var updated = (await operatorClient.UpdateOrganisationAsync(new UpdateOrganisationRequest
        {
            RequestId = "u1", OrganisationId = "a-platform", ExpectedVersion = 1, Name = "A Platform Group", Jurisdiction = "HK", Affiliations = { "c-platform" },
        })).Organisation;
        Assert.Equal((2L, "A Platform Group", "HK", "c-platform"), (updated.Version, updated.Name, updated.Jurisdiction, updated.Affiliations.Single()));
        Assert.Equal(updated, (await operatorClient.GetOrganisationAsync(new GetOrganisationRequest { OrganisationId = "a-platform" })).Organisation);
        await RpcAssert.FailsAsync(StatusCode.Aborted, () => operatorClient.UpdateOrganisationAsync(new UpdateOrganisationRequest
        {
            RequestId = "u2", OrganisationId = "a-platform", ExpectedVersion = 1, Name = "Stale", Jurisdiction = "CN",
        }).ResponseAsync);

        // Ids sort as they do on SQLite (binary collation), in pages.
        var page = await operatorClient.ListOrganisationsAsync(new ListOrganisationsRequest { PageSize = 3 });
        var rest = await operatorClient.ListOrganisationsAsync(new ListOrganisationsRequest { PageSize = 3, PageToken = page.NextPageToken });
        Assert.Equal(["a-platform", "b-institution", "c-platform", "central-bank"], page.Organisations.Concat(rest.Organisations).Select(o => o.Id));
        Assert.Equal("", rest.NextPageToken);
        var platforms = await operatorClient.ListOrganisationsAsync(new ListOrganisationsRequest { Kind = OrganisationKind.Platform });
        Assert.Equal(["a-platform", "c-platform"], platforms.Organisations.Select(o => o.Id));

        var mandate = (await host.Orders().EnactStatutoryMandateAsync(new EnactStatutoryMandateRequest
        {
            RequestId = "m1", LegalReference = "Anti-Money Laundering Law, Art. 28", RecipientId = "b-institution",
            Purposes = { "anti_money_laundering" }, DataCategories = { "user.financial.transactions" },
        })).Mandate;
        Assert.Equal(mandate, Assert.Single((await host.Orders("a-platform", "platform").ListStatutoryMandatesAsync(new ListStatutoryMandatesRequest())).Mandates));

        // Six actions were audited on the log (the refused ones changed nothing): oldest first, three to a page, no entry twice.
        Assert.Equal(6, await host.ScalarAsync("SELECT COUNT(*) FROM audit_entry WHERE outcome = 'succeeded'"));
        var entries = new List<Oversight.Audit.V1.AuditEntry>();
        var token = "";
        do
        {
            var audit = await host.Audit().ListEntriesAsync(new Oversight.Audit.V1.ListEntriesRequest { PageSize = 3, PageToken = token });
            Assert.InRange(audit.Entries.Count, 1, 3);
            entries.AddRange(audit.Entries.Where(e => e.Outcome == "succeeded"));
            token = audit.NextPageToken;
        }
        while (token != "");

        Assert.Equal(["organisation.registered", "organisation.registered", "organisation.registered", "organisation.registered", "organisation.updated", "mandate.enacted"],
            entries.Select(e => e.Action));
        Assert.Equal(entries.Select(e => e.Sequence).Order(), entries.Select(e => e.Sequence));
        Assert.Equal(6, entries.Select(e => e.Sequence).Distinct().Count());
        Assert.Equal(("central-bank", "regulator", "mandate/" + mandate.Id), (entries[^1].ActorId, entries[^1].ActorKind, entries[^1].Resource));
        Assert.All(entries.SkipLast(1), e => Assert.Equal(("operator", "operator"), (e.ActorId, e.ActorKind)));

        await host.WaitForOutboxAsync();
    });

    [Fact]
    public Task The_venture_is_founded_and_transfers_settle_only_what_the_seller_holds_on_sql_server() => RunAsync(async host =>
    {
        await RegisterAsync(host,
            ("shopwave", OrganisationKind.Platform), ("paylink", OrganisationKind.Platform), ("dashfood", OrganisationKind.Platform),
            ("minnow", OrganisationKind.Platform), ("newco", OrganisationKind.Platform), ("state-investor", OrganisationKind.StateInvestor));

        // 6,200 ordinary shares: the threshold (5 %, inclusive) is 310.
        var founded = (await FoundAsync(host, "found", ("shopwave", 3_000), ("paylink", 2_000), ("state-investor", 1_000), ("dashfood", 100), ("minnow", 100))).CapTable;
        Assert.Equal((6_200L, 6_200L), (founded.OrdinaryOutstanding, founded.TotalVotingPower));
        Assert.Equal(10_000, founded.Holdings.Sum(h => h.OrdinaryBasisPoints));
        Assert.Equal(1, founded.Holdings.Single(h => h.HolderId == "state-investor").ManagementShares);
        var again = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => FoundAsync(host, "found-again", ("shopwave", 1)));
        Assert.Equal("ALREADY_FOUNDED", ViolationType(again));

        var ledger = await host.Shares().ListLedgerEntriesAsync(new ListLedgerEntriesRequest { PageSize = 4 });
        var ledgerRest = await host.Shares().ListLedgerEntriesAsync(new ListLedgerEntriesRequest { PageSize = 4, PageToken = ledger.NextPageToken });
        var entries = ledger.Entries.Concat(ledgerRest.Entries).ToList();
        Assert.Equal(6, entries.Count);
        Assert.All(entries, e => Assert.Equal((V1.LedgerEntryKind.Issuance, "founding"), (e.Kind, e.Reason)));
        Assert.Equal(entries.Select(e => e.Sequence).Order(), entries.Select(e => e.Sequence));
        Assert.Equal(entries[^1].Sequence, founded.LedgerSequence);
        var asOfFirst = (await host.Shares().GetCapTableAsync(new GetCapTableRequest { AsOfSequence = entries[0].Sequence })).CapTable;
        Assert.Equal([("shopwave", 3_000L, 10_000)], asOfFirst.Holdings.Select(h => (h.HolderId, h.OrdinaryShares, h.OrdinaryBasisPoints)));

        Task<RequestShareTransferResponse> TransferAsync(string seller, string buyer, long quantity) =>
            host.Shares(seller, "platform").RequestShareTransferAsync(new RequestShareTransferRequest
            {
                RequestId = Guid.NewGuid().ToString(), ClassId = "ordinary", BuyerId = buyer, Quantity = quantity,
            }).ResponseAsync;

        async Task<Dictionary<string, long>> HoldingsAsync()
        {
            var table = (await host.Shares().GetCapTableAsync(new GetCapTableRequest())).CapTable;
            Assert.Equal((6_200L, 10_000), (table.OrdinaryOutstanding, table.Holdings.Sum(h => h.OrdinaryBasisPoints)));
            return table.Holdings.ToDictionary(h => h.HolderId, h => h.OrdinaryShares);
        }

        // A new shareholder waits for the regulator; the approval settles it on the ledger.
        var pending = (await TransferAsync("shopwave", "newco", 10)).Transfer;
        Assert.Equal((ShareTransferState.AwaitingRegulator, 0L), (pending.State, pending.LedgerSequence));
        Assert.Contains("not yet a shareholder", pending.ApprovalReason, StringComparison.Ordinal);
        Assert.False((await HoldingsAsync()).ContainsKey("newco"));
        var approved = (await host.Shares("central-bank", "regulator").ApproveShareTransferAsync(
            new ApproveShareTransferRequest { RequestId = "approve", TransferId = pending.Id, Reason = "fit and proper" })).Transfer;
        Assert.Equal((ShareTransferState.Settled, 2L, "fit and proper"), (approved.State, approved.Version, approved.DecisionReason));
        Assert.True(approved.LedgerSequence > founded.LedgerSequence);
        Assert.Equal(approved, (await host.Shares("newco", "platform").GetShareTransferAsync(new GetShareTransferRequest { TransferId = pending.Id })).Transfer);
        var afterApproval = await HoldingsAsync();
        Assert.Equal((2_990L, 10L), (afterApproval["shopwave"], afterApproval["newco"]));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => host.Shares("central-bank", "regulator").ApproveShareTransferAsync(
            new ApproveShareTransferRequest { RequestId = "approve-again", TransferId = pending.Id }).ResponseAsync);

        // Five transfers of 40 race from a seller of 100, each small enough to settle at once: at most
        // two can. The losers read a ledger another settlement changed (ABORTED), find too few shares
        // left (FAILED_PRECONDITION) or, should SQL Server pick one as a deadlock victim, are told to
        // retry (UNAVAILABLE); none of them leaves a trace.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 5).Select(async _ =>
        {
            try
            {
                var transfer = (await TransferAsync("dashfood", "minnow", 40)).Transfer;
                Assert.Equal(ShareTransferState.Settled, transfer.State);
                return StatusCode.OK;
            }
            catch (RpcException exception)
            {
                return exception.StatusCode;
            }
        }));
        var settled = outcomes.Count(o => o == StatusCode.OK);
        Assert.InRange(settled, 1, 2);
        Assert.All(outcomes.Where(o => o != StatusCode.OK),
            o => Assert.Contains(o, new[] { StatusCode.Aborted, StatusCode.FailedPrecondition, StatusCode.Unavailable }));
        var afterRace = await HoldingsAsync();
        Assert.Equal((100L - (40 * settled), 100L + (40 * settled)), (afterRace["dashfood"], afterRace["minnow"]));
        Assert.Equal(settled, await host.ScalarAsync("SELECT COUNT(*) FROM share_ledger WHERE from_holder_id = 'dashfood'"));
        Assert.Equal(settled, await host.ScalarAsync("SELECT COUNT(*) FROM share_transfer WHERE seller_id = 'dashfood'"));
        // The ledger's version moved once per settlement: the approval and each winner of the race.
        Assert.Equal(1 + settled, await host.ScalarAsync("SELECT ledger_version FROM venture WHERE id = 1"));
    });

    [Fact]
    public Task A_proposal_is_tallied_after_its_window_and_an_executive_and_an_alliance_are_approved_on_sql_server() => RunAsync(async host =>
    {
        await RegisterAsync(host,
            ("shopwave", OrganisationKind.Platform), ("paylink", OrganisationKind.Platform), ("dashfood", OrganisationKind.Platform),
            ("state-investor", OrganisationKind.StateInvestor), ("bureau", OrganisationKind.Institution));
        await FoundAsync(host, "found", ("shopwave", 3_000), ("paylink", 2_000), ("state-investor", 1_000), ("dashfood", 100));
        host.Time.Advance(TimeSpan.FromSeconds(1));

        async Task<V1.Proposal> ProposeAsync(ProposalAction action, V1.ProposalCategory category)
        {
            var now = host.Time.GetUtcNow();
            return (await host.Proposals("shopwave").CreateProposalAsync(new CreateProposalRequest
            {
                RequestId = Guid.NewGuid().ToString(), Category = category, Title = "A resolution", Action = action,
                OpenTime = Timestamp.FromDateTimeOffset(now.AddDays(7)), CloseTime = Timestamp.FromDateTimeOffset(now.AddDays(9)),
            })).Proposal;
        }

        Task<CastBallotResponse> VoteAsync(string holder, string proposalId, V1.VoteChoice choice, string kind = "platform") =>
            host.Proposals(holder, kind).CastBallotAsync(new CastBallotRequest { RequestId = Guid.NewGuid().ToString(), ProposalId = proposalId, Choice = choice }).ResponseAsync;

        // The tally job's work, called the way the job calls it once the window has closed.
        async Task<V1.Proposal> CloseAsync(string proposalId)
        {
            host.Time.Advance(TimeSpan.FromDays(2));
            await host.Services.GetRequiredService<Application.ProposalTallier>().TallyDueAsync(CancellationToken.None);
            return (await host.Proposals("shopwave").GetProposalAsync(new GetProposalRequest { ProposalId = proposalId })).Proposal;
        }

        async Task<V1.Proposal> PassAsync(ProposalAction action)
        {
            var proposal = await ProposeAsync(action, V1.ProposalCategory.Special);
            host.Time.Advance(TimeSpan.FromDays(7));
            await VoteAsync("shopwave", proposal.Id, V1.VoteChoice.For);
            await VoteAsync("paylink", proposal.Id, V1.VoteChoice.For);
            var closed = await CloseAsync(proposal.Id);
            Assert.Equal(V1.ProposalState.Passed, closed.State);
            return closed;
        }

        // An ordinary proposal: notice, changeable ballots, the tally after the window.
        var proposal = await ProposeAsync(new ProposalAction { PlainResolution = new PlainResolution { Text = "Resolved: open a Shenzhen office." } }, V1.ProposalCategory.Ordinary);
        Assert.Equal((V1.ProposalState.Scheduled, 1L, 2L), (proposal.State, proposal.Majority.Numerator, proposal.Majority.Denominator));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => VoteAsync("paylink", proposal.Id, V1.VoteChoice.For));
        host.Time.Advance(TimeSpan.FromDays(7));
        Assert.Equal(3_000, (await VoteAsync("shopwave", proposal.Id, V1.VoteChoice.For)).Weight);
        await VoteAsync("paylink", proposal.Id, V1.VoteChoice.Against);
        Assert.Equal(2_000, (await VoteAsync("paylink", proposal.Id, V1.VoteChoice.For)).Weight);
        Assert.Equal(1_000, (await VoteAsync("state-investor", proposal.Id, V1.VoteChoice.Abstain, "state_investor")).Weight);
        var closed = await CloseAsync(proposal.Id);
        Assert.Equal(V1.ProposalState.Passed, closed.State);
        Assert.Equal((6_100L, 5_000L, 0L, 1_000L), (closed.Tally.EntitledWeight, closed.Tally.ForWeight, closed.Tally.AgainstWeight, closed.Tally.AbstainWeight));
        Assert.Equal(host.Time.GetUtcNow().ToUnixTimeMilliseconds(), closed.Tally.TallyTime.ToDateTimeOffset().ToUnixTimeMilliseconds());
        Assert.Equal(4, await host.ScalarAsync($"SELECT COUNT(*) FROM ballot WHERE proposal_id = '{proposal.Id}'"));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => VoteAsync("dashfood", proposal.Id, V1.VoteChoice.Against));

        // An executive: appointed by a passed special proposal, in office from the date the regulator approves.
        var appointmentId = (await PassAsync(new ProposalAction { AppointExecutive = new AppointExecutive { PersonName = "Li Wei", Role = "ceo" } })).AppointmentId;
        Assert.Equal(V1.AppointmentState.AwaitingRegulator,
            (await host.Executives().GetAppointmentAsync(new GetAppointmentRequest { AppointmentId = appointmentId })).Appointment.State);
        var effective = host.Time.GetUtcNow().AddDays(3);
        var appointed = (await host.Executives().ApproveAppointmentAsync(new ApproveAppointmentRequest
        {
            RequestId = "approve-ceo", AppointmentId = appointmentId, EffectiveTime = Timestamp.FromDateTimeOffset(effective),
        })).Appointment;
        Assert.Equal((V1.AppointmentState.Approved, 2L), (appointed.State, appointed.Version));

        Task<ListExecutivesInOfficeResponse> InOfficeAsync(DateTimeOffset at) =>
            host.Executives("shopwave", "platform").ListExecutivesInOfficeAsync(new ListExecutivesInOfficeRequest { AtTime = Timestamp.FromDateTimeOffset(at) }).ResponseAsync;
        Assert.Empty((await InOfficeAsync(effective.AddSeconds(-1))).Appointments);
        var inOffice = Assert.Single((await InOfficeAsync(effective)).Appointments);
        Assert.Equal(("Li Wei", appointmentId), (inOffice.PersonName, inOffice.Id));

        // The filtered unique index (role) WHERE state = 2 refuses a second approved holder of the role.
        var rivalId = (await PassAsync(new ProposalAction { AppointExecutive = new AppointExecutive { PersonName = "Zhang Min", Role = "ceo" } })).AppointmentId;
        var occupied = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => host.Executives().ApproveAppointmentAsync(
            new ApproveAppointmentRequest { RequestId = "approve-rival", AppointmentId = rivalId }).ResponseAsync);
        Assert.Equal("ROLE_OCCUPIED", ViolationType(occupied));
        Assert.Equal(V1.AppointmentState.AwaitingRegulator,
            (await host.Executives().GetAppointmentAsync(new GetAppointmentRequest { AppointmentId = rivalId })).Appointment.State);

        // An alliance: formed by a passed special proposal, active once the regulator approves, its scope kept as proposed.
        var scope = new AllianceScope
        {
            Purposes = { "credit_assessment" }, DataCategories = { "user.financial.transactions" }, Fields = { "amount", "merchant" },
            MaxRetention = Duration.FromTimeSpan(TimeSpan.FromDays(90)),
            ValidFrom = Timestamp.FromDateTimeOffset(host.Time.GetUtcNow()), ValidUntil = Timestamp.FromDateTimeOffset(host.Time.GetUtcNow().AddDays(365)),
        };
        var allianceId = (await PassAsync(new ProposalAction { FormAlliance = new FormAlliance { InstitutionId = "bureau", Scope = scope } })).AllianceId;
        Assert.Equal(V1.AllianceState.AwaitingRegulator, (await host.Alliances().GetAllianceAsync(new GetAllianceRequest { AllianceId = allianceId })).Alliance.State);
        var active = (await host.Alliances().ApproveAllianceAsync(new ApproveAllianceRequest { RequestId = "approve-alliance", AllianceId = allianceId })).Alliance;
        Assert.Equal((V1.AllianceState.Active, "bureau", 2L), (active.State, active.InstitutionId, active.Version));
        Assert.Equal(scope, active.Scope);
        Assert.Equal(active, (await host.Alliances().GetAllianceAsync(new GetAllianceRequest { AllianceId = allianceId })).Alliance);

        // The relay claims and sends the events from SQL Server (its own claim statement).
        await host.WaitForOutboxAsync();
        foreach (var (type, count) in new[] { ("OrganisationRegistered", 5L), ("ExecutiveApproved", 1L), ("AllianceActivated", 1L) })
        {
            Assert.Equal(count, await host.ScalarAsync($"SELECT COUNT(*) FROM outbox_message WHERE message_type = 'Oversight.Contracts.Governance.{type}'"));
        }
    });

    [Fact]
    public Task Capital_changes_cancellations_and_the_lists_run_on_sql_server() => RunAsync(async host =>
    {
        await RegisterAsync(host, ("shopwave", OrganisationKind.Platform), ("paylink", OrganisationKind.Platform), ("dashfood", OrganisationKind.Platform),
            ("newco", OrganisationKind.Platform), ("state-investor", OrganisationKind.StateInvestor), ("central-bank", OrganisationKind.Regulator));
        await FoundAsync(host, "found", ("shopwave", 3_000), ("paylink", 2_000), ("state-investor", 1_000), ("dashfood", 100));
        host.Time.Advance(TimeSpan.FromSeconds(1));

        async Task<V1.Proposal> PassAsync(ProposalAction action)
        {
            var now = host.Time.GetUtcNow();
            var proposal = (await host.Proposals("paylink").CreateProposalAsync(new CreateProposalRequest
            {
                RequestId = Guid.NewGuid().ToString(), Category = V1.ProposalCategory.Special, Title = "Change the capital", Action = action,
                OpenTime = Timestamp.FromDateTimeOffset(now.AddDays(7)), CloseTime = Timestamp.FromDateTimeOffset(now.AddDays(9)),
            })).Proposal;
            host.Time.Advance(TimeSpan.FromDays(7));
            foreach (var holder in new[] { "shopwave", "paylink" })
            {
                await host.Proposals(holder).CastBallotAsync(new CastBallotRequest { RequestId = Guid.NewGuid().ToString(), ProposalId = proposal.Id, Choice = V1.VoteChoice.For });
            }

            host.Time.Advance(TimeSpan.FromDays(2));
            await host.Services.GetRequiredService<Application.ProposalTallier>().TallyDueAsync(CancellationToken.None);
            return (await host.Proposals("operator", "operator").GetProposalAsync(new GetProposalRequest { ProposalId = proposal.Id })).Proposal;
        }

        // An issuance to a new holder waits for the regulator; approved, it settles in the ledger.
        var issued = await PassAsync(new ProposalAction { IssueShares = new IssueShares { Allocations = { new Allocation { HolderId = "newco", ClassId = "ordinary", Quantity = 400 } } } });
        Assert.Equal(V1.ProposalState.Passed, issued.State);
        var regulator = host.Shares("central-bank", "regulator");
        var waiting = (await regulator.GetCapitalChangeAsync(new GetCapitalChangeRequest { CapitalChangeId = issued.CapitalChangeId })).CapitalChange;
        Assert.Equal((CapitalChangeState.AwaitingRegulator, "newco", 400L), (waiting.State, waiting.Allocations.Single().HolderId, waiting.Allocations.Single().Quantity));
        var settled = (await regulator.ApproveCapitalChangeAsync(new ApproveCapitalChangeRequest { RequestId = "ok", CapitalChangeId = waiting.Id })).CapitalChange;
        Assert.Equal(CapitalChangeState.Settled, settled.State);
        Assert.Equal(6_500, (await host.Shares().GetCapTableAsync(new GetCapTableRequest())).CapTable.OrdinaryOutstanding);

        // A cancellation below the threshold settles when its proposal passes.
        var cancelled = await PassAsync(new ProposalAction { CancelShares = new CancelShares { Cancellations = { new Allocation { HolderId = "shopwave", ClassId = "ordinary", Quantity = 500 } } } });
        var change = (await regulator.GetCapitalChangeAsync(new GetCapitalChangeRequest { CapitalChangeId = cancelled.CapitalChangeId })).CapitalChange;
        Assert.Equal((CapitalChangeKind.Cancellation, CapitalChangeState.Settled), (change.Kind, change.State));
        Assert.Equal(6_000, (await host.Shares().GetCapTableAsync(new GetCapTableRequest())).CapTable.OrdinaryOutstanding);
        Assert.Equal(2, (await regulator.ListCapitalChangesAsync(new ListCapitalChangesRequest { State = CapitalChangeState.Settled })).CapitalChanges.Count);

        // The regulator cancels a scheduled proposal; the lists tell the states apart by the clock.
        host.Time.Advance(TimeSpan.FromSeconds(1));
        var scheduled = (await host.Proposals("paylink").CreateProposalAsync(new CreateProposalRequest
        {
            RequestId = "scheduled", Category = V1.ProposalCategory.Ordinary, Title = "A resolution",
            Action = new ProposalAction { PlainResolution = new PlainResolution { Text = "Resolved." } },
            OpenTime = Timestamp.FromDateTimeOffset(host.Time.GetUtcNow().AddDays(8)), CloseTime = Timestamp.FromDateTimeOffset(host.Time.GetUtcNow().AddDays(9)),
        })).Proposal;
        var proposals = host.Proposals("central-bank", "regulator");
        Assert.Equal(scheduled.Id, Assert.Single((await proposals.ListProposalsAsync(new ListProposalsRequest { State = V1.ProposalState.Scheduled })).Proposals).Id);
        Assert.Equal(2, (await proposals.ListProposalsAsync(new ListProposalsRequest { State = V1.ProposalState.Passed })).Proposals.Count);
        await proposals.CancelProposalAsync(new CancelProposalRequest { RequestId = "cancel", ProposalId = scheduled.Id, Reason = "out of order" });
        Assert.Empty((await proposals.ListProposalsAsync(new ListProposalsRequest { State = V1.ProposalState.Scheduled })).Proposals);
        var listed = Assert.Single((await proposals.ListProposalsAsync(new ListProposalsRequest { State = V1.ProposalState.Cancelled })).Proposals);
        Assert.Equal("out of order", listed.EndReason);

        var page = await proposals.ListProposalsAsync(new ListProposalsRequest { PageSize = 2 });
        var next = await proposals.ListProposalsAsync(new ListProposalsRequest { PageSize = 2, PageToken = page.NextPageToken });
        Assert.Equal(3, page.Proposals.Concat(next.Proposals).Select(p => p.Id).Distinct().Count());
        Assert.Equal(scheduled.Id, page.Proposals[0].Id);
    });

    /// <summary>
    /// READ_COMMITTED_SNAPSHOT is on after migration: a reader gets the last committed row while a
    /// writer holds it (locking READ COMMITTED would wait for the writer, here until the command timed out).
    /// </summary>
    [Fact]
    public Task Readers_get_the_last_committed_row_instead_of_waiting_behind_a_writer_on_sql_server() => RunAsync(async host =>
    {
        Assert.Equal(1L, await host.ScalarAsync("SELECT CAST(is_read_committed_snapshot_on AS BIGINT) FROM sys.databases WHERE database_id = DB_ID()"));
        var committed = await host.ScalarAsync("SELECT version FROM exchange_status WHERE id = 1");
        await using var writer = await host.Database.BeginAsync(CancellationToken.None);
        Assert.Equal(1, await writer.ExecuteAsync("UPDATE exchange_status SET version = version + 1 WHERE id = 1"));
        Assert.Equal(committed, await host.ScalarAsync("SELECT version FROM exchange_status WHERE id = 1"));
    });
}
