using System.Data.Common;
using Dapper;

namespace Oversight.BuildingBlocks.Data;

/// <summary>
/// A connection with its open transaction: one unit of work. Disposing it without
/// <see cref="CommitAsync"/> rolls back, so a failed call leaves nothing half-written.
/// </summary>
public sealed class DbSession : IAsyncDisposable
{
    private readonly ModuleDatabase _database;
    private bool _committed;
    private bool _outboxPending;
    private bool _disposed;

    internal DbSession(ModuleDatabase database, DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        _database = database;
        Connection = connection;
        Transaction = transaction;
        CancellationToken = cancellationToken;
    }

    public DbConnection Connection { get; }

    public DbTransaction Transaction { get; }

    public CancellationToken CancellationToken { get; }

    public SqlDialect Dialect => _database.Dialect;

    public Task<int> ExecuteAsync(string sql, object? parameters = null) =>
        Connection.ExecuteAsync(Command(sql, parameters));

    public Task<T?> ExecuteScalarAsync<T>(string sql, object? parameters = null) =>
        Connection.ExecuteScalarAsync<T>(Command(sql, parameters));

    public Task<IEnumerable<T>> QueryAsync<T>(string sql, object? parameters = null) =>
        Connection.QueryAsync<T>(Command(sql, parameters));

    public Task<T?> QuerySingleOrDefaultAsync<T>(string sql, object? parameters = null) =>
        Connection.QuerySingleOrDefaultAsync<T>(Command(sql, parameters));

    /// <summary>Called by the outbox so the relay is woken once this transaction commits.</summary>
    internal void NoteOutboxMessage() => _outboxPending = true;

    public async Task CommitAsync()
    {
        await Transaction.CommitAsync(CancellationToken.None);
        _committed = true;
        if (_outboxPending)
        {
            _database.OutboxSignal.Pulse();
        }
    }

    /// <summary>Rolls back what was not committed and closes the connection; a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_committed)
        {
            try
            {
                await Transaction.RollbackAsync(CancellationToken.None);
            }
            catch (InvalidOperationException)
            {
                // The connection already ended the transaction (for example after a broken connection).
            }
            catch (DbException)
            {
                // Same: nothing left to roll back.
            }
        }

        await Transaction.DisposeAsync();
        await Connection.DisposeAsync();
    }

    private CommandDefinition Command(string sql, object? parameters) =>
        new(sql, parameters, Transaction, cancellationToken: CancellationToken);
}
