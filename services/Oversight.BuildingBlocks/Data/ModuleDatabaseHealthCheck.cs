using Dapper;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Oversight.BuildingBlocks.Data;

/// <summary>
/// Readiness: healthy once the module's schema is migrated and its database takes a write now —
/// a fresh connection (not a pooled one) opens, and an insert succeeds (then rolls back). A store
/// that answers reads but cannot be written is not ready.
/// </summary>
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
            await using var connection = await database.OpenUnpooledAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                Messaging.MessagingSql.ProbeWrite, new { MessageId = Guid.NewGuid().ToString("D") }, transaction, cancellationToken: cancellationToken));
            await transaction.RollbackAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception exception)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"The {database.Module} database cannot be opened or written.", exception);
        }
    }
}

/// <summary>
/// Degraded while the oldest event still waiting in the module's outbox is older than
/// <see cref="Messaging.OutboxOptions.MaxUnsentAge"/>: the broker has been away (or the relay stuck)
/// that long. Writes still succeed, so the module stays ready.
/// </summary>
public sealed class OutboxBacklogHealthCheck<TDatabase>(TDatabase database, TimeProvider time, IOptions<Messaging.OutboxOptions> options) : IHealthCheck
    where TDatabase : ModuleDatabase
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!database.IsReady)
        {
            return HealthCheckResult.Healthy("Not migrated yet; the database check reports it.");
        }

        try
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            var oldest = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(Messaging.MessagingSql.OldestUnsentOutbox, cancellationToken: cancellationToken));
            if (oldest is not { } occurredAt)
            {
                return HealthCheckResult.Healthy();
            }

            var age = time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(occurredAt);
            return age > options.Value.MaxUnsentAge
                ? HealthCheckResult.Degraded($"The {database.Module} outbox's oldest unsent event is {age} old (bound {options.Value.MaxUnsentAge}).")
                : HealthCheckResult.Healthy();
        }
        catch (Exception exception)
        {
            // The database check reports a store that cannot be reached; this one only knows the backlog is unknown.
            return HealthCheckResult.Degraded($"The {database.Module} outbox backlog cannot be read.", exception);
        }
    }
}

/// <summary>Migrates a module's database before the server takes calls or the bus delivers messages.</summary>
public sealed class ModuleDatabaseInitializer<TDatabase>(
    TDatabase database, IEnumerable<Audit.LegacyAuditCarryOver<TDatabase>> carryOvers, ILogger<ModuleDatabaseInitializer<TDatabase>> logger)
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
                break;
            }
            catch (Exception exception) when (exception is not SchemaTooNewException && attempt < 30)
            {
                logger.LogWarning("Migrating the {Module} database failed (attempt {Attempt}): {Error}", database.Module, attempt, exception.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            }
        }

        // Before the module's other work starts, so the carried rows take the log's first sequences.
        foreach (var carryOver in carryOvers)
        {
            await carryOver.CarryAsync(cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
