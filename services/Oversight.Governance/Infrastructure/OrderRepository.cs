using System.Data.Common;
using Dapper;
using Oversight.BuildingBlocks.Data;
using Oversight.Governance.Model;

namespace Oversight.Governance.Infrastructure;

/// <summary>The SQL of the regulator's orders and of the audit's reading side.</summary>
public sealed class OrderRepository(GovernanceDatabase database)
{
    public async Task<StatutoryMandate?> GetMandateAsync(DbConnection connection, string id, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<MandateRow>(new CommandDefinition(
            GovernanceSql.GetMandate, new { Id = id }, transaction, cancellationToken: cancellationToken)))?.ToDomain();

    public async Task<IReadOnlyList<StatutoryMandate>> ListMandatesAsync(DbConnection connection, string afterId, int limit, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<MandateRow>(new CommandDefinition(
            GovernanceSql.ListMandates(database.Dialect), new { AfterId = afterId, Limit = limit }, cancellationToken: cancellationToken)))
        .Select(r => r.ToDomain()).ToList();

    public Task InsertMandateAsync(DbSession session, StatutoryMandate mandate) =>
        session.ExecuteAsync(GovernanceSql.InsertMandate, new
        {
            mandate.Id,
            mandate.LegalReference,
            mandate.RecipientId,
            Purposes = string.Join(' ', mandate.Purposes),
            DataCategories = string.Join(' ', mandate.DataCategories),
            ValidFrom = mandate.ValidFrom.ToUnixTimeMilliseconds(),
            ValidUntil = mandate.ValidUntil?.ToUnixTimeMilliseconds(),
            At = mandate.EnactedAt.ToUnixTimeMilliseconds(),
        });

    /// <summary>False when the mandate was repealed (or otherwise changed) since it was read.</summary>
    public async Task<bool> RepealMandateAsync(DbSession session, StatutoryMandate mandate, string reason, DateTimeOffset at) =>
        await session.ExecuteAsync(GovernanceSql.RepealMandate,
            new { mandate.Id, ExpectedVersion = mandate.Version, Reason = reason, At = at.ToUnixTimeMilliseconds() }) == 1;

    public async Task<ExchangeStatus> ExchangeStatusAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleAsync<StatusRow>(new CommandDefinition(GovernanceSql.GetExchangeStatus, transaction: transaction, cancellationToken: cancellationToken));
        return new ExchangeStatus(row.Frozen != 0, row.Reason, row.OrderId, DateTimeOffset.FromUnixTimeMilliseconds(row.UpdatedAtMs), row.Version);
    }

    /// <summary>False when another order changed the status since <paramref name="expectedVersion"/>.</summary>
    public async Task<bool> SetExchangeStatusAsync(DbSession session, bool frozen, string reason, string orderId, DateTimeOffset at, long expectedVersion) =>
        await session.ExecuteAsync(GovernanceSql.SetExchangeStatus, new
        {
            Frozen = frozen ? 1 : 0,
            Reason = reason,
            OrderId = orderId,
            At = at.ToUnixTimeMilliseconds(),
            ExpectedVersion = expectedVersion,
        }) == 1;

    private sealed class MandateRow
    {
        public string Id { get; set; } = "";
        public string LegalReference { get; set; } = "";
        public string RecipientId { get; set; } = "";
        public string Purposes { get; set; } = "";
        public string DataCategories { get; set; } = "";
        public long ValidFromMs { get; set; }
        public long? ValidUntilMs { get; set; }
        public long EnactedAtMs { get; set; }
        public long? RepealedAtMs { get; set; }
        public string? RepealReason { get; set; }
        public long Version { get; set; }

        public StatutoryMandate ToDomain() => new(
            Id, LegalReference, RecipientId, Purposes.Split(' ', StringSplitOptions.RemoveEmptyEntries), DataCategories.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            DateTimeOffset.FromUnixTimeMilliseconds(ValidFromMs), ValidUntilMs is { } until ? DateTimeOffset.FromUnixTimeMilliseconds(until) : null,
            DateTimeOffset.FromUnixTimeMilliseconds(EnactedAtMs), RepealedAtMs is { } repealed ? DateTimeOffset.FromUnixTimeMilliseconds(repealed) : null,
            RepealReason, Version);
    }

    private sealed class StatusRow
    {
        public long Frozen { get; set; }
        public string Reason { get; set; } = "";
        public string OrderId { get; set; } = "";
        public long UpdatedAtMs { get; set; }
        public long Version { get; set; }
    }
}
