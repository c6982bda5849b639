using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>Signs a checkpoint of the module's log every interval (nothing new is signed when the log has not grown).</summary>
public sealed class CheckpointSchedule<TDatabase>(
    ModuleAuditLog<TDatabase> audit, TimeSpan interval, TimeProvider time, ILogger<CheckpointSchedule<TDatabase>> logger) : BackgroundService
    where TDatabase : ModuleDatabase
{
    // Made with the service, so the first interval counts from the host's start: ExecuteAsync runs on
    // a thread of its own and may begin later, and a clock moved on before it did would be missed.
    private readonly PeriodicTimer _timer = new(interval, time);

    public override void Dispose()
    {
        _timer.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!audit.Database.IsReady)
                {
                    continue;
                }

                try
                {
                    await audit.Signer.SignAsync(stoppingToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // A busy store tries again next tick; a log that no longer extends its last checkpoint is an alarm.
                    logger.LogError(exception, "Signing a checkpoint of the {Module} audit log failed", audit.Database.Module);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
