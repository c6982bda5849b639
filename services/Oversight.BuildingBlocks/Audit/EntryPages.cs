using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>The verifier's two reads, a page at a time, each statement prepared once for the whole run.</summary>
internal interface IEntryPages : IAsyncDisposable
{
    /// <summary>The entries with sequences in [from, to), in order, each checked by <paramref name="columns"/> as it is read.</summary>
    ValueTask ReadEntriesAsync(long from, long to, EntryColumnCheck columns, List<EntryPageRow> rows, CancellationToken cancellationToken);

    /// <summary>The stored subtrees with node ids in [from, to).</summary>
    ValueTask ReadNodesAsync(long from, long to, Dictionary<long, byte[]> nodes, CancellationToken cancellationToken);
}

internal static class EntryPages
{
    /// <summary>SQLite through its own API (<see cref="SqliteEntryPages"/>), anything else through ADO.NET.</summary>
    public static IEntryPages On(DbConnection connection, int busyTimeoutMs) => connection is SqliteConnection sqlite
        ? new SqliteEntryPages(sqlite, busyTimeoutMs)
        : new AdoEntryPages(connection);
}

/// <summary>The verifier's reads through ADO.NET: SQL Server, or SQLite when a test asks for this path.</summary>
internal sealed class AdoEntryPages(DbConnection connection) : IEntryPages
{
    private readonly DbCommand _entries = Command(connection, AuditSql.EntriesBetween);
    private readonly DbCommand _nodes = Command(connection, AuditSql.NodesBetween);

    public async ValueTask ReadEntriesAsync(long from, long to, EntryColumnCheck columns, List<EntryPageRow> rows, CancellationToken cancellationToken)
    {
        (_entries.Parameters["@From"].Value, _entries.Parameters["@To"].Value) = (from, to);
        await using var reader = await _entries.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var canonical = reader.GetFieldValue<byte[]>(10);
            rows.Add(new EntryPageRow(reader.GetInt64(0), canonical, reader.GetFieldValue<byte[]>(11), columns.Matches(reader, canonical)));
        }
    }

    public async ValueTask ReadNodesAsync(long from, long to, Dictionary<long, byte[]> nodes, CancellationToken cancellationToken)
    {
        (_nodes.Parameters["@From"].Value, _nodes.Parameters["@To"].Value) = (from, to);
        await using var reader = await _nodes.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            nodes[reader.GetInt64(0)] = reader.GetFieldValue<byte[]>(1);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _entries.DisposeAsync();
        await _nodes.DisposeAsync();
    }

    private static DbCommand Command(DbConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in new[] { "@From", "@To" })
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.DbType = DbType.Int64;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}
