namespace Oversight.Governance.Model;

public enum ProposalState { Scheduled = 1, Open = 2, AwaitingTally = 3, Passed = 4, Failed = 5, QuorumFailed = 6, Vetoed = 7, Withdrawn = 8, Cancelled = 9 }

/// <summary>A proposal with the rules frozen on it when it was created, and its tally once closed.</summary>
public sealed record Proposal(
    string Id,
    ProposalCategory Category,
    string Title,
    ProposalAction Action,
    string ProposerId,
    DateTimeOffset OpensAt,
    DateTimeOffset ClosesAt,
    IReadOnlyList<string> RelatedParties,
    VotingRules Rules,
    DateTimeOffset? WithdrawnAt,
    DateTimeOffset? CancelledAt,
    string? EndReason,
    TallyResult? Tally,
    DateTimeOffset? TalliedAt,
    DateTimeOffset CreatedAt,
    long Version)
{
    public Fraction Majority => Category == ProposalCategory.Ordinary ? Rules.OrdinaryMajority : Rules.SpecialMajority;

    public ProposalState StateAt(DateTimeOffset now) =>
        WithdrawnAt is not null ? ProposalState.Withdrawn
        : CancelledAt is not null ? ProposalState.Cancelled
        : Tally is { } tally ? tally.Outcome switch
        {
            ProposalOutcome.Passed => ProposalState.Passed,
            ProposalOutcome.Failed => ProposalState.Failed,
            ProposalOutcome.QuorumFailed => ProposalState.QuorumFailed,
            _ => ProposalState.Vetoed,
        }
        : now < OpensAt ? ProposalState.Scheduled
        : now < ClosesAt ? ProposalState.Open
        : ProposalState.AwaitingTally;
}

/// <summary>The rulebook a proposal's rules are frozen from; bound from <c>Oversight:Governance:Rulebook</c>.</summary>
public sealed class Rulebook
{
    public int Version { get; set; } = 1;
    public TimeSpan NoticePeriod { get; set; } = TimeSpan.FromDays(7);
    public TimeSpan MaxVotingWindow { get; set; } = TimeSpan.FromDays(30);
    public long QuorumNumerator { get; set; } = 1;
    public long QuorumDenominator { get; set; } = 2;
    public long SpecialNumerator { get; set; } = 2;
    public long SpecialDenominator { get; set; } = 3;

    public VotingRules Rules() =>
        new(Version, Fraction.Of(QuorumNumerator, QuorumDenominator), Fraction.Of(1, 2), Fraction.Of(SpecialNumerator, SpecialDenominator));
}
