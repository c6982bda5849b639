using DbUp;
using DbUp.Builder;
using DbUp.Engine;
using DbUp.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Oversight.BuildingBlocks.Data;

/// <summary>
/// Applies a module's versioned scripts with DbUp: first the shared messaging tables, then the
/// module's own, each journaled. Refuses a database whose journal names a script this build does
/// not know: that schema is newer than the code.
/// </summary>
public static class DatabaseMigrator
{
    public static void Migrate(ModuleDatabase database, ILogger logger)
    {
        if (database.Provider == DatabaseProvider.Sqlite)
        {
            PrepareSqlite(database.ConnectionString);
        }
        else
        {
            EnsureDatabase.For.SqlDatabase(database.ConnectionString);
        }

        var upgrader = Builder(database, logger).Build();
        var known = upgrader.GetDiscoveredScripts().Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var unknown = upgrader.GetExecutedScripts().Where(name => !known.Contains(name)).ToList();
        if (unknown.Count > 0)
        {
            throw new SchemaTooNewException(database.Module, unknown);
        }

        var result = upgrader.PerformUpgrade();
        if (!result.Successful)
        {
            throw new InvalidOperationException(
                $"Migrating the {database.Module} database failed at {result.ErrorScript?.Name}.", result.Error);
        }

        database.MarkReady();
    }

    /// <summary>The embedded scripts for a provider, in the order they run; the tests parse them.</summary>
    public static IReadOnlyList<SqlScript> Scripts(ModuleDatabase database) =>
        Builder(database, logger: null).Build().GetDiscoveredScripts();

    private static UpgradeEngineBuilder Builder(ModuleDatabase database, ILogger? logger)
    {
        var folder = database.Provider.ToString();
        var builder = database.Provider == DatabaseProvider.Sqlite
            ? DeployChanges.To.SqliteDatabase(database.ConnectionString)
            : DeployChanges.To.SqlDatabase(database.ConnectionString);

        builder = builder
            .WithScriptsEmbeddedInAssembly(
                typeof(DatabaseMigrator).Assembly,
                name => name.Contains($".Data.Migrations.{folder}.", StringComparison.Ordinal),
                new SqlScriptOptions { RunGroupOrder = 0, ScriptType = ScriptType.RunOnce })
            .WithScriptsEmbeddedInAssembly(
                database.MigrationsAssembly,
                name => name.Contains($".Migrations.{folder}.", StringComparison.Ordinal),
                new SqlScriptOptions { RunGroupOrder = 1, ScriptType = ScriptType.RunOnce })
            .WithTransactionPerScript();

        return logger is null ? builder.LogToNowhere() : builder.LogTo(new DbUpLog(logger));
    }

    private static void PrepareSqlite(string connectionString)
    {
        var path = new SqliteConnectionStringBuilder(connectionString).DataSource;
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        // WAL is a property of the file: set once, it holds for every later connection.
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }

    private sealed class DbUpLog(ILogger logger) : DbUp.Engine.Output.IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => logger.LogTrace("{DbUp}", Format(format, args));
        public void LogDebug(string format, params object[] args) => logger.LogDebug("{DbUp}", Format(format, args));
        public void LogInformation(string format, params object[] args) => logger.LogInformation("{DbUp}", Format(format, args));
        public void LogWarning(string format, params object[] args) => logger.LogWarning("{DbUp}", Format(format, args));
        public void LogError(string format, params object[] args) => logger.LogError("{DbUp}", Format(format, args));
        public void LogError(Exception ex, string format, params object[] args) => logger.LogError(ex, "{DbUp}", Format(format, args));

        private static string Format(string format, object[] args) => args.Length == 0 ? format : string.Format(null, format, args);
    }
}

/// <summary>The database was migrated by a newer build than this one.</summary>
public sealed class SchemaTooNewException(string module, IReadOnlyList<string> unknownScripts)
    : Exception($"The {module} database has scripts this build does not know ({string.Join(", ", unknownScripts)}); refusing to start against a newer schema.")
{
    public IReadOnlyList<string> UnknownScripts { get; } = unknownScripts;
}
