namespace Oversight.Benchmarks;

/// <summary>
/// The appends' baseline: a plain table with audit_entry's columns and indexes (no head, no tree),
/// in the same SQLite file, so the same settings (WAL, synchronous FULL) apply. SQLite only.
/// </summary>
public static class PlainEntry
{
    public const string Create = """
        CREATE TABLE bench_plain_entry (
            sequence       INTEGER NOT NULL PRIMARY KEY CHECK (sequence >= 0),
            recorded_at_ms INTEGER NOT NULL,
            actor_id       TEXT    NOT NULL,
            actor_kind     TEXT    NOT NULL,
            action         TEXT    NOT NULL,
            resource       TEXT    NOT NULL,
            outcome        TEXT    NOT NULL,
            reason         TEXT    NOT NULL,
            subject_ref    TEXT    NULL,
            detail         TEXT    NOT NULL,
            canonical      BLOB    NOT NULL,
            leaf_hash      BLOB    NOT NULL
        );
        CREATE INDEX ix_bench_plain_entry_actor ON bench_plain_entry (actor_id, sequence);
        CREATE INDEX ix_bench_plain_entry_subject ON bench_plain_entry (subject_ref, sequence) WHERE subject_ref IS NOT NULL;
        CREATE INDEX ix_bench_plain_entry_time ON bench_plain_entry (recorded_at_ms, sequence);
        """;

    public const string Insert = """
        INSERT INTO bench_plain_entry (sequence, recorded_at_ms, actor_id, actor_kind, action, resource, outcome, reason, subject_ref, detail, canonical, leaf_hash)
        VALUES (@Sequence, @RecordedAtMs, @ActorId, @ActorKind, @Action, @Resource, @Outcome, @Reason, @SubjectRef, @Detail, @Canonical, @LeafHash);
        """;

    /// <summary>One entry's columns, in audit_entry's order (Dapper maps rows onto it by position and name).</summary>
    public sealed record Row(
        long Sequence, long RecordedAtMs, string ActorId, string ActorKind, string Action, string Resource, string Outcome, string Reason,
        string? SubjectRef, string Detail, byte[] Canonical, byte[] LeafHash);
}
