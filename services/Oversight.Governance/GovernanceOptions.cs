using Oversight.Governance.Model;

namespace Oversight.Governance;

/// <summary>The Governance module's settings, bound from <c>Oversight:Governance</c>.</summary>
public sealed class GovernanceOptions
{
    /// <summary>A buyer reaching this fraction of the ordinary shares (with affiliates, inclusive) needs the regulator.</summary>
    public TransferThreshold TransferThreshold { get; set; } = new();
}
