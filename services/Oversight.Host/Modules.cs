using Oversight.Consent;
using Oversight.Exchange;
using Oversight.Governance;

namespace Oversight.Host;

/// <summary>A module the host can run: its name, default port and Add/Map pair.</summary>
internal sealed record HostedModule(
    string Name,
    int DefaultPort,
    Action<WebApplicationBuilder, string> Add,
    Action<WebApplication, int?> Map);

internal static class Modules
{
    /// <summary>Every module that exists, in start order.</summary>
    public static IReadOnlyList<HostedModule> All { get; } =
    [
        new(ConsentModule.Name, ConsentModule.DefaultPort, (builder, data) => builder.AddConsentModule(data), (app, port) => app.MapConsentModule(port)),
        new(GovernanceModule.Name, GovernanceModule.DefaultPort, (builder, data) => builder.AddGovernanceModule(data), (app, port) => app.MapGovernanceModule(port)),
        new(ExchangeModule.Name, ExchangeModule.DefaultPort, (builder, data) => builder.AddExchangeModule(data), (app, port) => app.MapExchangeModule(port)),
    ];

    public static HostedModule? Find(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));
}
