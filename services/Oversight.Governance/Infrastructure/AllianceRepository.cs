using System.Data.Common;
using Dapper;
using Google.Protobuf;
using Oversight.BuildingBlocks.Data;
using Oversight.Governance.Grpc;
using Oversight.Governance.Model;

namespace Oversight.Governance.Infrastructure;

/// <summary>The SQL of alliances.</summary>
public sealed class AllianceRepository(GovernanceDatabase database)
{
    public async Task<Alliance?> GetAsync(DbConnection connection, string id, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(GovernanceSql.GetAlliance, new { Id = id }, transaction, cancellationToken: cancellationToken)))?.ToDomain();

    public async Task<IReadOnlyList<Alliance>> ListAsync(
        DbConnection connection, AllianceState? state, string after, int limit, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<Row>(new CommandDefinition(GovernanceSql.ListAlliances(database.Dialect),
            new { State = (int?)state ?? 0, After = after, Limit = limit }, cancellationToken: cancellationToken)))
        .Select(r => r.ToDomain()).ToList();

    public Task<string?> IdOfProposalAsync(DbConnection connection, string proposalId, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<string?>(new CommandDefinition(GovernanceSql.AllianceIdOfProposal, new { ProposalId = proposalId }, cancellationToken: cancellationToken));

    public Task InsertAsync(DbSession session, Alliance alliance) =>
        session.ExecuteAsync(GovernanceSql.InsertAlliance, new
        {
            alliance.Id, alliance.ProposalId, alliance.InstitutionId, Scope = ProposalMapping.ToProto(alliance.Scope).ToByteArray(),
            ValidUntil = alliance.ValidUntil.ToUnixTimeMilliseconds(), At = alliance.UpdatedAt.ToUnixTimeMilliseconds(),
        });

    /// <summary>False when the alliance moved on since it was read.</summary>
    public async Task<bool> UpdateAsync(DbSession session, Alliance changed, long expectedVersion) =>
        await session.ExecuteAsync(GovernanceSql.UpdateAlliance, new
        {
            changed.Id, State = (int)changed.State, Reason = changed.StateReason, At = changed.UpdatedAt.ToUnixTimeMilliseconds(), ExpectedVersion = expectedVersion,
        }) == 1;

    public async Task<IReadOnlyList<string>> DueForExpiryAsync(DbConnection connection, DateTimeOffset now, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<string>(new CommandDefinition(
            GovernanceSql.AlliancesDueForExpiry(database.Dialect), new { Now = now.ToUnixTimeMilliseconds(), Limit = 100 }, cancellationToken: cancellationToken))).ToList();

    private sealed class Row
    {
        public string Id { get; set; } = "";
        public string ProposalId { get; set; } = "";
        public string InstitutionId { get; set; } = "";
        public byte[] Scope { get; set; } = [];
        public long State { get; set; }
        public string? StateReason { get; set; }
        public long UpdatedAtMs { get; set; }
        public long Version { get; set; }

        public Alliance ToDomain() => new(
            Id, ProposalId, InstitutionId, ProposalMapping.ToModel(V1.AllianceScope.Parser.ParseFrom(Scope)), (AllianceState)State, StateReason,
            DateTimeOffset.FromUnixTimeMilliseconds(UpdatedAtMs), Version);
    }
}
