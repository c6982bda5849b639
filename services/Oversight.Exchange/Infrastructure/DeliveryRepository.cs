using System.Data.Common;
using System.Text.Json;
using Dapper;
using Oversight.BuildingBlocks.Data;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.Infrastructure;

/// <summary>The SQL of deliveries, their pages and their purge attestations; and the vault's reading side for them.</summary>
public sealed class DeliveryRepository(ExchangeDatabase database)
{
    /// <summary>The next sealed records of one dataset for a request, after <paramref name="afterKey"/>.</summary>
    public async Task<IReadOnlyList<StoredRecord>> RecordsAsync(
        DbConnection connection, DataRequest request, string datasetId, string afterKey, int limit, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<StoredRecord>(new CommandDefinition(ExchangeSql.DeliveryRecords(database.Dialect, request.SubjectCount > 0), new
        {
            DatasetId = datasetId,
            AfterKey = afterKey,
            OccurAfterMs = request.OccurAfter?.ToUnixTimeMilliseconds(),
            OccurBeforeMs = request.OccurBefore?.ToUnixTimeMilliseconds(),
            RequestId = request.Id,
            Limit = limit,
        }, cancellationToken: cancellationToken))).ToList();

    public async Task<Delivery?> GetAsync(DbConnection connection, string id, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<DeliveryRow>(new CommandDefinition(ExchangeSql.GetDelivery, new { Id = id }, transaction, cancellationToken: cancellationToken));
        return row is null ? null : (await WithControllersAsync(connection, [row], transaction, cancellationToken))[0];
    }

    public async Task<IReadOnlyList<Delivery>> ListAsync(
        DbConnection connection, string? recipientId, string? controllerId, string? requestId, string? beforeId, int limit, CancellationToken cancellationToken)
    {
        var rows = (await connection.QueryAsync<DeliveryRow>(new CommandDefinition(ExchangeSql.ListDeliveries(database.Dialect),
            new { RecipientId = recipientId, ControllerId = controllerId, RequestId = requestId, BeforeId = beforeId, Limit = limit },
            cancellationToken: cancellationToken))).ToList();
        return await WithControllersAsync(connection, rows, null, cancellationToken);
    }

    public async Task<IReadOnlyList<Delivery>> OverdueAsync(
        DbConnection connection, DateTimeOffset now, string? controllerId, (long Deadline, string Id) after, int limit, CancellationToken cancellationToken)
    {
        var rows = (await connection.QueryAsync<DeliveryRow>(new CommandDefinition(ExchangeSql.ListOverdue(database.Dialect, controllerId is not null),
            new { Now = now.ToUnixTimeMilliseconds(), ControllerId = controllerId, AfterDeadline = after.Deadline, AfterId = after.Id, Limit = limit },
            cancellationToken: cancellationToken))).ToList();
        return await WithControllersAsync(connection, rows, null, cancellationToken);
    }

    public async Task InsertAsync(DbSession session, Delivery delivery)
    {
        await session.ExecuteAsync(ExchangeSql.InsertDelivery, new
        {
            delivery.Id, delivery.DataRequestId, delivery.RecipientId, At = delivery.StartedAt.ToUnixTimeMilliseconds(),
        });
        await session.ExecuteAsync(ExchangeSql.InsertDeliveryController, delivery.ControllerIds.Select(c => new { DeliveryId = delivery.Id, ControllerId = c }));
    }

    /// <summary>Writes the delivery's state and totals; false when it changed since <paramref name="expectedVersion"/> (another stream of it).</summary>
    public async Task<bool> UpdateAsync(DbSession session, Delivery delivery, long expectedVersion) =>
        await session.ExecuteAsync(ExchangeSql.UpdateDelivery, new
        {
            delivery.Id,
            State = (int)delivery.State,
            delivery.StopReason,
            delivery.Pages,
            delivery.Delivered,
            Withheld = JsonSerializer.Serialize(delivery.Withheld, StoredJson.Options),
            RetentionDeadlineMs = delivery.RetentionDeadline?.ToUnixTimeMilliseconds(),
            ExpectedVersion = expectedVersion,
        }) == 1;

    public async Task<bool> AttestPurgeAsync(DbSession session, Delivery delivery, DateTimeOffset at, DateTimeOffset purgedAt, string statement) =>
        await session.ExecuteAsync(ExchangeSql.AttestPurge, new
        {
            delivery.Id, At = at.ToUnixTimeMilliseconds(), PurgedAt = purgedAt.ToUnixTimeMilliseconds(), Statement = statement, ExpectedVersion = delivery.Version,
        }) == 1;

    public async Task<IReadOnlyList<DeliveryPage>> PagesUpToAsync(DbSession session, string deliveryId, long pageNumber) =>
        (await session.QueryAsync<PageRow>(ExchangeSql.DeliveryPagesUpTo, new { DeliveryId = deliveryId, PageNumber = pageNumber })).Select(r => r.ToDomain()).ToList();

    public Task DeletePagesAfterAsync(DbSession session, string deliveryId, long pageNumber) =>
        session.ExecuteAsync(ExchangeSql.DeletePagesAfter, new { DeliveryId = deliveryId, PageNumber = pageNumber });

    public Task InsertPageAsync(DbSession session, string deliveryId, DeliveryPage page, DateTimeOffset at) =>
        session.ExecuteAsync(ExchangeSql.InsertDeliveryPage, new
        {
            DeliveryId = deliveryId,
            page.PageNumber,
            page.End.DatasetIndex,
            LastRecordKey = page.End.AfterRecordKey,
            page.Delivered,
            Withheld = JsonSerializer.Serialize(page.Withheld, StoredJson.Options),
            RetentionDeadlineMs = page.RetentionDeadline?.ToUnixTimeMilliseconds(),
            page.AuditSequence,
            At = at.ToUnixTimeMilliseconds(),
        });

    private static async Task<IReadOnlyList<Delivery>> WithControllersAsync(
        DbConnection connection, IReadOnlyList<DeliveryRow> rows, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return [];
        }

        var shares = (await connection.QueryAsync<ShareRow>(new CommandDefinition(
                ExchangeSql.DeliveryControllers, new { Ids = rows.Select(r => r.Id).ToList() }, transaction, cancellationToken: cancellationToken)))
            .ToLookup(c => c.DeliveryId);
        return rows.Select(r => r.ToDomain(shares[r.Id].OrderBy(c => c.ControllerId, StringComparer.Ordinal).ToList())).ToList();
    }

    /// <summary>One platform's share of a delivery, written with each page of its data.</summary>
    public Task UpdateShareAsync(DbSession session, string deliveryId, string controllerId, DeliveryShare share) =>
        session.ExecuteAsync(ExchangeSql.UpdateDeliveryShare, new
        {
            DeliveryId = deliveryId,
            ControllerId = controllerId,
            share.Delivered,
            Withheld = JsonSerializer.Serialize(share.Withheld, StoredJson.Options),
            RetentionDeadlineMs = share.RetentionDeadline?.ToUnixTimeMilliseconds(),
        });

    private static Dictionary<string, long> Counts(string json) => JsonSerializer.Deserialize<Dictionary<string, long>>(json, StoredJson.Options) ?? [];

    private static DateTimeOffset? Time(long? ms) => ms is { } value ? DateTimeOffset.FromUnixTimeMilliseconds(value) : null;

    private sealed class DeliveryRow
    {
        public string Id { get; set; } = "";
        public string DataRequestId { get; set; } = "";
        public string RecipientId { get; set; } = "";
        public long State { get; set; }
        public string StopReason { get; set; } = "";
        public long Pages { get; set; }
        public long Delivered { get; set; }
        public string Withheld { get; set; } = "{}";
        public long StartedAtMs { get; set; }
        public long? RetentionDeadlineMs { get; set; }
        public long? PurgeAttestedAtMs { get; set; }
        public long? PurgedAtMs { get; set; }
        public string? PurgeStatement { get; set; }
        public long Version { get; set; }

        public Delivery ToDomain(IReadOnlyList<ShareRow> shares) => new(
            Id, DataRequestId, RecipientId, shares.Select(c => c.ControllerId).ToList(), (DeliveryState)State, StopReason, Pages, Delivered, Counts(Withheld),
            DateTimeOffset.FromUnixTimeMilliseconds(StartedAtMs), Time(RetentionDeadlineMs), Time(PurgeAttestedAtMs), Time(PurgedAtMs), PurgeStatement, Version,
            shares.ToDictionary(c => c.ControllerId, c => new DeliveryShare(c.Delivered, Counts(c.Withheld), Time(c.RetentionDeadlineMs)), StringComparer.Ordinal));
    }

    private sealed class ShareRow
    {
        public string DeliveryId { get; set; } = "";
        public string ControllerId { get; set; } = "";
        public long Delivered { get; set; }
        public string Withheld { get; set; } = "{}";
        public long? RetentionDeadlineMs { get; set; }
    }

    private sealed class PageRow
    {
        public long PageNumber { get; set; }
        public long DatasetIndex { get; set; }
        public string LastRecordKey { get; set; } = "";
        public long Delivered { get; set; }
        public string Withheld { get; set; } = "{}";
        public long? RetentionDeadlineMs { get; set; }
        public long AuditSequence { get; set; }

        public DeliveryPage ToDomain() => new(
            PageNumber, new DeliveryCursor((int)DatasetIndex, LastRecordKey), Delivered, Counts(Withheld), Time(RetentionDeadlineMs), AuditSequence);
    }
}

/// <summary>A record as the vault holds it, read for a delivery.</summary>
public sealed class StoredRecord
{
    public string RecordKey { get; set; } = "";
    public byte[] Sealed { get; set; } = [];
}
