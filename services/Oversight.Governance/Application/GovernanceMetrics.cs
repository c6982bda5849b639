using System.Diagnostics.Metrics;

namespace Oversight.Governance.Application;

/// <summary>Governance's own instruments, exported with the host's (meter <c>Oversight.Governance</c>).</summary>
public static class GovernanceMetrics
{
    public const string MeterName = "Oversight.Governance";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Tallies that threw; each such proposal is retried after its back-off, so a rising count wants a look at the log.</summary>
    public static readonly Counter<long> TallyFailures = Meter.CreateCounter<long>(
        "oversight.governance.tally.failures", unit: "{proposal}", description: "Proposals whose tally failed and will be retried");
}
