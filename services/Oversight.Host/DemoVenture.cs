using Grpc.Core;
using Grpc.Net.Client;
using Oversight.BuildingBlocks.Security;
using Oversight.Governance.V1;

namespace Oversight.Host;

/// <summary>
/// Seeds a demonstration venture through the same RPCs a user would call: the regulator, the state
/// investor, four platforms and two government-backed institutions, then the founding with initial
/// shareholdings. Fixed request ids make it safe to run again on the same data.
/// </summary>
internal static class DemoVenture
{
    private static readonly (string Id, OrganisationKind Kind, string Name)[] Organisations =
    [
        ("central-bank", OrganisationKind.Regulator, "Central Bank (regulator)"),
        ("state-investor", OrganisationKind.StateInvestor, "State Investment Holdings"),
        ("shopwave", OrganisationKind.Platform, "ShopWave (e-commerce)"),
        ("paylink", OrganisationKind.Platform, "PayLink (payments)"),
        ("chatterbox", OrganisationKind.Platform, "Chatterbox (social)"),
        ("dashfood", OrganisationKind.Platform, "DashFood (delivery)"),
        ("state-credit-bureau", OrganisationKind.Institution, "State Credit Reference Bureau"),
        ("public-health-agency", OrganisationKind.Institution, "Public Health Agency"),
    ];

    public static async Task SeedAsync(string governanceAddress, TokenIssuer tokens, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(governanceAddress);
        var headers = new Metadata { { "Authorization", $"Bearer {tokens.Mint("operator", "operator", lifetime: TimeSpan.FromMinutes(5))}" } };
        var registry = new OrganisationService.OrganisationServiceClient(channel);
        foreach (var (id, kind, name) in Organisations)
        {
            await registry.RegisterOrganisationAsync(
                new RegisterOrganisationRequest { RequestId = $"demo-register-{id}", OrganisationId = id, Kind = kind, Name = name, Jurisdiction = "CN" },
                headers, cancellationToken: cancellationToken);
        }

        await new ShareLedgerService.ShareLedgerServiceClient(channel).FoundVentureAsync(new FoundVentureRequest
        {
            RequestId = "demo-founding",
            ShareClasses =
            {
                new ShareClass { Id = "ordinary", Kind = ShareClassKind.Ordinary, VotesPerShare = 1, Authorised = 1_000_000, Transferable = true },
                new ShareClass { Id = "management", Kind = ShareClassKind.Management, VotesPerShare = 0, Authorised = 1 },
            },
            Allocations =
            {
                new Allocation { HolderId = "state-investor", ClassId = "ordinary", Quantity = 300_000 },
                new Allocation { HolderId = "state-investor", ClassId = "management", Quantity = 1 },
                new Allocation { HolderId = "shopwave", ClassId = "ordinary", Quantity = 200_000 },
                new Allocation { HolderId = "paylink", ClassId = "ordinary", Quantity = 200_000 },
                new Allocation { HolderId = "chatterbox", ClassId = "ordinary", Quantity = 150_000 },
                new Allocation { HolderId = "dashfood", ClassId = "ordinary", Quantity = 150_000 },
            },
        }, headers, cancellationToken: cancellationToken);
    }
}
