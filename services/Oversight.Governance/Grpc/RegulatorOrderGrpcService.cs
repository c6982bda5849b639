using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Governance.Application;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.V1;

namespace Oversight.Governance.Grpc;

/// <summary>The RegulatorOrderService RPCs: validate the request's shape, delegate, translate.</summary>
public sealed class RegulatorOrderGrpcService(
    GovernanceDatabase database,
    OrderRepository repository,
    RegulatorOrders orders,
    TimeProvider time) : RegulatorOrderService.RegulatorOrderServiceBase
{
    public override Task<EnactStatutoryMandateResponse> EnactStatutoryMandate(EnactStatutoryMandateRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        violations.OrganisationId("recipient_id", request.RecipientId);
        var validFrom = violations.Time("valid_from", request.ValidFrom);
        var validUntil = violations.Time("valid_until", request.ValidUntil);
        violations.ThrowIfAny();

        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) => new EnactStatutoryMandateResponse
        {
            Mandate = ToProto(await orders.EnactMandateAsync(
                session, caller, request.LegalReference, request.RecipientId, [.. request.Purposes], [.. request.DataCategories], validFrom, validUntil)),
        });
    }

    public override Task<RepealStatutoryMandateResponse> RepealStatutoryMandate(RepealStatutoryMandateRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        var id = violations.Uuid("mandate_id", request.MandateId);
        violations.Text("reason", request.Reason, 500);
        violations.ThrowIfAny();

        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) => new RepealStatutoryMandateResponse
        {
            Mandate = ToProto(await orders.RepealMandateAsync(session, caller, id!, request.Reason)),
        });
    }

    public override async Task<ListStatutoryMandatesResponse> ListStatutoryMandates(ListStatutoryMandatesRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var size = PageToken.Size(request.PageSize, violations);
        var after = PageToken.Decode(request.PageToken, 1, violations)?[0] ?? "";
        violations.ThrowIfAny();

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var page = await repository.ListMandatesAsync(connection, after, size + 1, context.CancellationToken);
        var response = new ListStatutoryMandatesResponse();
        response.Mandates.AddRange(page.Take(size).Select(ToProto));
        response.NextPageToken = PageToken.Next(page, size, p => p.Id);
        return response;
    }

    public override Task<FreezeExchangeResponse> FreezeExchange(FreezeExchangeRequest request, ServerCallContext context)
    {
        ValidateStatusOrder(request.RequestId, request.Reason);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) => new FreezeExchangeResponse
        {
            Status = ToProto(await orders.SetFrozenAsync(session, caller, frozen: true, request.Reason)),
        });
    }

    public override Task<UnfreezeExchangeResponse> UnfreezeExchange(UnfreezeExchangeRequest request, ServerCallContext context)
    {
        ValidateStatusOrder(request.RequestId, request.Reason);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) => new UnfreezeExchangeResponse
        {
            Status = ToProto(await orders.SetFrozenAsync(session, caller, frozen: false, request.Reason)),
        });
    }

    public override async Task<GetExchangeStatusResponse> GetExchangeStatus(GetExchangeStatusRequest request, ServerCallContext context)
    {
        await using var connection = await database.OpenAsync(context.CancellationToken);
        return new GetExchangeStatusResponse { Status = ToProto(await repository.ExchangeStatusAsync(connection, null, context.CancellationToken)) };
    }

    private static void ValidateStatusOrder(string requestId, string reason)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(requestId, violations);
        violations.Text("reason", reason, 500);
        violations.ThrowIfAny();
    }

    private static V1.StatutoryMandate ToProto(Model.StatutoryMandate mandate) => new()
    {
        Id = mandate.Id,
        LegalReference = mandate.LegalReference,
        RecipientId = mandate.RecipientId,
        Purposes = { mandate.Purposes },
        DataCategories = { mandate.DataCategories },
        ValidFrom = Timestamp.FromDateTimeOffset(mandate.ValidFrom),
        ValidUntil = mandate.ValidUntil is { } until ? Timestamp.FromDateTimeOffset(until) : null,
        RepealTime = mandate.RepealedAt is { } repealed ? Timestamp.FromDateTimeOffset(repealed) : null,
        RepealReason = mandate.RepealReason ?? "",
        Version = mandate.Version,
    };

    private static V1.ExchangeStatus ToProto(Model.ExchangeStatus status) => new()
    {
        Frozen = status.Frozen,
        Reason = status.Reason,
        OrderId = status.OrderId,
        UpdateTime = Timestamp.FromDateTimeOffset(status.UpdatedAt),
        Version = status.Version,
    };
}
