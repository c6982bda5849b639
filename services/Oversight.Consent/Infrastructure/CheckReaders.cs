using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using Oversight.BuildingBlocks.Data;
using Oversight.Consent.Model;

namespace Oversight.Consent.Infrastructure;

/// <summary>
/// The two reads of a unary check — the change clock and one subject's consents — on connections
/// kept open with their statements prepared. Microsoft.Data.Sqlite compiles a statement again for
/// every new command; preparing once per connection removes that from the hottest path, and the
/// answer still comes from the database on every call (no cache to fall behind a revoke). Each
/// statement outside a transaction reads the latest committed state (SQLite WAL, SQL Server
/// READ COMMITTED).
/// </summary>
public sealed class CheckReaders(ConsentDatabase database, Microsoft.Extensions.Options.IOptions<ConsentOptions> options) : IDisposable
{
    private readonly ConcurrentBag<CheckReader> _idle = [];

    // At most this many connections stay open for checks: well inside SQL Server's pool, and a
    // burst of checks waits its turn instead of opening (and keeping) a connection per caller.
    private readonly SemaphoreSlim _slots = new(options.Value.CheckConnections, options.Value.CheckConnections);
    private bool _disposed;

    public async Task<(long Sequence, List<ConsentCoverage> Consents)> ReadAsync(
        string subjectId, string controllerId, string recipientId, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        try
        {
            return await ReadWithSlotAsync(subjectId, controllerId, recipientId, cancellationToken);
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task<(long Sequence, List<ConsentCoverage> Consents)> ReadWithSlotAsync(
        string subjectId, string controllerId, string recipientId, CancellationToken cancellationToken)
    {
        var reader = _idle.TryTake(out var idle) ? idle : await CheckReader.OpenAsync(database, cancellationToken);
        var healthy = false;
        try
        {
            var result = await reader.ReadAsync(subjectId, controllerId, recipientId, cancellationToken);
            healthy = true;
            return result;
        }
        finally
        {
            // A reader that failed mid-call may hold a broken connection: drop it, open a fresh one next time.
            if (healthy && !_disposed)
            {
                _idle.Add(reader);
            }
            else
            {
                await reader.DisposeAsync();
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _slots.Dispose();
        while (_idle.TryTake(out var reader))
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private sealed class CheckReader : IAsyncDisposable
    {
        private readonly DbConnection _connection;
        private readonly DbCommand _sequence;
        private readonly DbCommand _coverage;
        private readonly DbParameter _subject;
        private readonly DbParameter _controller;
        private readonly DbParameter _recipient;

        private CheckReader(DbConnection connection)
        {
            _connection = connection;
            _sequence = connection.CreateCommand();
            _sequence.CommandText = ConsentSql.LatestSequence;
            _coverage = connection.CreateCommand();
            _coverage.CommandText = ConsentSql.CoverageForCheck;
            _subject = Parameter("@SubjectId");
            _controller = Parameter("@ControllerId");
            _recipient = Parameter("@RecipientId");
        }

        public static async Task<CheckReader> OpenAsync(ModuleDatabase database, CancellationToken cancellationToken)
        {
            var connection = await database.OpenAsync(cancellationToken);
            var reader = new CheckReader(connection);
            await reader._sequence.PrepareAsync(cancellationToken);
            await reader._coverage.PrepareAsync(cancellationToken);
            return reader;
        }

        public async Task<(long, List<ConsentCoverage>)> ReadAsync(string subjectId, string controllerId, string recipientId, CancellationToken cancellationToken)
        {
            // The clock first: everything read after it reflects at least this sequence.
            var sequence = Convert.ToInt64(await _sequence.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            _subject.Value = subjectId;
            _controller.Value = controllerId;
            _recipient.Value = recipientId;
            var consents = new List<ConsentCoverage>();
            await using var rows = await _coverage.ExecuteReaderAsync(CommandBehavior.SingleResult, cancellationToken);
            while (await rows.ReadAsync(cancellationToken))
            {
                consents.Add(ConsentRepository.ReadCoverage(rows));
            }

            return (sequence, consents);
        }

        public async ValueTask DisposeAsync()
        {
            await _sequence.DisposeAsync();
            await _coverage.DisposeAsync();
            await _connection.DisposeAsync();
        }

        private DbParameter Parameter(string name)
        {
            var parameter = _coverage.CreateParameter();
            parameter.ParameterName = name;
            parameter.DbType = DbType.String;
            parameter.Size = 128;
            _coverage.Parameters.Add(parameter);
            return parameter;
        }
    }
}
