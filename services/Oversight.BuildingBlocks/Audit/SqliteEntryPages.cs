using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// The verifier's reads on SQLite, through SQLite's own API on the connection's handle: each
/// statement prepared once, every column taken as a span of the row SQLite holds. Microsoft.Data.Sqlite
/// costs 4–6 µs a row for the twelve columns (a copy or a string for each), more than hashing the
/// entry; this costs about 2 (docs/benchmarks.md, "Audit log"). SQL Server is read through ADO.NET.
/// </summary>
internal sealed class SqliteEntryPages : IEntryPages
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _entries;
    private readonly sqlite3_stmt _nodes;

    public SqliteEntryPages(SqliteConnection connection, int busyTimeoutMs)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        raw.sqlite3_busy_timeout(_db, busyTimeoutMs);
        _entries = Prepare(AuditSql.EntriesBetween);
        _nodes = Prepare(AuditSql.NodesBetween);
    }

    /// <summary>Reads the entries with sequences in [from, to), each checked by <paramref name="columns"/> as it is read.</summary>
    public ValueTask ReadEntriesAsync(long from, long to, EntryColumnCheck columns, List<EntryPageRow> rows, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Bind(_entries, from, to);
        while (Step(_entries))
        {
            var canonical = raw.sqlite3_column_blob(_entries, 10).ToArray();
            var stored = new StoredColumns(
                raw.sqlite3_column_int64(_entries, 0), raw.sqlite3_column_int64(_entries, 1),
                Text(2), Text(3), Text(4), Text(5), Text(6), Text(7),
                raw.sqlite3_column_type(_entries, 8) != raw.SQLITE_NULL, Text(8), Text(9));
            rows.Add(new EntryPageRow(stored.Sequence, canonical, raw.sqlite3_column_blob(_entries, 11).ToArray(), columns.Matches(stored, canonical)));
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Reads the stored subtrees with node ids in [from, to).</summary>
    public ValueTask ReadNodesAsync(long from, long to, Dictionary<long, byte[]> nodes, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Bind(_nodes, from, to);
        while (Step(_nodes))
        {
            nodes[raw.sqlite3_column_int64(_nodes, 0)] = raw.sqlite3_column_blob(_nodes, 1).ToArray();
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _entries.Dispose();
        _nodes.Dispose();
        return ValueTask.CompletedTask;
    }

    private ReadOnlySpan<byte> Text(int column) => raw.sqlite3_column_blob(_entries, column);

    private sqlite3_stmt Prepare(string sql)
    {
        Check(raw.sqlite3_prepare_v2(_db, sql, out var statement));
        return statement;
    }

    private void Bind(sqlite3_stmt statement, long from, long to)
    {
        Check(raw.sqlite3_reset(statement));
        Check(raw.sqlite3_bind_int64(statement, raw.sqlite3_bind_parameter_index(statement, "@From"), from));
        Check(raw.sqlite3_bind_int64(statement, raw.sqlite3_bind_parameter_index(statement, "@To"), to));
    }

    private bool Step(sqlite3_stmt statement)
    {
        var result = raw.sqlite3_step(statement);
        if (result == raw.SQLITE_DONE)
        {
            return false;
        }

        if (result != raw.SQLITE_ROW)
        {
            Check(result);
        }

        return true;
    }

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK)
        {
            throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), result, raw.sqlite3_extended_errcode(_db));
        }
    }
}

/// <summary>One entry as the verifier's folding needs it.</summary>
internal sealed record EntryPageRow(long Sequence, byte[] Canonical, byte[] LeafHash, bool ColumnsMatch);

/// <summary>A row's columns as SQLite holds them: the texts in UTF-8, valid until the next step.</summary>
internal readonly ref struct StoredColumns(
    long sequence, long recordedAtMs, ReadOnlySpan<byte> actorId, ReadOnlySpan<byte> actorKind, ReadOnlySpan<byte> action,
    ReadOnlySpan<byte> resource, ReadOnlySpan<byte> outcome, ReadOnlySpan<byte> reason, bool hasSubject, ReadOnlySpan<byte> subjectRef,
    ReadOnlySpan<byte> detail)
{
    public long Sequence { get; } = sequence;
    public long RecordedAtMs { get; } = recordedAtMs;
    public ReadOnlySpan<byte> ActorId { get; } = actorId;
    public ReadOnlySpan<byte> ActorKind { get; } = actorKind;
    public ReadOnlySpan<byte> Action { get; } = action;
    public ReadOnlySpan<byte> Resource { get; } = resource;
    public ReadOnlySpan<byte> Outcome { get; } = outcome;
    public ReadOnlySpan<byte> Reason { get; } = reason;
    public bool HasSubject { get; } = hasSubject;
    public ReadOnlySpan<byte> SubjectRef { get; } = subjectRef;
    public ReadOnlySpan<byte> Detail { get; } = detail;
}
