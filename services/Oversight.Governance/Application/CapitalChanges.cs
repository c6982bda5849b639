using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts.Governance;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.Model;

namespace Oversight.Governance.Application;

/// <summary>
/// Changes of share capital. A passed issue_shares or cancel_shares proposal becomes an issuance or a
/// cancellation that settles at once, or waits for the regulator when a holder would be new or would
/// reach the threshold with its affiliates — the same rule transfers follow. Outstanding shares never
/// exceed the authorised ones, and nobody loses shares they do not hold: a change the ledger can no
/// longer take when its proposal passes lapses, with the reason.
/// </summary>
public sealed class CapitalChanges(ShareRepository shares, OrganisationRepository organisations, GovernanceAudit audit, TimeProvider time, IOptions<GovernanceOptions> options)
{
    /// <summary>Checks a proposed change against the cap table as it stands; it is checked again when it passes.</summary>
    public async Task ValidateAsync(DbSession session, ProposalAction action, CapTable current, FieldViolations violations)
    {
        if (Ordered(action) is not var (kind, allocations, field))
        {
            return;
        }

        var ordinary = current.Classes.Single(c => c.Kind == ShareClassKind.Ordinary);
        var before = violations.Items.Count;
        for (var i = 0; i < allocations.Count; i++)
        {
            if (allocations[i].ClassId != ordinary.Id)
            {
                violations.Add($"{field}[{i}].class_id", $"must be the ordinary class '{ordinary.Id}'");
            }

            var holder = await organisations.GetAsync(session.Connection, allocations[i].HolderId, session.Transaction, session.CancellationToken);
            if (holder?.Kind is not (OrganisationKinds.Platform or OrganisationKinds.StateInvestor))
            {
                violations.Add($"{field}[{i}].holder_id", $"'{allocations[i].HolderId}' is not a registered platform or the state investor");
            }
        }

        if (violations.Items.Count == before && Change("", "", kind, allocations, DateTimeOffset.UnixEpoch).Obstacle(current) is { } obstacle)
        {
            violations.Add(field, obstacle);
        }
    }

    /// <summary>Carries out a passed proposal's change of capital, in the tally's transaction.</summary>
    public async Task CarryOutAsync(DbSession session, Proposal proposal, DateTimeOffset now)
    {
        if (Ordered(proposal.Action) is not var (kind, allocations, _))
        {
            return;
        }

        var ledger = await shares.SnapshotAsync(session);
        var change = Change(Guid.CreateVersion7(now).ToString("D"), proposal.Id, kind, allocations, now);
        if (change.Obstacle(ledger.Table) is { } obstacle)
        {
            await shares.InsertCapitalChangeAsync(session, change with { State = CapitalChangeState.Lapsed, DecidedAt = now, DecisionReason = obstacle });
            await audit.RecordAsync(session, SystemActor.Governance, "capital_change.lapsed", $"capital-change/{change.Id}", obstacle);
            return;
        }

        var gainers = kind == CapitalChangeKind.Issuance ? allocations.Select(a => a.HolderId) : [];
        var approvalReason = options.Value.TransferThreshold.ApprovalReason(
            ledger.Table, ledger.TableWith(change.Entries(now)), gainers, await organisations.AffiliationGroupsAsync(session));
        if (approvalReason is not null)
        {
            await shares.InsertCapitalChangeAsync(session, change with { ApprovalReason = approvalReason });
            await audit.RecordAsync(session, SystemActor.Governance, "capital_change.awaiting_regulator", $"capital-change/{change.Id}",
                $"{Describe(change)}; awaiting the regulator: {approvalReason}");
            return;
        }

        var sequence = await shares.AppendAsync(session, ledger, change.Entries(now));
        await shares.InsertCapitalChangeAsync(session, change with { State = CapitalChangeState.Settled, DecidedAt = now, LedgerSequence = sequence });
        await audit.RecordAsync(session, SystemActor.Governance, "capital_change.settled", $"capital-change/{change.Id}", Describe(change));
    }

    public async Task<CapitalChange> ApproveAsync(DbSession session, Caller caller, string id, string? reason)
    {
        var change = await AwaitingAsync(session, caller, id);
        var ledger = await shares.SnapshotAsync(session);
        if (change.Obstacle(ledger.Table) is { } obstacle)
        {
            throw new FailedPreconditionException("NO_LONGER_POSSIBLE", $"capital-change/{id}", $"The ledger cannot take this change any more: {obstacle}. Reject it.");
        }

        var now = time.UtcNowToMillisecond();
        var sequence = await shares.AppendAsync(session, ledger, change.Entries(now));
        var settled = change with { State = CapitalChangeState.Settled, DecidedAt = now, DecisionReason = reason, LedgerSequence = sequence, Version = change.Version + 1 };
        await DecideAsync(session, change, settled);
        await audit.RecordAsync(session, caller, "capital_change.approved", $"capital-change/{id}", $"{Describe(change)}. {reason}".TrimEnd(' ', '.'));
        return settled;
    }

    public async Task<CapitalChange> RejectAsync(DbSession session, Caller caller, string id, string reason)
    {
        var change = await AwaitingAsync(session, caller, id);
        var now = time.UtcNowToMillisecond();
        var rejected = change with { State = CapitalChangeState.Rejected, DecidedAt = now, DecisionReason = reason, Version = change.Version + 1 };
        await DecideAsync(session, change, rejected);
        await audit.RecordAsync(session, caller, "capital_change.rejected", $"capital-change/{id}", reason);
        return rejected;
    }

    /// <summary>The change a proposal's action orders, with the request field that names its lines; null for other actions.</summary>
    private static (CapitalChangeKind Kind, IReadOnlyList<Allocation> Allocations, string Field)? Ordered(ProposalAction action) => action switch
    {
        IssueShares issue => (CapitalChangeKind.Issuance, issue.Allocations, "action.issue_shares.allocations"),
        CancelShares cancel => (CapitalChangeKind.Cancellation, cancel.Cancellations, "action.cancel_shares.cancellations"),
        _ => null,
    };

    private static CapitalChange Change(string id, string proposalId, CapitalChangeKind kind, IReadOnlyList<Allocation> allocations, DateTimeOffset now) =>
        new(id, proposalId, kind, allocations, CapitalChangeState.AwaitingRegulator, null, now, null, null, null, 1);

    private static string Describe(CapitalChange change) =>
        $"{(change.Kind == CapitalChangeKind.Issuance ? "issue" : "cancel")} {string.Join(", ", change.Allocations.Select(a => $"{a.Quantity} {a.ClassId} of {a.HolderId}"))}";

    private async Task<CapitalChange> AwaitingAsync(DbSession session, Caller caller, string id)
    {
        if (!caller.IsRegulator)
        {
            throw new PermissionDeniedException("Only the regulator approves or rejects changes of share capital.", $"capital-change/{id}");
        }

        var change = await shares.GetCapitalChangeAsync(session.Connection, id, session.Transaction, session.CancellationToken)
            ?? throw new NotFoundException("capital change", id);
        if (change.State != CapitalChangeState.AwaitingRegulator)
        {
            throw new FailedPreconditionException("STATE", $"capital-change/{id}",
                $"Capital change '{id}' is {change.State.ToString().ToUpperInvariant()}; only a change awaiting the regulator can be decided.");
        }

        return change;
    }

    private async Task DecideAsync(DbSession session, CapitalChange current, CapitalChange decided)
    {
        if (!await shares.DecideCapitalChangeAsync(session, decided, current.Version))
        {
            throw new AbortedException($"Capital change '{current.Id}' was decided concurrently; read it again.");
        }
    }
}
