namespace Oversight.Benchmarks;

/// <summary>
/// The "without its entry" variant of a grant, made in the database because the module offers no
/// seam: <c>ConsentAudit</c> and <c>AuditLog</c> are sealed and <c>ConsentRegister</c> calls them
/// directly, so DI cannot swap in an audit that appends nothing. With these triggers the append
/// still runs but writes no entry and no node: the head stays at 1, so every append takes sequence 0
/// (no trailing 1 bit: no subtree to read or store), and the entry's INSERT is dropped by
/// RAISE(IGNORE). What is left of the audit is the head's UPDATE and SELECT, the canonical encoding
/// and leaf hash, and the compiled-but-ignored INSERT — so the gap measured is a lower bound.
/// SQLite only; the benchmark runs on the embedded default.
/// </summary>
public static class EntrylessGrants
{
    public const string Install = """
        CREATE TRIGGER bench_entry_dropped BEFORE INSERT ON audit_entry BEGIN SELECT RAISE(IGNORE); END;
        CREATE TRIGGER bench_head_stays AFTER UPDATE OF size ON audit_log_head BEGIN UPDATE audit_log_head SET size = 1 WHERE id = 1; END;
        """;

    /// <summary>Drops the triggers and puts the head back at the entries really stored.</summary>
    public const string Remove = """
        DROP TRIGGER bench_entry_dropped;
        DROP TRIGGER bench_head_stays;
        UPDATE audit_log_head SET size = (SELECT COUNT(*) FROM audit_entry) WHERE id = 1;
        """;
}
