using System.Data.Common;
using Dapper;
using Oversight.BuildingBlocks.Data;
using Oversight.Governance.Model;

namespace Oversight.Governance.Infrastructure;

/// <summary>The SQL of executive appointments.</summary>
public sealed class ExecutiveRepository(GovernanceDatabase database)
{
    public async Task<Appointment?> GetAsync(DbConnection connection, string id, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(GovernanceSql.GetAppointment, new { Id = id }, transaction, cancellationToken: cancellationToken)))?.ToDomain();

    public async Task<IReadOnlyList<Appointment>> ListAsync(
        DbConnection connection, AppointmentState? state, string after, int limit, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<Row>(new CommandDefinition(GovernanceSql.ListAppointments(database.Dialect),
            new { State = (int?)state ?? 0, After = after, Limit = limit }, cancellationToken: cancellationToken)))
        .Select(r => r.ToDomain()).ToList();

    public Task<string?> IdOfProposalAsync(DbConnection connection, string proposalId, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<string?>(new CommandDefinition(GovernanceSql.AppointmentIdOfProposal, new { ProposalId = proposalId }, cancellationToken: cancellationToken));

    public Task InsertAsync(DbSession session, Appointment appointment) =>
        session.ExecuteAsync(GovernanceSql.InsertAppointment, new { appointment.Id, appointment.ProposalId, appointment.PersonName, appointment.Role });

    /// <summary>False when the appointment moved on since it was read.</summary>
    public async Task<bool> UpdateAsync(DbSession session, Appointment changed, long expectedVersion) =>
        await session.ExecuteAsync(GovernanceSql.UpdateAppointment, new
        {
            changed.Id,
            State = (int)changed.State,
            EffectiveAt = changed.EffectiveFrom?.ToUnixTimeMilliseconds(),
            EndedAt = changed.EndedAt?.ToUnixTimeMilliseconds(),
            Reason = changed.DecisionReason,
            ExpectedVersion = expectedVersion,
        }) == 1;

    public async Task<IReadOnlyList<Appointment>> InOfficeAsync(DbConnection connection, DateTimeOffset at, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<Row>(new CommandDefinition(GovernanceSql.InOffice, new { At = at.ToUnixTimeMilliseconds() }, cancellationToken: cancellationToken)))
        .Select(r => r.ToDomain()).ToList();

    private sealed class Row
    {
        public string Id { get; set; } = "";
        public string ProposalId { get; set; } = "";
        public string PersonName { get; set; } = "";
        public string Role { get; set; } = "";
        public long State { get; set; }
        public long? EffectiveAtMs { get; set; }
        public long? EndedAtMs { get; set; }
        public string? DecisionReason { get; set; }
        public long Version { get; set; }

        public Appointment ToDomain() => new(
            Id, ProposalId, PersonName, Role, (AppointmentState)State,
            EffectiveAtMs is { } from ? DateTimeOffset.FromUnixTimeMilliseconds(from) : null,
            EndedAtMs is { } ended ? DateTimeOffset.FromUnixTimeMilliseconds(ended) : null, DecisionReason, Version);
    }
}
