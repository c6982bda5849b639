using Microsoft.Extensions.Logging;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts.Governance;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.Model;

namespace Oversight.Governance.Application;

/// <summary>
/// Alliances: a passed proposal forms one (awaiting the regulator) or terminates one; the
/// regulator approves (ACTIVE), rejects, suspends and resumes; a job expires them at the end of
/// their validity. Every transition is an event carrying what Exchange needs.
/// </summary>
public sealed class Alliances(
    GovernanceDatabase database, AllianceRepository alliances, GovernanceAudit audit, TimeProvider time, ILogger<Alliances> logger)
{
    public async Task CarryOutAsync(DbSession session, Proposal proposal, DateTimeOffset now)
    {
        if (proposal.Action is FormAlliance form)
        {
            var alliance = new Alliance(Guid.CreateVersion7(now).ToString("D"), proposal.Id, form.InstitutionId, form.Scope, AllianceState.AwaitingRegulator, null, now, 1);
            await alliances.InsertAsync(session, alliance);
            await audit.RecordAsync(session, SystemActor.Governance, "alliance.formed", $"alliance/{alliance.Id}", $"with {form.InstitutionId}, awaiting the regulator");
        }
        else if (proposal.Action is TerminateAlliance terminate)
        {
            var current = await alliances.GetAsync(session.Connection, terminate.AllianceId, session.Transaction, session.CancellationToken);
            if (current is { State: AllianceState.Active or AllianceState.Suspended })
            {
                var reason = $"terminated by proposal {proposal.Id}";
                var moved = await MoveAsync(session, SystemActor.Governance, current, AllianceState.Terminated, reason, now, "alliance.terminated");
                await GovernanceEvents.EnqueueAsync(session, new AllianceTerminated
                {
                    AllianceId = current.Id, InstitutionId = current.InstitutionId, Reason = reason,
                }, now, moved.Version);
            }
        }
    }

    public async Task<Alliance> ApproveAsync(DbSession session, Caller caller, string id)
    {
        var current = await InStateAsync(session, caller, id, AllianceState.AwaitingRegulator);
        var now = time.UtcNowToMillisecond();
        if (current.ValidUntil <= now)
        {
            throw new FailedPreconditionException("EXPIRED", $"alliance/{id}", $"Alliance '{id}' is past its validity; it cannot become active.");
        }

        var moved = await MoveAsync(session, caller, current, AllianceState.Active, null, now, "alliance.approved");
        await GovernanceEvents.EnqueueAsync(session, new AllianceActivated
        {
            AllianceId = id, InstitutionId = moved.InstitutionId, Scope = Terms(moved),
        }, now, moved.Version);
        return moved;
    }

    public async Task<Alliance> RejectAsync(DbSession session, Caller caller, string id, string reason)
    {
        var current = await InStateAsync(session, caller, id, AllianceState.AwaitingRegulator);
        return await MoveAsync(session, caller, current, AllianceState.Rejected, reason, time.UtcNowToMillisecond(), "alliance.rejected");
    }

    public async Task<Alliance> SuspendAsync(DbSession session, Caller caller, string id, string reason)
    {
        var current = await InStateAsync(session, caller, id, AllianceState.Active);
        var now = time.UtcNowToMillisecond();
        var moved = await MoveAsync(session, caller, current, AllianceState.Suspended, reason, now, "alliance.suspended");
        await GovernanceEvents.EnqueueAsync(session, new AllianceSuspended
        {
            AllianceId = id, InstitutionId = moved.InstitutionId, Reason = reason,
        }, now, moved.Version);
        return moved;
    }

    public async Task<Alliance> ResumeAsync(DbSession session, Caller caller, string id, string reason)
    {
        var current = await InStateAsync(session, caller, id, AllianceState.Suspended);
        var now = time.UtcNowToMillisecond();
        var moved = await MoveAsync(session, caller, current, AllianceState.Active, reason, now, "alliance.resumed");
        await GovernanceEvents.EnqueueAsync(session, new AllianceResumed
        {
            AllianceId = id, InstitutionId = moved.InstitutionId, Scope = Terms(moved),
        }, now, moved.Version);
        return moved;
    }

    /// <summary>
    /// Expires every alliance past its validity that is active, suspended or still awaiting the
    /// regulator (it could never become active); returns how many. Only one that had been active
    /// tells Exchange.
    /// </summary>
    public async Task<int> ExpireDueAsync(CancellationToken cancellationToken)
    {
        var now = time.UtcNowToMillisecond();
        IReadOnlyList<string> due;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            due = await alliances.DueForExpiryAsync(connection, now, cancellationToken);
        }

        // Each alliance on its own: one that cannot be expired now (a failing row, a busy store) is
        // logged and tried again next round, and never keeps the ones behind it alive.
        var expired = 0;
        foreach (var id in due)
        {
            try
            {
                expired += await ExpireAsync(id, now, cancellationToken) ? 1 : 0;
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning(exception, "Alliance {AllianceId} could not be expired; it is tried again next round", id);
            }
        }

        return expired;
    }

    private async Task<bool> ExpireAsync(string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var session = await database.BeginAsync(cancellationToken);
        var current = await alliances.GetAsync(session.Connection, id, session.Transaction, cancellationToken);
        if (current is not { State: AllianceState.Active or AllianceState.Suspended or AllianceState.AwaitingRegulator } || current.ValidUntil > now)
        {
            return false;
        }

        var moved = current with { State = AllianceState.Expired, StateReason = "validity ended", UpdatedAt = now, Version = current.Version + 1 };
        if (!await alliances.UpdateAsync(session, moved, current.Version))
        {
            return false;
        }

        await audit.RecordAsync(session, SystemActor.Governance, "alliance.expired", $"alliance/{id}", "validity ended");
        if (current.State != AllianceState.AwaitingRegulator)
        {
            await GovernanceEvents.EnqueueAsync(session, new AllianceExpired
            {
                AllianceId = id, InstitutionId = moved.InstitutionId, ExpiredAt = current.ValidUntil,
            }, now, moved.Version);
        }

        await session.CommitAsync();
        return true;
    }

    private static AllianceScopeTerms Terms(Alliance alliance) => new()
    {
        Purposes = [.. alliance.Scope.Purposes],
        DataCategories = [.. alliance.Scope.DataCategories],
        Fields = [.. alliance.Scope.Fields],
        IdentifiedData = alliance.Scope.IdentifiedData,
        MaxRetentionSeconds = (long)alliance.Scope.MaxRetention.TotalSeconds,
        ValidFrom = alliance.Scope.ValidFrom,
        ValidUntil = alliance.Scope.ValidUntil,
    };

    private async Task<Alliance> MoveAsync(DbSession session, Caller caller, Alliance current, AllianceState state, string? reason, DateTimeOffset now, string action)
    {
        var moved = current with { State = state, StateReason = reason, UpdatedAt = now, Version = current.Version + 1 };
        if (!await alliances.UpdateAsync(session, moved, current.Version))
        {
            throw new AbortedException($"Alliance '{current.Id}' was changed concurrently; read it again.");
        }

        await audit.RecordAsync(session, caller, action, $"alliance/{current.Id}", reason ?? "");
        return moved;
    }

    private async Task<Alliance> InStateAsync(DbSession session, Caller caller, string id, AllianceState expected)
    {
        if (!caller.IsRegulator)
        {
            throw new PermissionDeniedException("Only the regulator approves, rejects, suspends or resumes alliances.", $"alliance/{id}");
        }

        var current = await alliances.GetAsync(session.Connection, id, session.Transaction, session.CancellationToken)
            ?? throw new NotFoundException("alliance", id);
        if (current.State != expected)
        {
            throw new FailedPreconditionException("STATE", $"alliance/{id}",
                $"Alliance '{id}' is {current.State.ToString().ToUpperInvariant()}, not {expected.ToString().ToUpperInvariant()}.");
        }

        return current;
    }
}
