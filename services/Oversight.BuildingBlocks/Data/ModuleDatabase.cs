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
}

/// <summary>
/// One module's database. Each module derives its own type (<c>ConsentDatabase</c>, …) so that
/// several modules in one process never share a registration: the type is the key.
/// </summary>
public abstract class ModuleDatabase
{
    private volatile bool _ready;

    protected ModuleDatabase(string module, DatabaseOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new InvalidOperationException($"The {module} module has no database connection string.");
        }

        Module = module;
        Dialect = SqlDialect.For(options.Provider);
        ConnectionString = options.Provider == DatabaseProvider.Sqlite
            ? NormaliseSqlite(options.ConnectionString)
            : options.ConnectionString;
    }

    /// <summary>The module's name, as in <c>--services</c>.</summary>
    public string Module { get; }

    public SqlDialect Dialect { get; }

    public DatabaseProvider Provider => Dialect.Provider;

    public string ConnectionString { get; }

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

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = CreateConnection();
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
            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            return new DbSession(this, connection, transaction, cancellationToken);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static string NormaliseSqlite(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString)
        {
            ForeignKeys = true,
            Pooling = true,
        };
        // A writer waits this long for another to finish before SQLITE_BUSY surfaces.
        if (builder.DefaultTimeout < 5)
        {
            builder.DefaultTimeout = 30;
        }

        return builder.ToString();
    }
}
