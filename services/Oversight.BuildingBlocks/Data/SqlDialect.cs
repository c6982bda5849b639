using System.Data.Common;
using System.Text.Json;
using Microsoft.Data.SqlClient;
using Microsoft.Data.Sqlite;

namespace Oversight.BuildingBlocks.Data;

/// <summary>Which database a module stores its data in.</summary>
public enum DatabaseProvider
{
    /// <summary>The embedded default and the tests.</summary>
    Sqlite,
    /// <summary>Compose and production.</summary>
    SqlServer,
}

/// <summary>
/// The few statements that differ between SQLite and SQL Server. Everything else a repository
/// runs is written once in the subset both understand.
/// </summary>
public abstract class SqlDialect
{
    public abstract DatabaseProvider Provider { get; }

    /// <summary>Appends a page clause to a query that already has an ORDER BY.</summary>
    public abstract string Page(string orderedQuery, string limitParameter, string? offsetParameter = null);

    /// <summary>An INSERT that reports the identity column it generated as its single result.</summary>
    public abstract string InsertReturning(string table, string columns, string values, string identityColumn);

    /// <summary>
    /// One statement that inserts a row, or overwrites the stored one only when its version is older
    /// (what a read model does with an event that may come late, twice or concurrently); it affects
    /// one row when it wrote and none when the stored row is as new. One statement, so two first
    /// writers of the same key never both insert: the key decides, not a check before the insert.
    /// </summary>
    /// <param name="values">Each column with the parameter it takes; the first is the key.</param>
    /// <param name="insertOnly">Columns written when the row is inserted and never overwritten (when it was first seen).</param>
    /// <param name="finalOnceSet">A column that, once set on the stored row, makes the row final (a repeal: nothing later revives it).</param>
    public abstract string UpsertNewer(
        string table, string versionColumn, (string Column, string Value)[] values, string[]? insertOnly = null, string? finalOnceSet = null);

    /// <summary>The columns an <see cref="UpsertNewer"/> overwrites: all but the key and the insert-only ones.</summary>
    protected static IEnumerable<string> Overwritten((string Column, string Value)[] values, string[]? insertOnly) =>
        values.Skip(1).Select(v => v.Column).Where(c => insertOnly?.Contains(c) != true);

    /// <summary>
    /// The texts of a JSON array parameter as a one-column set, for <c>column IN (…)</c> over many
    /// values: one parameter however many there are. (SQL Server takes at most 2,100 parameters, and
    /// Microsoft.Data.Sqlite binds each of a list's expanded parameters by name, a cost that grows with
    /// the square of their number: 15 µs a value at 1,000.) Bind the array made by <see cref="JsonTexts"/>.
    /// </summary>
    public abstract string TextsIn(string jsonParameter);

    /// <summary>
    /// A table hint (with its leading space) for a read in a write transaction that holds the rows it
    /// read until the transaction ends, so a decision made on them cannot race another writer's. Empty
    /// on SQLite, whose write transaction already holds the whole database.
    /// </summary>
    public abstract string UpdateLock { get; }

    /// <summary>The parameter value <see cref="TextsIn"/> reads.</summary>
    public static string JsonTexts(IEnumerable<string> values) => JsonSerializer.Serialize(values);

    /// <summary>
    /// Claims up to <c>@Batch</c> unsent outbox rows for <c>@Owner</c> until <c>@LeaseUntil</c>
    /// and returns them in order; rows another relay holds are skipped.
    /// </summary>
    /// <remarks>
    /// The order promised: <b>per aggregate</b>, with one relay publishing at a time (the relay's
    /// turn, <c>outbox_relay_turn</c>, however many replicas run one). Every application
    /// write changes the aggregate's row under its version guard <i>before</i> it enqueues the
    /// event, so the next writer of that aggregate waits for the row and is given its sequence only
    /// after the earlier event committed; the relay publishes in sequence order and stops at the
    /// first failure. So an aggregate's events leave in version order. Not promised: an order
    /// across aggregates (on SQL Server a sequence is taken at insert, not at commit, and READPAST
    /// skips a lower sequence still uncommitted, so a later transaction's event of another aggregate
    /// can leave first), nor the order in the moment a relay that stalled past its turn's lease
    /// publishes the one event it was sending while its successor starts. Consumers keep the version
    /// every event carries and drop stale ones, which covers both. A parked (unreadable) row is the one
    /// event ever passed over.
    /// </remarks>
    public abstract string ClaimOutboxBatch { get; }

    /// <summary>True when the exception is a unique or primary key violation.</summary>
    public abstract bool IsUniqueViolation(DbException exception);

    /// <summary>True when the database was too busy to take the write (lock or deadlock).</summary>
    public abstract bool IsContention(DbException exception);

    /// <summary>
    /// True when the same statement may succeed later without any change to the request: the
    /// store is busy, unreachable, out of space or briefly read-only. Contention is one case.
    /// </summary>
    public abstract bool IsTransient(DbException exception);

    public static SqlDialect For(DatabaseProvider provider) => provider switch
    {
        DatabaseProvider.Sqlite => SqliteDialect.Instance,
        DatabaseProvider.SqlServer => SqlServerDialect.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown database provider."),
    };
}

public sealed class SqliteDialect : SqlDialect
{
    public static readonly SqliteDialect Instance = new();

    public override DatabaseProvider Provider => DatabaseProvider.Sqlite;

    public override string Page(string orderedQuery, string limitParameter, string? offsetParameter = null) =>
        offsetParameter is null
            ? $"{orderedQuery} LIMIT {limitParameter}"
            : $"{orderedQuery} LIMIT {limitParameter} OFFSET {offsetParameter}";

    public override string InsertReturning(string table, string columns, string values, string identityColumn) =>
        $"INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING {identityColumn};";

    public override string TextsIn(string jsonParameter) => $"SELECT value FROM json_each({jsonParameter})";

    public override string UpdateLock => "";

    public override string UpsertNewer(
        string table, string versionColumn, (string Column, string Value)[] values, string[]? insertOnly = null, string? finalOnceSet = null) => $"""
        INSERT INTO {table} ({string.Join(", ", values.Select(v => v.Column))}) VALUES ({string.Join(", ", values.Select(v => v.Value))})
        ON CONFLICT ({values[0].Column}) DO UPDATE SET {string.Join(", ", Overwritten(values, insertOnly).Select(c => $"{c} = excluded.{c}"))}
         WHERE {table}.{versionColumn} < excluded.{versionColumn}{(finalOnceSet is null ? "" : $" AND {table}.{finalOnceSet} IS NULL")};
        """;

    // SQLite has one writer at a time, so a plain UPDATE over the first rows is already exclusive.
    public override string ClaimOutboxBatch => """
        UPDATE outbox_message
           SET lease_owner = @Owner, lease_until_ms = @LeaseUntil
         WHERE sequence IN (SELECT sequence FROM outbox_message
                             WHERE sent_at_ms IS NULL AND parked_at_ms IS NULL AND (lease_until_ms IS NULL OR lease_until_ms < @Now)
                             ORDER BY sequence LIMIT @Batch)
        RETURNING sequence AS Sequence, message_id AS MessageId, message_type AS MessageType, body AS Body, attempts AS Attempts;
        """;

    public override bool IsUniqueViolation(DbException exception) =>
        // SQLITE_CONSTRAINT_PRIMARYKEY (1555) and SQLITE_CONSTRAINT_UNIQUE (2067)
        exception is SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 1555 or 2067 };

    public override bool IsContention(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: 5 or 6 }; // SQLITE_BUSY, SQLITE_LOCKED

    // SQLITE_READONLY (8, e.g. the file's permissions changed), SQLITE_IOERR (10), SQLITE_FULL (13),
    // SQLITE_CANTOPEN (14): the file or its folder is not usable now, which an operator can fix.
    public override bool IsTransient(DbException exception) =>
        IsContention(exception) || exception is SqliteException { SqliteErrorCode: 8 or 10 or 13 or 14 };
}

public sealed class SqlServerDialect : SqlDialect
{
    public static readonly SqlServerDialect Instance = new();

    public override DatabaseProvider Provider => DatabaseProvider.SqlServer;

    public override string Page(string orderedQuery, string limitParameter, string? offsetParameter = null) =>
        $"{orderedQuery} OFFSET {offsetParameter ?? "0"} ROWS FETCH NEXT {limitParameter} ROWS ONLY";

    public override string InsertReturning(string table, string columns, string values, string identityColumn) =>
        $"INSERT INTO {table} ({columns}) OUTPUT INSERTED.{identityColumn} VALUES ({values});";

    public override string TextsIn(string jsonParameter) => $"SELECT value FROM OPENJSON({jsonParameter})";

    public override string UpdateLock => " WITH (UPDLOCK, HOLDLOCK)";

    // HOLDLOCK: MERGE alone reads the key without a range lock, so two first writers could both insert.
    public override string UpsertNewer(
        string table, string versionColumn, (string Column, string Value)[] values, string[]? insertOnly = null, string? finalOnceSet = null) => $"""
        MERGE {table} WITH (HOLDLOCK) AS stored
        USING (VALUES ({string.Join(", ", values.Select(v => v.Value))})) AS incoming ({string.Join(", ", values.Select(v => v.Column))})
           ON stored.{values[0].Column} = incoming.{values[0].Column}
         WHEN MATCHED AND stored.{versionColumn} < incoming.{versionColumn}{(finalOnceSet is null ? "" : $" AND stored.{finalOnceSet} IS NULL")} THEN
              UPDATE SET {string.Join(", ", Overwritten(values, insertOnly).Select(c => $"{c} = incoming.{c}"))}
         WHEN NOT MATCHED THEN
              INSERT ({string.Join(", ", values.Select(v => v.Column))}) VALUES ({string.Join(", ", values.Select(v => $"incoming.{v.Column}"))});
        """;

    // READPAST lets several relays share the table; UPDLOCK keeps two from claiming the same row.
    // READPAST also passes over rows of transactions not yet committed: their events leave after
    // later ones of other aggregates (the order promised is per aggregate; see the base member).
    public override string ClaimOutboxBatch => """
        WITH next_batch AS (
            SELECT TOP (@Batch) sequence, lease_owner, lease_until_ms
              FROM outbox_message WITH (ROWLOCK, UPDLOCK, READPAST)
             WHERE sent_at_ms IS NULL AND parked_at_ms IS NULL AND (lease_until_ms IS NULL OR lease_until_ms < @Now)
             ORDER BY sequence)
        UPDATE next_batch SET lease_owner = @Owner, lease_until_ms = @LeaseUntil;

        SELECT sequence AS Sequence, message_id AS MessageId, message_type AS MessageType, body AS Body, attempts AS Attempts
          FROM outbox_message
         WHERE lease_owner = @Owner AND lease_until_ms = @LeaseUntil AND sent_at_ms IS NULL
         ORDER BY sequence;
        """;

    public override bool IsUniqueViolation(DbException exception) =>
        exception is SqlException { Number: 2627 or 2601 };

    public override bool IsContention(DbException exception) =>
        exception is SqlException { Number: 1205 or 1222 }; // deadlock victim, lock timeout

    // Connection-level failures (severity 20 and above break the connection) and the numbers
    // SQL Server documents as "retry": timeouts, a database being started or failed over, resource
    // governance, a transport error.
    public override bool IsTransient(DbException exception) =>
        IsContention(exception) || exception is SqlException sql && (sql.Class >= 20 || TransientNumbers.Contains(sql.Number));

    private static readonly HashSet<int> TransientNumbers =
    [
        -2, -1, 2, 20, 53, 64, 121, 233, 1204, 4060, 4221, 10053, 10054, 10060, 10928, 10929, 11001,
        40143, 40197, 40501, 40540, 40613, 42108, 42109, 49918, 49919, 49920,
    ];
}
