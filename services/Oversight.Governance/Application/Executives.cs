using System.Data.Common;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts;
using Oversight.Contracts.Governance;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.Model;

namespace Oversight.Governance.Application;

/// <summary>Who the audit names for what the module does by itself (a tally, a job).</summary>
public static class SystemActor
{
    public static readonly Caller Governance = new("governance", OrganisationKinds.Operator, Producers.Governance);
}

/// <summary>
/// Executives: a passed proposal appoints (awaiting the regulator) or removes; the regulator
/// approves with an effective date, rejects, or revokes. One holder per role is in office — the
/// database's filtered unique index decides, not a check before the write.
/// </summary>
public sealed class Executives(ExecutiveRepository executives, GovernanceAudit audit, TimeProvider time)
{
    /// <summary>How far before now an effective time may lie and still be read as "now" (the caller's clock may lag).</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    /// <summary>Carries out a passed proposal's executive action, in the tally's transaction.</summary>
    public async Task CarryOutAsync(DbSession session, Proposal proposal, DateTimeOffset now)
    {
        switch (proposal.Action)
        {
            case AppointExecutive appoint:
                var appointment = new Appointment(Guid.CreateVersion7(now).ToString("D"), proposal.Id, appoint.PersonName,
                    appoint.Role, AppointmentState.AwaitingRegulator, null, null, null, 1);
                await executives.InsertAsync(session, appointment);
                await audit.RecordAsync(session, SystemActor.Governance, "executive.appointment_passed", $"appointment/{appointment.Id}",
                    $"{appointment.PersonName} as {appointment.Role}, awaiting the regulator");
                break;
            case RemoveExecutive remove:
                var current = await executives.GetAsync(session.Connection, remove.AppointmentId, session.Transaction, session.CancellationToken);
                if (current is { State: AppointmentState.Approved })
                {
                    await EndAsync(session, SystemActor.Governance, current, $"removed by proposal {proposal.Id}", now);
                }
                else
                {
                    await audit.RecordAsync(session, SystemActor.Governance, "executive.removal_without_effect", $"appointment/{remove.AppointmentId}",
                        "the appointment was not in office when the removal passed");
                }

                break;
        }
    }

    public async Task<Appointment> ApproveAsync(DbSession session, Caller caller, string id, DateTimeOffset? effectiveFrom)
    {
        var appointment = await AwaitingAsync(session, caller, id);
        var now = time.UtcNowToMillisecond();
        if (effectiveFrom < now - ClockSkew)
        {
            // A backdated approval would put someone in office on dates nobody approved, beside whoever held the role then.
            var violations = new FieldViolations();
            violations.Add("effective_time", "must not be before the approval");
            violations.ThrowIfAny();
        }

        var effective = effectiveFrom is { } from && from > now ? from : now;
        var approved = appointment with { State = AppointmentState.Approved, EffectiveFrom = effective, Version = appointment.Version + 1 };
        try
        {
            await UpdateAsync(session, appointment, approved);
        }
        catch (DbException exception) when (session.Dialect.IsUniqueViolation(exception))
        {
            throw new FailedPreconditionException("ROLE_OCCUPIED", $"role/{appointment.Role}",
                $"Someone already holds the role '{appointment.Role}'; remove them before approving another.");
        }

        await audit.RecordAsync(session, caller, "executive.approved", $"appointment/{id}", $"{approved.PersonName} as {approved.Role} from {approved.EffectiveFrom:O}");
        await GovernanceEvents.EnqueueAsync(session, new ExecutiveApproved
        {
            AppointmentId = id, PersonName = approved.PersonName, Role = approved.Role, EffectiveFrom = approved.EffectiveFrom!.Value,
        }, now, approved.Version);
        return approved;
    }

    public async Task<Appointment> RejectAsync(DbSession session, Caller caller, string id, string reason)
    {
        var appointment = await AwaitingAsync(session, caller, id);
        var now = time.UtcNowToMillisecond();
        var rejected = appointment with { State = AppointmentState.Rejected, DecisionReason = reason, Version = appointment.Version + 1 };
        await UpdateAsync(session, appointment, rejected);
        await audit.RecordAsync(session, caller, "executive.rejected", $"appointment/{id}", reason);
        return rejected;
    }

    /// <summary>The operator withdraws an appointment the regulator has not decided, for example when the person declines.</summary>
    public async Task<Appointment> WithdrawAsync(DbSession session, Caller caller, string id, string reason)
    {
        if (!caller.IsOperator)
        {
            throw new PermissionDeniedException("Only the venture's operator withdraws an appointment.", $"appointment/{id}");
        }

        var appointment = await AwaitingAsync(session, id);
        var now = time.UtcNowToMillisecond();
        var withdrawn = appointment with { State = AppointmentState.Withdrawn, DecisionReason = reason, Version = appointment.Version + 1 };
        await UpdateAsync(session, appointment, withdrawn);
        await audit.RecordAsync(session, caller, "executive.withdrawn", $"appointment/{id}", reason);
        return withdrawn;
    }

    public async Task<Appointment> RevokeAsync(DbSession session, Caller caller, string id, string reason)
    {
        RequireRegulator(caller, id);
        var appointment = await executives.GetAsync(session.Connection, id, session.Transaction, session.CancellationToken)
            ?? throw new NotFoundException("appointment", id);
        if (appointment.State != AppointmentState.Approved)
        {
            throw new FailedPreconditionException("STATE", $"appointment/{id}", $"Appointment '{id}' is {appointment.State.ToString().ToUpperInvariant()}; only an approved one can be revoked.");
        }

        return await EndAsync(session, caller, appointment, reason, time.UtcNowToMillisecond());
    }

    private async Task<Appointment> EndAsync(DbSession session, Caller caller, Appointment appointment, string reason, DateTimeOffset now)
    {
        var ended = appointment with { State = AppointmentState.Ended, EndedAt = now, DecisionReason = reason, Version = appointment.Version + 1 };
        await UpdateAsync(session, appointment, ended);
        await audit.RecordAsync(session, caller, "executive.removed", $"appointment/{appointment.Id}", reason);
        await GovernanceEvents.EnqueueAsync(session, new ExecutiveRemoved
        {
            AppointmentId = appointment.Id, Role = appointment.Role, EndedAt = now, Reason = reason,
        }, now, ended.Version);
        return ended;
    }

    private async Task UpdateAsync(DbSession session, Appointment current, Appointment changed)
    {
        if (!await executives.UpdateAsync(session, changed, current.Version))
        {
            throw new AbortedException($"Appointment '{current.Id}' was changed concurrently; read it again.");
        }
    }

    private async Task<Appointment> AwaitingAsync(DbSession session, Caller caller, string id)
    {
        RequireRegulator(caller, id);
        return await AwaitingAsync(session, id);
    }

    private async Task<Appointment> AwaitingAsync(DbSession session, string id)
    {
        var appointment = await executives.GetAsync(session.Connection, id, session.Transaction, session.CancellationToken)
            ?? throw new NotFoundException("appointment", id);
        if (appointment.State != AppointmentState.AwaitingRegulator)
        {
            throw new FailedPreconditionException("STATE", $"appointment/{id}",
                $"Appointment '{id}' is {appointment.State.ToString().ToUpperInvariant()}; only one awaiting the regulator can be decided or withdrawn.");
        }

        return appointment;
    }

    private static void RequireRegulator(Caller caller, string id)
    {
        if (!caller.IsRegulator)
        {
            throw new PermissionDeniedException("Only the regulator approves, rejects or revokes executives.", $"appointment/{id}");
        }
    }
}
