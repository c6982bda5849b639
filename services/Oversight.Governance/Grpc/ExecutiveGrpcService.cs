using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Governance.Application;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.V1;

namespace Oversight.Governance.Grpc;

/// <summary>The ExecutiveService RPCs: validate the request's shape, delegate, translate.</summary>
public sealed class ExecutiveGrpcService(
    GovernanceDatabase database,
    ExecutiveRepository repository,
    Executives executives,
    TimeProvider time) : ExecutiveService.ExecutiveServiceBase
{
    public override Task<ApproveAppointmentResponse> ApproveAppointment(ApproveAppointmentRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "appointment_id", request.AppointmentId, null);
        var violations = new FieldViolations();
        var effective = violations.Time("effective_time", request.EffectiveTime);
        violations.ThrowIfAny();
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new ApproveAppointmentResponse { Appointment = ToProto(await executives.ApproveAsync(session, caller, id, effective)) });
    }

    public override Task<RejectAppointmentResponse> RejectAppointment(RejectAppointmentRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "appointment_id", request.AppointmentId, request.Reason, reasonRequired: true);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new RejectAppointmentResponse { Appointment = ToProto(await executives.RejectAsync(session, caller, id, request.Reason)) });
    }

    public override Task<WithdrawAppointmentResponse> WithdrawAppointment(WithdrawAppointmentRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "appointment_id", request.AppointmentId, request.Reason, reasonRequired: true);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new WithdrawAppointmentResponse { Appointment = ToProto(await executives.WithdrawAsync(session, caller, id, request.Reason)) });
    }

    public override Task<RevokeAppointmentResponse> RevokeAppointment(RevokeAppointmentRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "appointment_id", request.AppointmentId, request.Reason, reasonRequired: true);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new RevokeAppointmentResponse { Appointment = ToProto(await executives.RevokeAsync(session, caller, id, request.Reason)) });
    }

    public override async Task<GetAppointmentResponse> GetAppointment(GetAppointmentRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var id = violations.Uuid("appointment_id", request.AppointmentId);
        violations.ThrowIfAny();
        await using var connection = await database.OpenAsync(context.CancellationToken);
        var appointment = await repository.GetAsync(connection, id!, null, context.CancellationToken) ?? throw new NotFoundException("appointment", id!);
        return new GetAppointmentResponse { Appointment = ToProto(appointment) };
    }

    public override async Task<ListAppointmentsResponse> ListAppointments(ListAppointmentsRequest request, ServerCallContext context)
    {
        var (size, after) = PageToken.ForFilteredList("state", System.Enum.IsDefined(request.State), request.PageSize, request.PageToken);
        await using var connection = await database.OpenAsync(context.CancellationToken);
        var state = request.State == V1.AppointmentState.Unspecified ? (Model.AppointmentState?)null : (Model.AppointmentState)request.State;
        var page = await repository.ListAsync(connection, state, after, size + 1, context.CancellationToken);
        return new ListAppointmentsResponse
        {
            Appointments = { page.Take(size).Select(ToProto) },
            NextPageToken = PageToken.Next(page, size, p => p.Id),
        };
    }

    public override async Task<ListExecutivesInOfficeResponse> ListExecutivesInOffice(ListExecutivesInOfficeRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var at = violations.Time("at_time", request.AtTime) ?? time.GetUtcNow();
        violations.ThrowIfAny();
        await using var connection = await database.OpenAsync(context.CancellationToken);
        var response = new ListExecutivesInOfficeResponse();
        response.Appointments.AddRange((await repository.InOfficeAsync(connection, at, context.CancellationToken)).Where(a => a.InOfficeAt(at)).Select(ToProto));
        return response;
    }

    private static V1.Appointment ToProto(Model.Appointment appointment) => new()
    {
        Id = appointment.Id,
        ProposalId = appointment.ProposalId,
        PersonName = appointment.PersonName,
        Role = appointment.Role,
        State = (V1.AppointmentState)appointment.State,
        EffectiveTime = appointment.EffectiveFrom is { } from ? Timestamp.FromDateTimeOffset(from) : null,
        EndTime = appointment.EndedAt is { } ended ? Timestamp.FromDateTimeOffset(ended) : null,
        DecisionReason = appointment.DecisionReason ?? "",
        Version = appointment.Version,
    };
}
