using Oversight.Governance.Model;

namespace Oversight.Governance;

/// <summary>The Governance module's settings, bound from <c>Oversight:Governance</c>.</summary>
public sealed class GovernanceOptions
{
    /// <summary>A buyer reaching this fraction of the ordinary shares (with affiliates, inclusive) needs the regulator.</summary>
    public TransferThreshold TransferThreshold { get; set; } = new();

    /// <summary>Notice period, voting window and majorities new proposals are frozen with.</summary>
    public Rulebook Rulebook { get; set; } = new();

    /// <summary>How often proposals whose window closed are tallied.</summary>
    public TimeSpan TallyInterval { get; set; } = TimeSpan.FromSeconds(15);
}
