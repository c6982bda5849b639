using System.Data.Common;
using System.Text.Json;
using Dapper;
using Oversight.BuildingBlocks.Data;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.Infrastructure;

/// <summary>The catalog's SQL: datasets and their schemas (kept as JSON).</summary>
public sealed class DatasetRepository(ExchangeDatabase database)
{
    public async Task<Dataset?> GetAsync(DbConnection connection, string id, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<DatasetRow>(new CommandDefinition(
            ExchangeSql.GetDataset, new { Id = id }, transaction, cancellationToken: cancellationToken)))?.ToDomain();

    public async Task<IReadOnlyList<Dataset>> GetManyAsync(DbConnection connection, IReadOnlyList<string> ids, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<DatasetRow>(new CommandDefinition(
            ExchangeSql.GetDatasets, new { Ids = ids }, transaction, cancellationToken: cancellationToken)))
        .Select(r => r.ToDomain()).ToList();

    public async Task<IReadOnlyList<Dataset>> OwnedByAsync(DbConnection connection, string ownerId, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<DatasetRow>(new CommandDefinition(
            ExchangeSql.DatasetsOwnedBy, new { OwnerId = ownerId }, transaction, cancellationToken: cancellationToken)))
        .Select(r => r.ToDomain()).ToList();

    public async Task<IReadOnlyList<Dataset>> ListAsync(DbConnection connection, DatasetFilter filter, (string Name, string Id) after, int limit, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<DatasetRow>(new CommandDefinition(ExchangeSql.ListDatasets(database.Dialect), new
        {
            AfterName = after.Name,
            AfterId = after.Id,
            filter.OwnerId,
            filter.Category,
            CategoryPrefix = filter.Category is null ? null : EscapeLike(filter.Category) + ".%",
            Pattern = filter.Query is null ? null : "%" + EscapeLike(filter.Query.ToLowerInvariant()) + "%",
            IncludeRetired = filter.IncludeRetired ? 1 : 0,
            Limit = limit,
        }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToDomain()).ToList();
    }

    public Task InsertAsync(DbSession session, Dataset dataset) =>
        session.ExecuteAsync(ExchangeSql.InsertDataset, new
        {
            dataset.Id,
            dataset.OwnerId,
            dataset.Name,
            dataset.DataCategory,
            Fields = JsonSerializer.Serialize(dataset.Fields, StoredJson.Options),
            dataset.Description,
            SearchText = (dataset.Name + "\n" + dataset.Description).ToLowerInvariant(),
            At = dataset.PublishedAt.ToUnixTimeMilliseconds(),
        });

    /// <summary>False when the dataset was retired or changed since it was read.</summary>
    public async Task<bool> RetireAsync(DbSession session, Dataset dataset, DateTimeOffset at) =>
        await session.ExecuteAsync(ExchangeSql.RetireDataset, new { dataset.Id, ExpectedVersion = dataset.Version, At = at.ToUnixTimeMilliseconds() }) == 1;

    public Task AddToRecordCountAsync(DbSession session, string datasetId, long delta) =>
        session.ExecuteAsync(ExchangeSql.AddToRecordCount, new { Id = datasetId, Delta = delta });

    private static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal)
            .Replace("_", "\\_", StringComparison.Ordinal).Replace("[", "\\[", StringComparison.Ordinal);

    private sealed class DatasetRow
    {
        public string Id { get; set; } = "";
        public string OwnerId { get; set; } = "";
        public string Name { get; set; } = "";
        public string DataCategory { get; set; } = "";
        public string Fields { get; set; } = "";
        public string Description { get; set; } = "";
        public long State { get; set; }
        public long PublishedAtMs { get; set; }
        public long? RetiredAtMs { get; set; }
        public long RecordCount { get; set; }
        public long Version { get; set; }

        public Dataset ToDomain() => new(
            Id, OwnerId, Name, DataCategory, JsonSerializer.Deserialize<List<DatasetField>>(Fields, StoredJson.Options) ?? [], Description, (DatasetState)State,
            DateTimeOffset.FromUnixTimeMilliseconds(PublishedAtMs), RetiredAtMs is { } retired ? DateTimeOffset.FromUnixTimeMilliseconds(retired) : null,
            RecordCount, Version);
    }
}

/// <summary>The catalog's filters; null means "any".</summary>
public sealed record DatasetFilter(string? OwnerId, string? Category, string? Query, bool IncludeRetired);
