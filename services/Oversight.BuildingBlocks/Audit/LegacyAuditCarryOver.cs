using Microsoft.Extensions.Logging;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// A table of audit rows written before the Merkle log existed (the denial audit, Governance's
/// action audit). <paramref name="Select"/> returns the oldest rows first, at most <c>@Limit</c>,
/// with the columns of <see cref="LegacyAuditRow"/>; <paramref name="Delete"/> removes the rows whose
/// sequence is in <c>@Sequences</c>.
/// </summary>
public sealed record LegacyAuditTable<TDatabase>(string Name, Func<SqlDialect, string> Select, string Delete)
    where TDatabase : ModuleDatabase;

/// <summary>One legacy row as <see cref="LegacyAuditTable{TDatabase}.Select"/> reads it.</summary>
public sealed class LegacyAuditRow
{
    public long Sequence { get; set; }
    public long AtMs { get; set; }
    public string ActorId { get; set; } = "";
    public string ActorKind { get; set; } = "";
    public string Action { get; set; } = "";
    public string Resource { get; set; } = "";
    public string Outcome { get; set; } = "";
    public string Reason { get; set; } = "";
    public string? Method { get; set; }
}

/// <summary>
/// Carries a module's legacy audit rows onto its log at start-up, before anything else can append:
/// oldest first across the tables, keeping each row's time, a batch per transaction. The rows a
/// batch carries are deleted in the transaction that appends them, so a stop midway carries nothing
/// twice and loses nothing; once the tables are empty this costs one read per table.
/// </summary>
public sealed class LegacyAuditCarryOver<TDatabase>(
    ModuleAuditLog<TDatabase> audit, IEnumerable<LegacyAuditTable<TDatabase>> tables, ILogger<LegacyAuditCarryOver<TDatabase>> logger)
    where TDatabase : ModuleDatabase
{
    private const int Batch = 500;

    public async Task<int> CarryAsync(CancellationToken cancellationToken)
    {
        var carried = 0;
        while (true)
        {
            await using var session = await audit.Database.BeginAsync(cancellationToken);
            var candidates = new List<(LegacyAuditTable<TDatabase> Table, LegacyAuditRow Row)>();
            foreach (var table in tables)
            {
                var rows = await session.QueryAsync<LegacyAuditRow>(table.Select(audit.Database.Dialect), new { Limit = Batch });
                candidates.AddRange(rows.Select(row => (table, row)));
            }

            // The oldest of every table's oldest rows are the oldest of all.
            var batch = candidates.OrderBy(c => c.Row.AtMs).ThenBy(c => c.Table.Name, StringComparer.Ordinal).ThenBy(c => c.Row.Sequence).Take(Batch).ToList();
            if (batch.Count == 0)
            {
                if (carried > 0)
                {
                    logger.LogInformation("Carried {Count} audit rows of the {Module} module onto its Merkle log", carried, audit.Database.Module);
                }

                return carried;
            }

            foreach (var (_, row) in batch)
            {
                var detail = row.Method is { Length: > 0 } method ? new Dictionary<string, string> { ["method"] = method } : null;
                await audit.Log.AppendAsync(session,
                    new AuditRecord(row.ActorId, row.ActorKind, row.Action, row.Resource, row.Outcome, row.Reason, Detail: detail),
                    DateTimeOffset.FromUnixTimeMilliseconds(row.AtMs));
            }

            foreach (var group in batch.GroupBy(c => c.Table))
            {
                await session.ExecuteAsync(group.Key.Delete, new { Sequences = group.Select(c => c.Row.Sequence).ToList() });
            }

            await session.CommitAsync();
            carried += batch.Count;
        }
    }
}
