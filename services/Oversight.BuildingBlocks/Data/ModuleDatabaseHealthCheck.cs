using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Oversight.BuildingBlocks.Data;

/// <summary>Healthy once the module's schema is migrated and the database answers.</summary>
public sealed class ModuleDatabaseHealthCheck<TDatabase>(TDatabase database) : IHealthCheck
    where TDatabase : ModuleDatabase
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!database.IsReady)
        {
            return HealthCheckResult.Unhealthy($"The {database.Module} database is not migrated yet.");
        }

        try
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = Messaging.MessagingSql.Ping;
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception exception)
        {
            return HealthCheckResult.Unhealthy($"The {database.Module} database is unreachable.", exception);
        }
    }
}

/// <summary>Migrates a module's database before the server takes calls or the bus delivers messages.</summary>
public sealed class ModuleDatabaseInitializer<TDatabase>(
    TDatabase database, ILogger<ModuleDatabaseInitializer<TDatabase>> logger)
    : IHostedService
    where TDatabase : ModuleDatabase
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // A database server may still be starting (Compose); retry for a while, but never retry a
        // schema that is newer than this build.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                DatabaseMigrator.Migrate(database, logger);
                return;
            }
            catch (Exception exception) when (exception is not SchemaTooNewException && attempt < 30)
            {
                logger.LogWarning("Migrating the {Module} database failed (attempt {Attempt}): {Error}", database.Module, attempt, exception.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
