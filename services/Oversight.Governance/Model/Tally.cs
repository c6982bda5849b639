namespace Oversight.Governance.Model;

public enum ProposalCategory { Ordinary = 1, Special = 2, ReservedMatter = 3 }

public enum VoteChoice { For = 1, Against = 2, Abstain = 3 }

public enum ProposalOutcome { Passed = 1, Failed = 2, QuorumFailed = 3, Vetoed = 4 }

/// <summary>
/// A fraction of two integers, compared by cross-multiplication so that 2/3 means exactly two
/// thirds (basis points cannot say that).
/// </summary>
public readonly record struct Fraction(long Numerator, long Denominator)
{
    public static Fraction Of(long numerator, long denominator)
    {
        if (denominator <= 0 || numerator < 0 || numerator > denominator)
        {
            throw new ArgumentOutOfRangeException(nameof(denominator), $"{numerator}/{denominator} is not a fraction between 0 and 1.");
        }

        return new Fraction(numerator, denominator);
    }

    /// <summary>part / whole ≥ this fraction.</summary>
    public bool IsReachedBy(long part, long whole) => (Int128)part * Denominator >= (Int128)whole * Numerator;

    /// <summary>part / whole &gt; this fraction.</summary>
    public bool IsExceededBy(long part, long whole) => (Int128)part * Denominator > (Int128)whole * Numerator;

    public override string ToString() => $"{Numerator}/{Denominator}";
}

/// <summary>
/// The voting rules frozen on a proposal when it is created, with the version of the rulebook
/// they came from: ordinary resolutions need more FOR than half of FOR + AGAINST (a tie fails),
/// special ones at least the special fraction of FOR + AGAINST, reserved matters the same and no
/// veto from the management-share holder; every category needs the quorum of entitled votes cast
/// (abstentions count towards the quorum).
/// </summary>
public sealed record VotingRules(int RuleVersion, Fraction Quorum, Fraction OrdinaryMajority, Fraction SpecialMajority)
{
    public static VotingRules Default { get; } = new(1, Fraction.Of(1, 2), Fraction.Of(1, 2), Fraction.Of(2, 3));
}

/// <summary>One holder's counted ballot: the last one it cast.</summary>
public sealed record CountedBallot(string HolderId, VoteChoice Choice);

public sealed record TallyResult(
    ProposalOutcome Outcome, long EntitledWeight, long For, long Against, long Abstain, IReadOnlyList<string> Recused, string Explanation);

/// <summary>Counts a proposal's ballots against the weights at its record date. Plain code, tested without a host.</summary>
public static class Tally
{
    /// <param name="weights">Voting power per holder at the record date.</param>
    /// <param name="ballots">The last ballot of each holder.</param>
    /// <param name="relatedParties">Holders recused from this proposal: in neither numerator nor denominator.</param>
    /// <param name="managementHolder">The holder of the management share, whose AGAINST vetoes a reserved matter.</param>
    public static TallyResult Count(
        ProposalCategory category,
        VotingRules rules,
        IReadOnlyDictionary<string, long> weights,
        IReadOnlyList<CountedBallot> ballots,
        IReadOnlyCollection<string> relatedParties,
        string? managementHolder)
    {
        if (ballots.Select(b => b.HolderId).Distinct(StringComparer.Ordinal).Count() != ballots.Count)
        {
            throw new ArgumentException("At most one counted ballot per holder.", nameof(ballots));
        }

        var recused = weights.Keys.Where(relatedParties.Contains).Order(StringComparer.Ordinal).ToList();
        var entitled = weights.Where(w => !relatedParties.Contains(w.Key)).Sum(w => w.Value);
        long For(VoteChoice choice) => ballots
            .Where(b => b.Choice == choice && !relatedParties.Contains(b.HolderId))
            .Sum(b => weights.GetValueOrDefault(b.HolderId));
        var (yes, no, abstain) = (For(VoteChoice.For), For(VoteChoice.Against), For(VoteChoice.Abstain));

        if (entitled == 0)
        {
            return new TallyResult(ProposalOutcome.QuorumFailed, 0, 0, 0, 0, recused, "No holder is entitled to vote: every holder is recused or holds no votes.");
        }

        if (!rules.Quorum.IsReachedBy(yes + no + abstain, entitled))
        {
            return new TallyResult(ProposalOutcome.QuorumFailed, entitled, yes, no, abstain, recused,
                $"{yes + no + abstain} of {entitled} entitled votes were cast; the quorum is {rules.Quorum}.");
        }

        var passed = category == ProposalCategory.Ordinary
            ? rules.OrdinaryMajority.IsExceededBy(yes, yes + no)
            : yes + no > 0 && rules.SpecialMajority.IsReachedBy(yes, yes + no);
        if (!passed)
        {
            return new TallyResult(ProposalOutcome.Failed, entitled, yes, no, abstain, recused,
                category == ProposalCategory.Ordinary
                    ? $"FOR {yes} is not more than {rules.OrdinaryMajority} of FOR + AGAINST {yes + no}."
                    : $"FOR {yes} is below {rules.SpecialMajority} of FOR + AGAINST {yes + no}.");
        }

        if (category == ProposalCategory.ReservedMatter && managementHolder is not null
            && ballots.Any(b => b.HolderId == managementHolder && b.Choice == VoteChoice.Against))
        {
            return new TallyResult(ProposalOutcome.Vetoed, entitled, yes, no, abstain, recused,
                $"The management-share holder '{managementHolder}' vetoed this reserved matter.");
        }

        return new TallyResult(ProposalOutcome.Passed, entitled, yes, no, abstain, recused, $"FOR {yes}, AGAINST {no}, ABSTAIN {abstain} of {entitled}.");
    }
}
