using System.Diagnostics.Metrics;
using Dapper;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Oversight.BuildingBlocks.Errors;
using Oversight.Governance.Application;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.V1;
using Oversight.Testing;

namespace Oversight.Governance.Tests;

/// <summary>
/// Every guarded write of every versioned Governance aggregate, given a snapshot read before another
/// change landed. SQLite's one writer (BEGIN IMMEDIATE) never lets a real race reach these guards;
/// SQL Server's READ COMMITTED does (a read inside a transaction takes no lasting lock), so here the
/// stale snapshot is kept on purpose: read, let another change commit, write with what was read.
/// The write must change nothing, and what the other change wrote must still be there.
/// </summary>
public sealed class StaleWriteTests : FoundedVentureTests
{
    private T Repository<T>() where T : notnull => Host.Services.GetRequiredService<T>();

    /// <summary>Runs <paramref name="write"/> in its own transaction and commits whatever it wrote.</summary>
    private async Task<TResult> WriteAsync<TResult>(Func<BuildingBlocks.Data.DbSession, Task<TResult>> write)
    {
        await using var session = await Host.Database.BeginAsync(CancellationToken.None);
        var result = await write(session);
        await session.CommitAsync();
        return result;
    }

    private async Task<TResult> ReadAsync<TResult>(Func<System.Data.Common.DbConnection, Task<TResult>> read)
    {
        await using var connection = await Host.Database.OpenAsync(CancellationToken.None);
        return await read(connection);
    }

    [Fact]
    public async Task An_organisation_update_from_a_stale_read_changes_nothing()
    {
        var repository = Repository<OrganisationRepository>();
        var stale = (await ReadAsync(c => repository.GetAsync(c, "dashfood", null, CancellationToken.None)))!;
        await Host.Organisations().UpdateOrganisationAsync(new UpdateOrganisationRequest
        {
            RequestId = "rename", OrganisationId = "dashfood", ExpectedVersion = stale.Version, Name = "Dashfood Holdings", Jurisdiction = "CN",
        });

        Assert.False(await WriteAsync(s => repository.UpdateAsync(s, stale with { Name = "Stale Name" }, stale.Version)));
        var stored = (await ReadAsync(c => repository.GetAsync(c, "dashfood", null, CancellationToken.None)))!;
        Assert.Equal(("Dashfood Holdings", stale.Version + 1), (stored.Name, stored.Version));
    }

    [Fact]
    public async Task An_exchange_status_change_from_a_stale_read_changes_nothing()
    {
        var repository = Repository<OrderRepository>();
        var stale = await ReadAsync(c => repository.ExchangeStatusAsync(c, null, CancellationToken.None));
        await Host.Orders().FreezeExchangeAsync(new FreezeExchangeRequest { RequestId = "freeze", Reason = "investigation" });

        Assert.False(await WriteAsync(s => repository.SetExchangeStatusAsync(s, false, "stale unfreeze", "stale-order", Host.Time.GetUtcNow(), stale.Version)));
        var stored = await ReadAsync(c => repository.ExchangeStatusAsync(c, null, CancellationToken.None));
        Assert.Equal((true, "investigation", stale.Version + 1), (stored.Frozen, stored.Reason, stored.Version));
    }

    /// <summary>A repeal is a mandate's one change, so its state predicate refuses a stale second one as well as the version.</summary>
    [Fact]
    public async Task A_mandate_repeal_from_a_stale_read_changes_nothing()
    {
        var repository = Repository<OrderRepository>();
        var enacted = (await Host.Orders().EnactStatutoryMandateAsync(new EnactStatutoryMandateRequest
        {
            RequestId = "enact", LegalReference = "Anti-Money Laundering Law, Art. 28", RecipientId = "bureau",
            Purposes = { "anti_money_laundering" }, DataCategories = { "user.financial.transactions" },
        })).Mandate;
        var stale = (await ReadAsync(c => repository.GetMandateAsync(c, enacted.Id, null, CancellationToken.None)))!;
        await Host.Orders().RepealStatutoryMandateAsync(new RepealStatutoryMandateRequest { RequestId = "repeal", MandateId = enacted.Id, Reason = "superseded by statute" });

        Assert.False(await WriteAsync(s => repository.RepealMandateAsync(s, stale, "stale", Host.Time.GetUtcNow())));
        var stored = (await ReadAsync(c => repository.GetMandateAsync(c, enacted.Id, null, CancellationToken.None)))!;
        Assert.Equal(("superseded by statute", stale.Version + 1), (stored.RepealReason, stored.Version));
    }

    [Fact]
    public async Task A_ledger_append_from_a_stale_snapshot_is_aborted_and_appends_nothing()
    {
        var repository = Repository<ShareRepository>();
        var large = (await Host.Shares("shopwave", "platform").RequestShareTransferAsync(
            new RequestShareTransferRequest { RequestId = "large", ClassId = "ordinary", BuyerId = "paylink", Quantity = 1_000 })).Transfer;
        var stale = await WriteAsync(repository.SnapshotAsync);
        // The regulator's approval settles the transfer: another append lands after the snapshot.
        await Host.Shares("central-bank", "regulator").ApproveShareTransferAsync(new ApproveShareTransferRequest { RequestId = "approve", TransferId = large.Id });
        var entries = await Host.ScalarAsync("SELECT COUNT(*) FROM share_ledger");
        Assert.Equal(stale.Entries.Count + 1, entries);

        var stalePayment = new Model.LedgerEntry(0, Model.LedgerEntryKind.Transfer, "ordinary", "dashfood", "newco", 100, Host.Time.GetUtcNow(), "checked against the stale snapshot");
        await Assert.ThrowsAsync<AbortedException>(() => WriteAsync(s => repository.AppendAsync(s, stale, [stalePayment])));
        Assert.Equal(entries, await Host.ScalarAsync("SELECT COUNT(*) FROM share_ledger"));
    }

    [Fact]
    public async Task A_share_transfer_decision_from_a_stale_read_changes_nothing()
    {
        var repository = Repository<ShareRepository>();
        var requested = (await Host.Shares("shopwave", "platform").RequestShareTransferAsync(
            new RequestShareTransferRequest { RequestId = "large", ClassId = "ordinary", BuyerId = "paylink", Quantity = 1_000 })).Transfer;
        var stale = (await ReadAsync(c => repository.GetTransferAsync(c, requested.Id, null, CancellationToken.None)))!;
        Assert.Equal(Model.ShareTransferState.AwaitingRegulator, stale.State);
        await Host.Shares("central-bank", "regulator").ApproveShareTransferAsync(new ApproveShareTransferRequest { RequestId = "approve", TransferId = requested.Id });

        var rejected = stale with { State = Model.ShareTransferState.Rejected, DecidedAt = Host.Time.GetUtcNow(), DecisionReason = "stale" };
        Assert.False(await WriteAsync(s => repository.DecideTransferAsync(s, rejected, stale.Version)));
        var stored = (await ReadAsync(c => repository.GetTransferAsync(c, requested.Id, null, CancellationToken.None)))!;
        Assert.Equal(Model.ShareTransferState.Settled, stored.State);
    }

    [Fact]
    public async Task A_capital_change_decision_from_a_stale_read_changes_nothing()
    {
        var repository = Repository<ShareRepository>();
        var id = await PassAsync(new ProposalAction
        {
            IssueShares = new IssueShares { Allocations = { new V1.Allocation { HolderId = "newco", ClassId = "ordinary", Quantity = 100 } } },
        });
        var stale = (await ReadAsync(c => repository.GetCapitalChangeAsync(c, id, null, CancellationToken.None)))!;
        Assert.Equal(Model.CapitalChangeState.AwaitingRegulator, stale.State);
        await Host.Shares("central-bank", "regulator").ApproveCapitalChangeAsync(new ApproveCapitalChangeRequest { RequestId = "approve", CapitalChangeId = id });

        var rejected = stale with { State = Model.CapitalChangeState.Rejected, DecidedAt = Host.Time.GetUtcNow(), DecisionReason = "stale" };
        Assert.False(await WriteAsync(s => repository.DecideCapitalChangeAsync(s, rejected, stale.Version)));
        var stored = (await ReadAsync(c => repository.GetCapitalChangeAsync(c, id, null, CancellationToken.None)))!;
        Assert.Equal(Model.CapitalChangeState.Settled, stored.State);
    }

    [Fact]
    public async Task An_appointment_change_from_a_stale_read_changes_nothing()
    {
        var repository = Repository<ExecutiveRepository>();
        var id = await PassAsync(new ProposalAction { AppointExecutive = new AppointExecutive { PersonName = "Li Wei", Role = "ceo" } });
        var stale = (await ReadAsync(c => repository.GetAsync(c, id, null, CancellationToken.None)))!;
        await Host.Executives().ApproveAppointmentAsync(new ApproveAppointmentRequest { RequestId = "approve", AppointmentId = id });

        Assert.False(await WriteAsync(s => repository.UpdateAsync(s, stale with { State = Model.AppointmentState.Rejected, DecisionReason = "stale" }, stale.Version)));
        var stored = (await ReadAsync(c => repository.GetAsync(c, id, null, CancellationToken.None)))!;
        Assert.Equal((Model.AppointmentState.Approved, stale.Version + 1), (stored.State, stored.Version));
    }

    [Fact]
    public async Task An_alliance_change_from_a_stale_read_changes_nothing()
    {
        var repository = Repository<AllianceRepository>();
        var now = Host.Time.GetUtcNow();
        var id = await PassAsync(new ProposalAction
        {
            FormAlliance = new FormAlliance
            {
                InstitutionId = "bureau",
                Scope = new AllianceScope
                {
                    Purposes = { "credit_assessment" }, DataCategories = { "user.financial.transactions" }, Fields = { "amount" },
                    MaxRetention = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromDays(30)),
                    ValidFrom = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now),
                    ValidUntil = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now.AddDays(60)),
                },
            },
        });
        var stale = (await ReadAsync(c => repository.GetAsync(c, id, null, CancellationToken.None)))!;
        await Host.Alliances().ApproveAllianceAsync(new ApproveAllianceRequest { RequestId = "approve", AllianceId = id });

        var rejected = stale with { State = Model.AllianceState.Rejected, StateReason = "stale", UpdatedAt = Host.Time.GetUtcNow() };
        Assert.False(await WriteAsync(s => repository.UpdateAsync(s, rejected, stale.Version)));
        var stored = (await ReadAsync(c => repository.GetAsync(c, id, null, CancellationToken.None)))!;
        Assert.Equal((Model.AllianceState.Active, stale.Version + 1), (stored.State, stored.Version));
    }

    [Fact]
    public async Task A_cancellation_from_a_read_taken_before_a_ballot_changes_nothing()
    {
        var repository = Repository<ProposalRepository>();
        var proposal = await ProposeAsync();
        Host.Time.Advance(TimeSpan.FromDays(7));
        var stale = (await ReadAsync(c => repository.GetAsync(c, proposal.Id, null, CancellationToken.None)))!;
        await VoteAsync("shopwave", proposal.Id, V1.VoteChoice.For);

        Assert.False(await WriteAsync(s => repository.CancelAsync(s, stale, "stale", Host.Time.GetUtcNow())));
        var stored = (await ReadAsync(c => repository.GetAsync(c, proposal.Id, null, CancellationToken.None)))!;
        Assert.Null(stored.CancelledAt);
    }

    [Fact]
    public async Task A_withdrawal_from_a_read_taken_before_a_cancellation_changes_nothing()
    {
        var repository = Repository<ProposalRepository>();
        var proposal = await ProposeAsync();
        var stale = (await ReadAsync(c => repository.GetAsync(c, proposal.Id, null, CancellationToken.None)))!;
        await Host.Proposals("central-bank", "regulator").CancelProposalAsync(new CancelProposalRequest { RequestId = "cancel", ProposalId = proposal.Id, Reason = "unlawful" });

        Assert.False(await WriteAsync(s => repository.WithdrawAsync(s, stale, "stale", Host.Time.GetUtcNow())));
        var stored = (await ReadAsync(c => repository.GetAsync(c, proposal.Id, null, CancellationToken.None)))!;
        Assert.Equal(("unlawful", (DateTimeOffset?)null), (stored.EndReason, stored.WithdrawnAt));
    }

    /// <summary>
    /// The lost-ballot window: the tally read the ballots, a ballot committed, the tally recorded its
    /// count. The ballot bumps the proposal's version, so the stale count is refused and the next
    /// round counts the late ballot.
    /// </summary>
    [Fact]
    public async Task A_tally_that_read_the_ballots_before_a_late_ballot_records_nothing_and_the_next_round_counts_it()
    {
        var repository = Repository<ProposalRepository>();
        var proposal = await ProposeAsync();
        Host.Time.Advance(TimeSpan.FromDays(7));
        await VoteAsync("shopwave", proposal.Id, V1.VoteChoice.For);
        await VoteAsync("paylink", proposal.Id, V1.VoteChoice.For);

        // The tally's read, kept: 5,000 for, nothing against.
        var (stale, staleBallots) = await WriteAsync(async s =>
            ((await repository.GetAsync(s.Connection, proposal.Id, s.Transaction, CancellationToken.None))!, await repository.CountedBallotsAsync(s, proposal.Id)));
        await VoteAsync("paylink", proposal.Id, V1.VoteChoice.Against);
        await VoteAsync("state-investor", proposal.Id, V1.VoteChoice.Against, "state_investor");
        await VoteAsync("dashfood", proposal.Id, V1.VoteChoice.Against);

        Host.Time.Advance(TimeSpan.FromDays(2));
        var weights = new Dictionary<string, long>(StringComparer.Ordinal) { ["shopwave"] = 3_000, ["paylink"] = 2_000, ["state-investor"] = 1_000, ["dashfood"] = 100 };
        var staleCount = Model.Tally.Count(stale.Category, stale.Rules, weights, staleBallots, stale.RelatedParties, "state-investor");
        Assert.Equal(Model.ProposalOutcome.Passed, staleCount.Outcome);
        Assert.False(await WriteAsync(s => repository.RecordTallyAsync(s, stale, staleCount, Host.Time.GetUtcNow())));
        Assert.Equal(0L, await Host.ScalarAsync("SELECT COUNT(*) FROM proposal WHERE outcome IS NOT NULL"));

        Assert.Equal(new TallyRound(1, 0, 0), await Repository<ProposalTallier>().TallyDueAsync(CancellationToken.None));
        var closed = (await Host.Proposals("operator", "operator").GetProposalAsync(new GetProposalRequest { ProposalId = proposal.Id })).Proposal;
        Assert.Equal((V1.ProposalState.Failed, 3_000L, 3_100L), (closed.State, closed.Tally.ForWeight, closed.Tally.AgainstWeight));
    }

    [Fact]
    public async Task A_ballot_before_the_opening_is_refused_with_the_opening_time()
    {
        var proposal = await ProposeAsync();
        var opensAt = proposal.OpenTime.ToDateTimeOffset().ToString("O", System.Globalization.CultureInfo.InvariantCulture);

        var early = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => VoteAsync("paylink", proposal.Id, V1.VoteChoice.For));
        Assert.Contains(opensAt, early.Status.Detail, StringComparison.Ordinal);
        var violation = Assert.Single(early.GetRpcStatus()!.GetDetail<PreconditionFailure>().Violations);
        Assert.Contains(opensAt, violation.Description, StringComparison.Ordinal);
    }

    /// <summary>A proposal whose tally throws (its stored action corrupted on purpose) neither blocks the others nor is given up.</summary>
    [Fact]
    public async Task A_proposal_whose_tally_fails_does_not_stop_the_others_and_is_retried_after_its_backoff()
    {
        var broken = await ProposeAsync();
        Host.Time.Advance(TimeSpan.FromSeconds(1));
        var healthy = await ProposeAsync();
        Host.Time.Advance(TimeSpan.FromDays(7) + TimeSpan.FromSeconds(1));
        foreach (var id in new[] { broken.Id, healthy.Id })
        {
            await VoteAsync("shopwave", id, V1.VoteChoice.For);
            await VoteAsync("paylink", id, V1.VoteChoice.For);
        }

        // Not a protobuf message: carrying out the passed proposal's action throws.
        await ExecuteAsync("UPDATE proposal SET action = @Garbage WHERE id = @Broken", new { Broken = broken.Id, Garbage = new byte[] { 0xFF, 0xFF, 0xFF, 0xFF } });
        Host.Time.Advance(TimeSpan.FromDays(2));

        var tallier = Repository<ProposalTallier>();
        using var failures = new CounterReading(GovernanceMetrics.MeterName, "oversight.governance.tally.failures");
        Assert.Equal(new TallyRound(1, 1, 0), await tallier.TallyDueAsync(CancellationToken.None));
        Assert.Equal(1, failures.Total);
        Assert.Equal(V1.ProposalState.Passed, (await Host.Proposals("operator", "operator").GetProposalAsync(new GetProposalRequest { ProposalId = healthy.Id })).Proposal.State);
        Assert.Equal(new TallyRound(0, 0, 1), await tallier.TallyDueAsync(CancellationToken.None));

        // Repaired, it is tallied once its back-off has run out.
        await ExecuteAsync("""
            UPDATE proposal SET action = (SELECT action FROM proposal WHERE id = @Healthy) WHERE id = @Broken
            """, new { Broken = broken.Id, Healthy = healthy.Id });
        Host.Time.Advance(ProposalTallier.FirstBackoff);
        Assert.Equal(new TallyRound(1, 0, 0), await tallier.TallyDueAsync(CancellationToken.None));
        Assert.Equal(V1.ProposalState.Passed, (await Host.Proposals("operator", "operator").GetProposalAsync(new GetProposalRequest { ProposalId = broken.Id })).Proposal.State);
    }

    /// <summary>An alliance whose expiry fails (its row refuses the write) neither keeps the others alive nor is given up.</summary>
    [Fact]
    public async Task An_alliance_whose_expiry_fails_does_not_keep_the_others_alive_and_is_expired_next_round()
    {
        var formed = new List<string>();
        foreach (var days in new[] { 10, 11 })
        {
            formed.Add(await PassAsync(new ProposalAction
            {
                FormAlliance = new FormAlliance
                {
                    InstitutionId = "bureau",
                    Scope = new AllianceScope
                    {
                        Purposes = { "credit_assessment" }, DataCategories = { "user.financial.transactions" }, Fields = { "amount" },
                        MaxRetention = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromDays(30)),
                        ValidFrom = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Host.Time.GetUtcNow()),
                        ValidUntil = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Host.Time.GetUtcNow().AddDays(days)),
                    },
                },
            }));
        }

        // The first alliance due refuses every write, as a failing row would.
        await using (var connection = await Host.Database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync($"""
                CREATE TRIGGER refuse_expiry BEFORE UPDATE ON alliance WHEN OLD.id = '{formed[0]}'
                BEGIN SELECT RAISE(ABORT, 'refused on purpose'); END;
                """);
        }

        Host.Time.Advance(TimeSpan.FromDays(12));
        var expiry = Repository<Application.Alliances>();
        Assert.Equal(1, await expiry.ExpireDueAsync(CancellationToken.None));
        Assert.Equal([AllianceState.AwaitingRegulator, AllianceState.Expired], await StatesAsync());

        await using (var connection = await Host.Database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("DROP TRIGGER refuse_expiry");
        }

        Assert.Equal(1, await expiry.ExpireDueAsync(CancellationToken.None));
        Assert.Equal([AllianceState.Expired, AllianceState.Expired], await StatesAsync());

        async Task<AllianceState[]> StatesAsync()
        {
            var states = new List<AllianceState>();
            foreach (var id in formed)
            {
                states.Add((await Host.Alliances().GetAllianceAsync(new GetAllianceRequest { AllianceId = id })).Alliance.State);
            }

            return [.. states];
        }
    }

    private async Task ExecuteAsync(string sql, object parameters)
    {
        await using var connection = await Host.Database.OpenAsync(CancellationToken.None);
        Assert.Equal(1, await connection.ExecuteAsync(sql, parameters));
    }
}

/// <summary>The sum a counter recorded while this reading was open (a real <see cref="MeterListener"/>, as an exporter sees it).</summary>
internal sealed class CounterReading : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public CounterReading(string meter, string instrument)
    {
        _listener.InstrumentPublished = (published, listener) =>
        {
            if (published.Meter.Name == meter && published.Name == instrument)
            {
                listener.EnableMeasurementEvents(published);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
