using System.Data.Common;
using Dapper;
using Oversight.BuildingBlocks.Data;
using Oversight.Governance.Model;

namespace Oversight.Governance.Infrastructure;

/// <summary>The registry's SQL; reads take a connection, writes a session.</summary>
public sealed class OrganisationRepository(GovernanceDatabase database)
{
    public async Task<Organisation?> GetAsync(DbConnection connection, string id, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            GovernanceSql.GetOrganisation, new { Id = id }, transaction, cancellationToken: cancellationToken)))?.ToDomain();

    /// <summary>How many of the ids are registered.</summary>
    public async Task<int> CountAsync(DbSession session, IReadOnlyList<string> ids) =>
        ids.Count == 0 ? 0 : (int)await session.ExecuteScalarAsync<long>(GovernanceSql.CountOrganisations, new { Ids = ids });

    public async Task<IReadOnlyList<Organisation>> ListAsync(
        DbConnection connection, string? kind, string afterId, int limit, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<Row>(new CommandDefinition(
            GovernanceSql.ListOrganisations(database.Dialect, kind is not null),
            new { Kind = kind, AfterId = afterId, Limit = limit }, transaction, cancellationToken: cancellationToken))).Select(r => r.ToDomain()).ToList();

    /// <summary>Every organisation's group of affiliates, for the holding threshold.</summary>
    public async Task<AffiliationGroups> AffiliationGroupsAsync(DbSession session) =>
        new((await ListAsync(session.Connection, null, "", int.MaxValue, session.Transaction, session.CancellationToken)).Select(o => (o.Id, o.Affiliations)));

    public Task InsertAsync(DbSession session, Organisation organisation) =>
        session.ExecuteAsync(GovernanceSql.InsertOrganisation, new
        {
            organisation.Id,
            organisation.Kind,
            organisation.Name,
            organisation.Jurisdiction,
            Affiliations = string.Join(' ', organisation.Affiliations),
            At = organisation.CreatedAt.ToUnixTimeMilliseconds(),
        });

    /// <summary>False when the stored version is no longer <paramref name="expectedVersion"/>.</summary>
    public async Task<bool> UpdateAsync(DbSession session, Organisation organisation, long expectedVersion) =>
        await session.ExecuteAsync(GovernanceSql.UpdateOrganisation, new
        {
            organisation.Id,
            organisation.Name,
            organisation.Jurisdiction,
            Affiliations = string.Join(' ', organisation.Affiliations),
            At = organisation.UpdatedAt.ToUnixTimeMilliseconds(),
            ExpectedVersion = expectedVersion,
        }) == 1;

    private sealed class Row
    {
        public string Id { get; set; } = "";
        public string Kind { get; set; } = "";
        public string Name { get; set; } = "";
        public string Jurisdiction { get; set; } = "";
        public string Affiliations { get; set; } = "";
        public long CreatedAtMs { get; set; }
        public long UpdatedAtMs { get; set; }
        public long Version { get; set; }

        public Organisation ToDomain() => new(
            Id, Kind, Name, Jurisdiction, Affiliations.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            DateTimeOffset.FromUnixTimeMilliseconds(CreatedAtMs), DateTimeOffset.FromUnixTimeMilliseconds(UpdatedAtMs), Version);
    }
}
