using Oversight.BuildingBlocks.Errors;

namespace Oversight.Governance.Model;

/// <summary>Who may propose what, and when it may be voted on.</summary>
public static class ProposalRules
{
    /// <summary>A shareholder with votes may propose, and so may the operator; a holder of non-voting shares may not.</summary>
    public static bool MayPropose(CapTable current, string organisationId, bool isOperator) =>
        isOperator || current.Holdings.Any(h => h.HolderId == organisationId && h.VotingPower > 0);

    /// <summary>
    /// The votes must be announced the notice period ahead and last no longer than the rulebook
    /// allows; an ordinary majority cannot form an alliance or change the share capital; and the
    /// related parties must leave someone to vote.
    /// </summary>
    public static void Validate(
        Rulebook rulebook, DateTimeOffset now, ProposalCategory category, ProposalAction action, DateTimeOffset opensAt, DateTimeOffset closesAt,
        CapTable current, IReadOnlyList<string> relatedParties, FieldViolations violations)
    {
        if (opensAt < now + rulebook.NoticePeriod)
        {
            violations.Add("open_time", $"must give at least the notice period ({rulebook.NoticePeriod}) from now");
        }

        if (closesAt <= opensAt || closesAt - opensAt > rulebook.MaxVotingWindow)
        {
            violations.Add("close_time", $"must be after open_time and within {rulebook.MaxVotingWindow} of it");
        }

        if (category == ProposalCategory.Ordinary && SpecialMatter(action) is { } matter)
        {
            violations.Add("category", $"{matter} needs a special proposal (or a reserved matter)");
        }

        if (current.Holdings.Where(h => h.VotingPower > 0).All(h => relatedParties.Contains(h.HolderId)))
        {
            violations.Add("related_parties", "would recuse every holder with votes: nobody could vote");
        }
    }

    /// <summary>What an action changes that an ordinary majority may not, or null.</summary>
    private static string? SpecialMatter(ProposalAction action) => action switch
    {
        FormAlliance => "an alliance",
        IssueShares or CancelShares => "issuing or cancelling shares",
        _ => null,
    };
}
