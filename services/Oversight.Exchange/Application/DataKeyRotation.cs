using Microsoft.Extensions.Logging;
using Oversight.BuildingBlocks.Hosting;
using Oversight.Exchange.Infrastructure;

namespace Oversight.Exchange.Application;

/// <summary>
/// After a master key rotation (a new active key in the configuration, the old one kept), re-wraps
/// every data key under the active key, without touching a record. It runs at start and then on a
/// clock, so a data key created by a replica still on the old configuration is re-wrapped too.
/// Once a round finds nothing left under the old key, the old key may leave the configuration.
/// </summary>
public sealed class DataKeyRotation(ExchangeDatabase database, DatasetKeys keys, ILogger<DataKeyRotation> logger) : ClockWork(database, logger)
{
    protected override string Name => "the vault's data key re-wrap";

    protected override TimeSpan Interval => TimeSpan.FromMinutes(10);

    protected override async Task RunRoundAsync(CancellationToken cancellationToken)
    {
        var (count, skipped) = await keys.RewrapAllAsync(cancellationToken);
        if (count > 0)
        {
            logger.LogInformation("Re-wrapped {Count} data key(s) under master key {KeyId}", count, keys.Ring.ActiveKeyId);
        }

        if (skipped > 0)
        {
            logger.LogWarning("{Count} data key(s) are wrapped by a master key the configuration lacks; their datasets cannot be read until it is configured", skipped);
        }
    }
}
