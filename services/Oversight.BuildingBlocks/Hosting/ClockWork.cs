using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Hosting;

/// <summary>
/// Work a module does on a clock (expiring, tallying, signing checkpoints): a round every
/// <see cref="Interval"/>, once the module's database is migrated. A failed round is logged and the
/// next one runs on time; a stop ends the wait at once and lets a round in progress finish.
/// </summary>
public abstract class ClockWork(ModuleDatabase database, ILogger logger) : BackgroundService
{
    /// <summary>What the work is, as the log names it ("the consent expiry sweep").</summary>
    protected abstract string Name { get; }

    protected abstract TimeSpan Interval { get; }

    protected abstract Task RunRoundAsync(CancellationToken cancellationToken);

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (database.IsReady)
                {
                    await RunRoundAsync(stoppingToken);
                }
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(exception, "{Work} failed; it runs again in {Interval}", Name, Interval);
            }

            try
            {
                await Task.Delay(Interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
