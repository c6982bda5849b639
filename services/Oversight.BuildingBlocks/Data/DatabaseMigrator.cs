using DbUp;
using DbUp.Builder;
using DbUp.Engine;
using DbUp.Support;
using Microsoft.Data.SqlClient;
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
            EnableReadCommittedSnapshot(database, logger);
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

    /// <summary>
    /// Row versioning for READ COMMITTED, so a reader (the consistency clock, a check, a page) reads
    /// the last committed rows instead of waiting behind writers; the optimistic version predicates
    /// and the lock hints of the outbox claim are what keep writers apart. ALTER DATABASE cannot run
    /// inside a transaction, and DbUp runs every script in one (its transaction strategy is chosen
    /// per engine, not per script), so this runs here, before the scripts, outside any. NO_WAIT: on
    /// a database other sessions are using it fails at once instead of waiting for them; the service
    /// still works (readers wait behind writers), and an operator can set it in a quiet moment.
    /// </summary>
    private static void EnableReadCommittedSnapshot(ModuleDatabase database, ILogger logger)
    {
        try
        {
            using var connection = new SqlConnection(database.ConnectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = DatabaseSql.EnableReadCommittedSnapshot;
            command.ExecuteNonQuery();
        }
        catch (SqlException exception)
        {
            logger.LogWarning(exception,
                "Could not turn on READ_COMMITTED_SNAPSHOT for the {Module} database (readers will wait behind writers until an operator does)", database.Module);
        }
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

/// <summary>Statements the migrator itself runs against the database, outside the versioned scripts.</summary>
[SqlStatements]
public static class DatabaseSql
{
    /// <summary>SQL Server only; a no-op when already on (Azure SQL has it on by default).</summary>
    public static string EnableReadCommittedSnapshot => """
        IF EXISTS (SELECT 1 FROM sys.databases WHERE database_id = DB_ID() AND is_read_committed_snapshot_on = 0)
            ALTER DATABASE CURRENT SET READ_COMMITTED_SNAPSHOT ON WITH NO_WAIT;
        """;
}
