using Oversight.Governance.Model;

namespace Oversight.Governance.Tests;

public sealed class TallyTests
{
    private static readonly VotingRules Rules = VotingRules.Default;

    private static TallyResult Count(ProposalCategory category, Dictionary<string, long> weights, CountedBallot[] ballots,
        string[]? recused = null, string? management = null) =>
        Tally.Count(category, Rules, weights, ballots, recused ?? [], management);

    private static CountedBallot Ballot(string holder, VoteChoice choice) => new(holder, choice);

    [Fact]
    public void Two_thirds_passes_at_exactly_two_thirds_and_fails_one_vote_below()
    {
        var weights = new Dictionary<string, long> { ["a"] = 200, ["b"] = 100 };
        Assert.Equal(ProposalOutcome.Passed, Count(ProposalCategory.Special, weights, [Ballot("a", VoteChoice.For), Ballot("b", VoteChoice.Against)]).Outcome);

        weights = new Dictionary<string, long> { ["a"] = 199, ["b"] = 100 };
        Assert.Equal(ProposalOutcome.Failed, Count(ProposalCategory.Special, weights, [Ballot("a", VoteChoice.For), Ballot("b", VoteChoice.Against)]).Outcome);

        weights = new Dictionary<string, long> { ["a"] = 201, ["b"] = 100 };
        Assert.Equal(ProposalOutcome.Passed, Count(ProposalCategory.Special, weights, [Ballot("a", VoteChoice.For), Ballot("b", VoteChoice.Against)]).Outcome);
    }

    [Fact]
    public void An_ordinary_tie_fails_and_one_vote_more_passes()
    {
        var tie = new Dictionary<string, long> { ["a"] = 100, ["b"] = 100 };
        Assert.Equal(ProposalOutcome.Failed, Count(ProposalCategory.Ordinary, tie, [Ballot("a", VoteChoice.For), Ballot("b", VoteChoice.Against)]).Outcome);
        var more = new Dictionary<string, long> { ["a"] = 101, ["b"] = 100 };
        Assert.Equal(ProposalOutcome.Passed, Count(ProposalCategory.Ordinary, more, [Ballot("a", VoteChoice.For), Ballot("b", VoteChoice.Against)]).Outcome);
    }

    [Fact]
    public void Quorum_is_reached_at_exactly_its_fraction_and_abstentions_count_towards_it()
    {
        var weights = new Dictionary<string, long> { ["a"] = 50, ["b"] = 50 };
        Assert.Equal(ProposalOutcome.Passed, Count(ProposalCategory.Ordinary, weights, [Ballot("a", VoteChoice.For)]).Outcome);
        weights = new Dictionary<string, long> { ["a"] = 49, ["b"] = 51 };
        Assert.Equal(ProposalOutcome.QuorumFailed, Count(ProposalCategory.Ordinary, weights, [Ballot("a", VoteChoice.For)]).Outcome);
        Assert.Equal(ProposalOutcome.Failed, Count(ProposalCategory.Ordinary, weights, [Ballot("b", VoteChoice.Abstain)]).Outcome);
    }

    [Fact]
    public void No_votes_fail_the_quorum_and_all_recused_is_explained_not_divided_by_zero()
    {
        var weights = new Dictionary<string, long> { ["a"] = 10, ["b"] = 10 };
        Assert.Equal(ProposalOutcome.QuorumFailed, Count(ProposalCategory.Ordinary, weights, []).Outcome);
        var allRecused = Count(ProposalCategory.Special, weights, [Ballot("a", VoteChoice.For)], recused: ["a", "b"]);
        Assert.Equal((ProposalOutcome.QuorumFailed, 0L), (allRecused.Outcome, allRecused.EntitledWeight));
        Assert.Contains("recused", allRecused.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void The_management_share_vetoes_a_reserved_matter_only()
    {
        var weights = new Dictionary<string, long> { ["big"] = 900, ["state"] = 100 };
        CountedBallot[] ballots = [Ballot("big", VoteChoice.For), Ballot("state", VoteChoice.Against)];
        Assert.Equal(ProposalOutcome.Vetoed, Count(ProposalCategory.ReservedMatter, weights, ballots, management: "state").Outcome);
        Assert.Equal(ProposalOutcome.Passed, Count(ProposalCategory.Special, weights, ballots, management: "state").Outcome);
    }

    [Fact]
    public void A_holder_has_at_most_one_counted_ballot() =>
        Assert.Throws<ArgumentException>(() => Count(ProposalCategory.Ordinary, new() { ["a"] = 1 }, [Ballot("a", VoteChoice.For), Ballot("a", VoteChoice.Against)]));

    [Fact]
    public void For_any_votes_the_counts_stay_within_the_entitled_weight_and_recused_holders_count_nowhere()
    {
        var random = new Random(4242);
        for (var round = 0; round < 3000; round++)
        {
            var holders = Enumerable.Range(0, random.Next(1, 9)).Select(i => $"h{i}").ToList();
            var weights = holders.ToDictionary(h => h, _ => random.NextInt64(0, 1_000_000_000));
            var recused = holders.Where(_ => random.Next(4) == 0).ToArray();
            var ballots = holders.Where(_ => random.Next(3) != 0).Select(h => Ballot(h, (VoteChoice)random.Next(1, 4))).ToArray();
            var category = (ProposalCategory)random.Next(1, 4);

            var result = Count(category, weights, ballots, recused, management: holders[0]);

            Assert.Equal(weights.Where(w => !recused.Contains(w.Key)).Sum(w => w.Value), result.EntitledWeight);
            Assert.True(result.For + result.Against + result.Abstain <= result.EntitledWeight);
            Assert.Equal(recused.Order(StringComparer.Ordinal), result.Recused);
            var countedWeight = ballots.Where(b => !recused.Contains(b.HolderId)).Sum(b => weights[b.HolderId]);
            Assert.Equal(countedWeight, result.For + result.Against + result.Abstain);

            // Outcomes agree with the exact arithmetic, never with rounded percentages.
            if (result.Outcome == ProposalOutcome.Passed)
            {
                Assert.True((Int128)(result.For + result.Against + result.Abstain) * 2 >= result.EntitledWeight);
                Assert.True(category == ProposalCategory.Ordinary
                    ? (Int128)result.For * 2 > result.For + result.Against
                    : (Int128)result.For * 3 >= (Int128)(result.For + result.Against) * 2);
            }
        }
    }
}
