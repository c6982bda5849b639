using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using Oversight.Governance.V1;

namespace Oversight.Governance.Tests;

/// <summary>
/// Proposals end to end on a venture of 6,100 ordinary votes: shopwave 3,000, paylink 2,000,
/// state-investor 1,000 (and the management share), dashfood 100. Notice 7 days, window 2 days.
/// </summary>
public abstract class FoundedVentureTests : IAsyncLifetime
{
    protected GovernanceTestHost Host { get; private set; } = null!;

    /// <summary>Who <see cref="ProposeAsync(ProposalAction, V1.ProposalCategory, string[])"/> proposes as.</summary>
    protected string Proposer { get; set; } = "shopwave";

    public async ValueTask InitializeAsync()
    {
        Host = await GovernanceTestHost.StartAsync();
        foreach (var (id, kind) in new[]
        {
            ("shopwave", OrganisationKind.Platform), ("paylink", OrganisationKind.Platform), ("dashfood", OrganisationKind.Platform),
            ("newco", OrganisationKind.Platform), ("state-investor", OrganisationKind.StateInvestor), ("bureau", OrganisationKind.Institution),
        })
        {
            await Host.Organisations().RegisterOrganisationAsync(new RegisterOrganisationRequest { RequestId = id, OrganisationId = id, Kind = kind, Name = id, Jurisdiction = "CN" });
        }

        await Host.Shares().FoundVentureAsync(new FoundVentureRequest
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
        Host.Time.Advance(TimeSpan.FromSeconds(1));
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    protected Task<V1.Proposal> ProposeAsync(V1.ProposalCategory category = V1.ProposalCategory.Ordinary, params string[] related) =>
        ProposeAsync(new ProposalAction { PlainResolution = new PlainResolution { Text = "Resolved: open a Shenzhen office." } }, category, related);

    protected async Task<V1.Proposal> ProposeAsync(ProposalAction action, V1.ProposalCategory category = V1.ProposalCategory.Ordinary, params string[] related)
    {
        var now = Host.Time.GetUtcNow();
        return (await Host.Proposals(Proposer).CreateProposalAsync(new CreateProposalRequest
        {
            RequestId = Guid.NewGuid().ToString(), Category = category, Title = "Open a Shenzhen office",
            Action = action,
            OpenTime = Timestamp.FromDateTimeOffset(now.AddDays(7)), CloseTime = Timestamp.FromDateTimeOffset(now.AddDays(9)),
            RelatedParties = { related },
        })).Proposal;
    }

    protected Task<CastBallotResponse> VoteAsync(string holder, string proposalId, V1.VoteChoice choice, string kind = "platform") =>
        Host.Proposals(holder, kind).CastBallotAsync(new CastBallotRequest { RequestId = Guid.NewGuid().ToString(), ProposalId = proposalId, Choice = choice }).ResponseAsync;

    protected async Task<V1.Proposal> CloseAsync(string proposalId)
    {
        Host.Time.Advance(TimeSpan.FromDays(2));
        await Host.Services.GetRequiredService<Application.ProposalTallier>().TallyDueAsync(CancellationToken.None);
        return (await Host.Proposals("operator", "operator").GetProposalAsync(new GetProposalRequest { ProposalId = proposalId })).Proposal;
    }

    /// <summary>Passes a special proposal with shopwave's and paylink's votes; returns what it created.</summary>
    protected async Task<string> PassAsync(ProposalAction action)
    {
        var passed = await PassProposalAsync(action);
        return passed.AppointmentId + passed.AllianceId + passed.CapitalChangeId;
    }

    protected async Task<V1.Proposal> PassProposalAsync(ProposalAction action)
    {
        var proposal = await ProposeAsync(action, V1.ProposalCategory.Special);
        Host.Time.Advance(TimeSpan.FromDays(7));
        await VoteAsync("shopwave", proposal.Id, V1.VoteChoice.For);
        await VoteAsync("paylink", proposal.Id, V1.VoteChoice.For);
        var closed = await CloseAsync(proposal.Id);
        Assert.Equal(V1.ProposalState.Passed, closed.State);
        return closed;
    }
}
