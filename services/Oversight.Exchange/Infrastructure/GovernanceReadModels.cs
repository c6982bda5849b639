using System.Data.Common;
using System.Text.Json;
using Dapper;
using Oversight.BuildingBlocks.Data;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.Infrastructure;

/// <summary>What Exchange keeps of Governance's events: the alliances and whether the exchange is frozen.</summary>
public sealed class GovernanceReadModels(ExchangeDatabase database)
{
    public async Task<IReadOnlyList<AllianceTerms>> AlliancesOfAsync(DbConnection connection, string institutionId, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<AllianceRow>(new CommandDefinition(
            ExchangeSql.AlliancesOf, new { InstitutionId = institutionId }, transaction, cancellationToken: cancellationToken)))
        .Select(r => r.ToDomain()).ToList();

    public async Task<AllianceTerms?> AllianceAsync(DbConnection connection, string allianceId, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<AllianceRow>(new CommandDefinition(
            ExchangeSql.GetAlliance, new { Id = allianceId }, transaction, cancellationToken: cancellationToken)))?.ToDomain();

    public Task UpsertAllianceAsync(DbSession session, AllianceTerms alliance) =>
        session.ExecuteAsync(ExchangeSql.UpsertAlliance(database.Dialect), new
        {
            Id = alliance.AllianceId,
            alliance.InstitutionId,
            Standing = (int)alliance.Standing,
            Purposes = JsonSerializer.Serialize(alliance.Purposes, StoredJson.Options),
            DataCategories = JsonSerializer.Serialize(alliance.DataCategories, StoredJson.Options),
            Fields = JsonSerializer.Serialize(alliance.Fields, StoredJson.Options),
            IdentifiedData = alliance.IdentifiedData ? 1 : 0,
            MaxRetentionMs = (long)alliance.MaxRetention.TotalMilliseconds,
            ValidFromMs = alliance.ValidFrom.ToUnixTimeMilliseconds(),
            ValidUntilMs = alliance.ValidUntil.ToUnixTimeMilliseconds(),
            alliance.Version,
        });

    public Task SetAllianceStandingAsync(DbSession session, string allianceId, string institutionId, AllianceStanding standing, long version) =>
        session.ExecuteAsync(ExchangeSql.UpsertAllianceStanding(database.Dialect),
            new { Id = allianceId, InstitutionId = institutionId, Standing = (int)standing, Version = version });

    public async Task<ExchangeStanding> ExchangeStandingAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleAsync<StandingRow>(new CommandDefinition(ExchangeSql.GetExchangeStanding, transaction: transaction, cancellationToken: cancellationToken));
        return new ExchangeStanding(row.Frozen != 0, row.Reason, row.Version);
    }

    public Task SetExchangeStandingAsync(DbSession session, bool frozen, string reason, long version) =>
        session.ExecuteAsync(ExchangeSql.SetExchangeStanding, new { Frozen = frozen ? 1 : 0, Reason = reason, Version = version });

    private sealed class AllianceRow
    {
        public string AllianceId { get; set; } = "";
        public string InstitutionId { get; set; } = "";
        public long Standing { get; set; }
        public string Purposes { get; set; } = "[]";
        public string DataCategories { get; set; } = "[]";
        public string Fields { get; set; } = "[]";
        public long IdentifiedData { get; set; }
        public long MaxRetentionMs { get; set; }
        public long ValidFromMs { get; set; }
        public long ValidUntilMs { get; set; }
        public long Version { get; set; }

        public AllianceTerms ToDomain() => new(
            AllianceId, InstitutionId, (AllianceStanding)Standing, List(Purposes), List(DataCategories), List(Fields), IdentifiedData != 0,
            TimeSpan.FromMilliseconds(MaxRetentionMs), DateTimeOffset.FromUnixTimeMilliseconds(ValidFromMs), DateTimeOffset.FromUnixTimeMilliseconds(ValidUntilMs),
            Version);

        private static List<string> List(string json) => JsonSerializer.Deserialize<List<string>>(json, StoredJson.Options) ?? [];
    }

    private sealed class StandingRow
    {
        public long Frozen { get; set; }
        public string Reason { get; set; } = "";
        public long Version { get; set; }
    }
}
