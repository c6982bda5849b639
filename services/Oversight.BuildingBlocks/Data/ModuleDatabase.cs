using System.Data.Common;
using System.Reflection;
using Microsoft.Data.SqlClient;
using Oversight.BuildingBlocks.Messaging;
using Microsoft.Data.Sqlite;

namespace Oversight.BuildingBlocks.Data;

/// <summary>Where a module keeps its data: bound from <c>Oversight:&lt;Module&gt;:Database</c>.</summary>
public sealed class DatabaseOptions
{
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>An ADO.NET connection string for the provider.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// SQLite: how long a writer waits for another before SQLITE_BUSY surfaces (it replaces the
    /// connection string's <c>Default Timeout</c>). Short, because a consumer holds its message and
    /// a caller its request that long for each try; a busy store is retried, not waited out.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// One module's database. Each module derives its own type (<c>ConsentDatabase</c>, …) so that
/// several modules in one process never share a registration: the type is the key.
/// </summary>
public abstract class ModuleDatabase
{
    private volatile bool _ready;
    private readonly int _busyTimeoutMs;

    protected ModuleDatabase(string module, DatabaseOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new InvalidOperationException($"The {module} module has no database connection string.");
        }

        Module = module;
        Dialect = SqlDialect.For(options.Provider);
        _busyTimeoutMs = (int)Math.Clamp(options.BusyTimeout.TotalMilliseconds, 1, int.MaxValue);
        ConnectionString = options.Provider == DatabaseProvider.Sqlite
            ? NormaliseSqlite(options.ConnectionString, options.BusyTimeout)
            : options.ConnectionString;
    }

    /// <summary>The module's name, as in <c>--services</c>.</summary>
    public string Module { get; }

    public SqlDialect Dialect { get; }

    public DatabaseProvider Provider => Dialect.Provider;

    public string ConnectionString { get; }

    /// <summary>SQLite: how long a statement waits for a writer or a recovering reader (<see cref="DatabaseOptions.BusyTimeout"/>).</summary>
    internal int BusyTimeoutMs => _busyTimeoutMs;

    /// <summary>Wakes the module's outbox relay when a transaction with events commits.</summary>
    public OutboxSignal OutboxSignal { get; } = new();

    /// <summary>The assembly holding the module's <c>Migrations/&lt;Provider&gt;/*.sql</c> scripts.</summary>
    public virtual Assembly MigrationsAssembly => GetType().Assembly;

    /// <summary>True once the schema is migrated; health answers SERVING only then.</summary>
    public bool IsReady => _ready;

    internal void MarkReady() => _ready = true;

    public DbConnection CreateConnection() => Provider switch
    {
        DatabaseProvider.Sqlite => new SqliteConnection(ConnectionString),
        _ => new SqlConnection(ConnectionString),
    };

    /// <summary>
    /// A connection outside the pool, for health: a pooled connection keeps working on a file whose
    /// folder has gone, while every new one fails. It never creates a missing SQLite file.
    /// </summary>
    public DbConnection CreateUnpooledConnection() => Provider switch
    {
        DatabaseProvider.Sqlite => new SqliteConnection(new SqliteConnectionStringBuilder(ConnectionString) { Pooling = false, Mode = SqliteOpenMode.ReadWrite }.ToString()),
        _ => new SqlConnection(new SqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ToString()),
    };

    public Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => OpenAsync(CreateConnection(), cancellationToken);

    public Task<DbConnection> OpenUnpooledAsync(CancellationToken cancellationToken) => OpenAsync(CreateUnpooledConnection(), cancellationToken);

    private static async Task<DbConnection> OpenAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Opens a connection and begins a write transaction (SQLite: BEGIN IMMEDIATE).</summary>
    public async Task<DbSession> BeginAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken);
        try
        {
            if (connection is SqliteConnection)
            {
                // Writers only (a WAL reader never waits for one): SQLite's own busy handler waits for
                // the other writer in steps of a few milliseconds, where Microsoft.Data.Sqlite alone
                // retries a busy statement every 150 ms, and a write that met another (the outbox
                // relay's, say) waited that long.
                await using var pragma = connection.CreateCommand();
                pragma.CommandText = $"PRAGMA busy_timeout = {_busyTimeoutMs};";
                await pragma.ExecuteNonQueryAsync(cancellationToken);
            }

            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            return new DbSession(this, connection, transaction, cancellationToken);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static string NormaliseSqlite(string connectionString, TimeSpan busyTimeout)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString)
        {
            ForeignKeys = true,
            Pooling = true,
        };
        builder.DefaultTimeout = Math.Max(1, (int)Math.Ceiling(busyTimeout.TotalSeconds));

        return builder.ToString();
    }
}
