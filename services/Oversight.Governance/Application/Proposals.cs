using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.Model;

namespace Oversight.Governance.Application;

/// <summary>
/// Proposals and ballots. Weights come from the ledger as of the opening (the record date): the
/// entries recorded up to then, so later transfers or issuances never change a proposal's votes.
/// </summary>
public sealed class Proposals(
    GovernanceDatabase database,
    ProposalRepository proposals,
    ShareRepository shares,
    OrganisationRepository organisations,
    Executives executives,
    Alliances alliances,
    CapitalChanges capitalChanges,
    GovernanceAudit audit, TimeProvider time,
    IOptions<GovernanceOptions> options)
{
    public async Task<Proposal> CreateAsync(
        DbSession session, Caller caller, ProposalCategory category, string title, ProposalAction action, DateTimeOffset opensAt, DateTimeOffset closesAt,
        IReadOnlyList<string> relatedParties)
    {
        var now = time.UtcNowToMillisecond();
        var current = await CapTableAsync(session, now);
        if (!ProposalRules.MayPropose(current, caller.OrganisationId, caller.IsOperator))
        {
            throw new PermissionDeniedException("Only a shareholder with votes or the operator may propose.", "proposals");
        }

        var rulebook = options.Value.Rulebook;
        var violations = new FieldViolations();
        ProposalRules.Validate(rulebook, now, category, action, opensAt, closesAt, current, relatedParties, violations);
        for (var i = 0; i < relatedParties.Count; i++)
        {
            if (await organisations.GetAsync(session.Connection, relatedParties[i], session.Transaction, session.CancellationToken) is null)
            {
                violations.Add($"related_parties[{i}]", $"'{relatedParties[i]}' is not a registered organisation");
            }
        }

        if (action is FormAlliance form
            && (await organisations.GetAsync(session.Connection, form.InstitutionId, session.Transaction, session.CancellationToken))?.Kind != Contracts.Governance.OrganisationKinds.Institution)
        {
            violations.Add("action.form_alliance.institution_id", $"'{form.InstitutionId}' is not a registered institution");
        }

        await capitalChanges.ValidateAsync(session, action, current, violations);
        violations.ThrowIfAny();
        var proposal = new Proposal(Guid.CreateVersion7(now).ToString("D"), category, title, action, caller.OrganisationId, opensAt, closesAt,
            relatedParties, rulebook.Rules(), null, null, null, null, null, now, 1);
        await proposals.InsertAsync(session, proposal);
        await audit.RecordAsync(session, caller, "proposal.created", $"proposal/{proposal.Id}",
            $"{category} '{title}', voting {opensAt:O} to {closesAt:O}, rules v{proposal.Rules.RuleVersion}");
        return proposal;
    }

    public async Task<(long Weight, DateTimeOffset CastAt)> CastAsync(DbSession session, Caller caller, string proposalId, VoteChoice choice)
    {
        var now = time.UtcNowToMillisecond();
        var proposal = await proposals.GetAsync(session.Connection, proposalId, session.Transaction, session.CancellationToken)
            ?? throw new NotFoundException("proposal", proposalId);
        var state = proposal.StateAt(now);
        if (state == ProposalState.Scheduled)
        {
            throw new FailedPreconditionException("STATE", $"proposal/{proposalId}",
                $"Proposal '{proposalId}' is SCHEDULED: it opens for ballots at {proposal.OpensAt:O} (until {proposal.ClosesAt:O}).");
        }

        if (state != ProposalState.Open)
        {
            throw new FailedPreconditionException("STATE", $"proposal/{proposalId}",
                $"Proposal '{proposalId}' is {state.ToString().ToUpperInvariant()}; ballots are cast only while it is open.");
        }

        if (proposal.RelatedParties.Contains(caller.OrganisationId, StringComparer.Ordinal))
        {
            throw new FailedPreconditionException("RECUSED", $"proposal/{proposalId}", $"'{caller.OrganisationId}' is a related party and is recused.");
        }

        var weight = (await CapTableAsync(session, proposal.OpensAt)).Holdings.SingleOrDefault(h => h.HolderId == caller.OrganisationId)?.VotingPower ?? 0;
        if (weight <= 0)
        {
            throw new PermissionDeniedException($"'{caller.OrganisationId}' held no votes at the record date; holders vote only their own shares.", $"proposal/{proposalId}");
        }

        if (!await proposals.InsertBallotAsync(session, proposalId, caller.OrganisationId, choice, weight, now))
        {
            throw new FailedPreconditionException("STATE", $"proposal/{proposalId}",
                $"Proposal '{proposalId}' was closed, tallied or cancelled while this ballot was cast; ballots are cast only while it is open.");
        }

        await audit.RecordAsync(session, caller, "ballot.cast", $"proposal/{proposalId}", $"{choice} with {weight} votes");
        return (weight, now);
    }

    public async Task<Proposal> WithdrawAsync(DbSession session, Caller caller, string proposalId, string? reason)
    {
        var now = time.UtcNowToMillisecond();
        var proposal = await proposals.GetAsync(session.Connection, proposalId, session.Transaction, session.CancellationToken)
            ?? throw new NotFoundException("proposal", proposalId);
        if (proposal.ProposerId != caller.OrganisationId)
        {
            throw new PermissionDeniedException("Only the proposer withdraws a proposal.", $"proposal/{proposalId}");
        }

        if (proposal.StateAt(now) != ProposalState.Scheduled)
        {
            throw new FailedPreconditionException("STATE", $"proposal/{proposalId}", $"Proposal '{proposalId}' can be withdrawn only before it opens.");
        }

        if (!await proposals.WithdrawAsync(session, proposal, reason, now))
        {
            throw new AbortedException($"Proposal '{proposalId}' was changed concurrently; read it again.");
        }

        await audit.RecordAsync(session, caller, "proposal.withdrawn", $"proposal/{proposalId}", reason ?? "");
        return proposal with { WithdrawnAt = now, EndReason = reason, Version = proposal.Version + 1 };
    }

    /// <summary>The regulator cancels a proposal before its tally: its ballots are not counted, its action is not carried out.</summary>
    public async Task<Proposal> CancelAsync(DbSession session, Caller caller, string proposalId, string reason)
    {
        if (!caller.IsRegulator)
        {
            throw new PermissionDeniedException("Only the regulator cancels a proposal.", $"proposal/{proposalId}");
        }

        var now = time.UtcNowToMillisecond();
        var proposal = await proposals.GetAsync(session.Connection, proposalId, session.Transaction, session.CancellationToken)
            ?? throw new NotFoundException("proposal", proposalId);
        var state = proposal.StateAt(now);
        if (state is not (ProposalState.Scheduled or ProposalState.Open or ProposalState.AwaitingTally))
        {
            throw new FailedPreconditionException("STATE", $"proposal/{proposalId}",
                $"Proposal '{proposalId}' is {state.ToString().ToUpperInvariant()}; only a proposal not yet tallied can be cancelled.");
        }

        if (!await proposals.CancelAsync(session, proposal, reason, now))
        {
            throw new AbortedException($"Proposal '{proposalId}' was changed concurrently (a ballot or its tally); read it again.");
        }

        await audit.RecordAsync(session, caller, "proposal.cancelled", $"proposal/{proposalId}", reason);
        return proposal with { CancelledAt = now, EndReason = reason, Version = proposal.Version + 1 };
    }

    /// <summary>
    /// Tallies one closed proposal and carries out its action if it passed, in one transaction; false
    /// when it is not awaiting its tally, or a ballot or another writer changed it since it was read
    /// (nothing is written then: the next round counts again).
    /// </summary>
    public async Task<bool> TallyAsync(string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var session = await database.BeginAsync(cancellationToken);
        var proposal = await proposals.GetAsync(session.Connection, id, session.Transaction, cancellationToken);
        if (proposal is null || proposal.StateAt(now) != ProposalState.AwaitingTally)
        {
            return false;
        }

        var table = await CapTableAsync(session, proposal.OpensAt);
        var weights = table.Holdings.ToDictionary(h => h.HolderId, h => h.VotingPower, StringComparer.Ordinal);
        var management = table.Holdings.FirstOrDefault(h => h.ManagementShares > 0)?.HolderId;
        var result = Tally.Count(proposal.Category, proposal.Rules, weights, await proposals.CountedBallotsAsync(session, id), proposal.RelatedParties, management);
        if (!await proposals.RecordTallyAsync(session, proposal, result, now))
        {
            return false;
        }

        await audit.RecordAsync(session, SystemActor.Governance, "proposal.tallied", $"proposal/{id}", $"{result.Outcome}: {result.Explanation}");
        if (result.Outcome == ProposalOutcome.Passed)
        {
            await executives.CarryOutAsync(session, proposal, now);
            await alliances.CarryOutAsync(session, proposal, now);
            await capitalChanges.CarryOutAsync(session, proposal, now);
        }

        await session.CommitAsync();
        return true;
    }

    /// <summary>The cap table from the ledger entries recorded up to <paramref name="at"/>.</summary>
    private async Task<CapTable> CapTableAsync(DbSession session, DateTimeOffset at)
    {
        if (await shares.FoundedAtAsync(session.Connection, session.Transaction, session.CancellationToken) is null)
        {
            throw new FailedPreconditionException("NOT_FOUNDED", "venture", "The venture is not founded yet: there are no shareholders to vote.");
        }

        var classes = await shares.ClassesAsync(session.Connection, session.Transaction, session.CancellationToken);
        var entries = (await shares.LedgerAsync(session.Connection, long.MaxValue, session.Transaction, session.CancellationToken))
            .Where(e => e.RecordedAt <= at).ToList();
        return ShareLedger.Derive(classes, entries, long.MaxValue);
    }
}
