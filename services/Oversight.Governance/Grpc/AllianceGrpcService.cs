using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Governance.Application;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.V1;

namespace Oversight.Governance.Grpc;

/// <summary>The AllianceService RPCs: validate the request's shape, delegate, translate.</summary>
public sealed class AllianceGrpcService(
    GovernanceDatabase database,
    AllianceRepository repository,
    Alliances alliances,
    TimeProvider time) : AllianceService.AllianceServiceBase
{
    public override Task<ApproveAllianceResponse> ApproveAlliance(ApproveAllianceRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "alliance_id", request.AllianceId, null);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new ApproveAllianceResponse { Alliance = ToProto(await alliances.ApproveAsync(session, caller, id)) });
    }

    public override Task<RejectAllianceResponse> RejectAlliance(RejectAllianceRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "alliance_id", request.AllianceId, request.Reason, reasonRequired: true);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new RejectAllianceResponse { Alliance = ToProto(await alliances.RejectAsync(session, caller, id, request.Reason)) });
    }

    public override Task<SuspendAllianceResponse> SuspendAlliance(SuspendAllianceRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "alliance_id", request.AllianceId, request.Reason, reasonRequired: true);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new SuspendAllianceResponse { Alliance = ToProto(await alliances.SuspendAsync(session, caller, id, request.Reason)) });
    }

    public override Task<ResumeAllianceResponse> ResumeAlliance(ResumeAllianceRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "alliance_id", request.AllianceId, request.Reason, reasonRequired: true);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new ResumeAllianceResponse { Alliance = ToProto(await alliances.ResumeAsync(session, caller, id, request.Reason)) });
    }

    public override async Task<GetAllianceResponse> GetAlliance(GetAllianceRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var id = violations.Uuid("alliance_id", request.AllianceId);
        violations.ThrowIfAny();
        await using var connection = await database.OpenAsync(context.CancellationToken);
        var alliance = await repository.GetAsync(connection, id!, null, context.CancellationToken) ?? throw new NotFoundException("alliance", id!);
        return new GetAllianceResponse { Alliance = ToProto(alliance) };
    }

    public override async Task<ListAlliancesResponse> ListAlliances(ListAlliancesRequest request, ServerCallContext context)
    {
        var (size, after) = PageToken.ForFilteredList("state", System.Enum.IsDefined(request.State), request.PageSize, request.PageToken);
        await using var connection = await database.OpenAsync(context.CancellationToken);
        var state = request.State == V1.AllianceState.Unspecified ? (Model.AllianceState?)null : (Model.AllianceState)request.State;
        var page = await repository.ListAsync(connection, state, after, size + 1, context.CancellationToken);
        return new ListAlliancesResponse
        {
            Alliances = { page.Take(size).Select(ToProto) },
            NextPageToken = PageToken.Next(page, size, p => p.Id),
        };
    }

    private static V1.Alliance ToProto(Model.Alliance alliance) => new()
    {
        Id = alliance.Id,
        ProposalId = alliance.ProposalId,
        InstitutionId = alliance.InstitutionId,
        Scope = ProposalMapping.ToProto(alliance.Scope),
        State = (V1.AllianceState)alliance.State,
        StateReason = alliance.StateReason ?? "",
        UpdateTime = Timestamp.FromDateTimeOffset(alliance.UpdatedAt),
        Version = alliance.Version,
    };
}
