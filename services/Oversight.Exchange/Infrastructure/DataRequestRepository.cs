using System.Data.Common;
using System.Text.Json;
using Dapper;
using Oversight.BuildingBlocks.Data;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.Infrastructure;

/// <summary>The SQL of requests and their decisions; lists and reasons are JSON.</summary>
public sealed class DataRequestRepository(ExchangeDatabase database)
{
    public async Task<DataRequest?> GetAsync(DbConnection connection, string id, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<RequestRow>(new CommandDefinition(
            ExchangeSql.GetRequest, new { Id = id }, transaction, cancellationToken: cancellationToken)))?.ToDomain();

    public async Task<IReadOnlyList<DataRequest>> ListAsync(
        DbConnection connection, string? institutionId, DataRequestState? state, string? beforeId, int limit, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<RequestRow>(new CommandDefinition(ExchangeSql.ListRequests(database.Dialect),
            new { InstitutionId = institutionId, State = (int?)state, BeforeId = beforeId, Limit = limit }, cancellationToken: cancellationToken)))
        .Select(r => r.ToDomain()).ToList();

    public Task InsertAsync(DbSession session, DataRequest request) =>
        session.ExecuteAsync(ExchangeSql.InsertRequest, new
        {
            request.Id,
            request.InstitutionId,
            DatasetIds = JsonSerializer.Serialize(request.DatasetIds, StoredJson.Options),
            request.Purpose,
            Fields = JsonSerializer.Serialize(request.Fields, StoredJson.Options),
            request.SubjectCount,
            OccurAfterMs = request.OccurAfter?.ToUnixTimeMilliseconds(),
            OccurBeforeMs = request.OccurBefore?.ToUnixTimeMilliseconds(),
            State = (int)request.State,
            Rejections = JsonSerializer.Serialize(request.Rejections, StoredJson.Options),
            request.AllianceId,
            request.AllianceVersion,
            request.RulesVersion,
            Identified = request.Identified ? 1 : 0,
            DecidedAtMs = request.DecidedAt.ToUnixTimeMilliseconds(),
            request.AuditSequence,
        });

    /// <summary>The subjects a request is limited to, as each dataset's blind index of them.</summary>
    public Task InsertSubjectsAsync(DbSession session, string requestId, IEnumerable<(string DatasetId, byte[] SubjectRef)> subjects) =>
        session.ExecuteAsync(ExchangeSql.InsertRequestSubject, subjects.Select(s => new { RequestId = requestId, s.DatasetId, s.SubjectRef }));

    private sealed class RequestRow
    {
        public string Id { get; set; } = "";
        public string InstitutionId { get; set; } = "";
        public string DatasetIds { get; set; } = "[]";
        public string Purpose { get; set; } = "";
        public string Fields { get; set; } = "[]";
        public long SubjectCount { get; set; }
        public long? OccurAfterMs { get; set; }
        public long? OccurBeforeMs { get; set; }
        public long State { get; set; }
        public string Rejections { get; set; } = "[]";
        public string? AllianceId { get; set; }
        public long AllianceVersion { get; set; }
        public long RulesVersion { get; set; }
        public long Identified { get; set; }
        public long DecidedAtMs { get; set; }
        public long AuditSequence { get; set; }

        public DataRequest ToDomain() => new(
            Id, InstitutionId, JsonSerializer.Deserialize<List<string>>(DatasetIds, StoredJson.Options) ?? [], Purpose, JsonSerializer.Deserialize<List<string>>(Fields, StoredJson.Options) ?? [],
            (int)SubjectCount, Time(OccurAfterMs), Time(OccurBeforeMs), (DataRequestState)State,
            JsonSerializer.Deserialize<List<Rejection>>(Rejections, StoredJson.Options) ?? [], AllianceId, AllianceVersion, (int)RulesVersion, Identified != 0,
            DateTimeOffset.FromUnixTimeMilliseconds(DecidedAtMs), AuditSequence);

        private static DateTimeOffset? Time(long? ms) => ms is { } value ? DateTimeOffset.FromUnixTimeMilliseconds(value) : null;
    }
}
