using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.V1;

namespace Oversight.Consent.Grpc;

/// <summary>The regulator's view of refused calls.</summary>
public sealed class AuditGrpcService(ConsentDatabase database, ConsentRepository repository) : ConsentAuditService.ConsentAuditServiceBase
{
    public override async Task<ListAccessDenialsResponse> ListAccessDenials(ListAccessDenialsRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var size = PageToken.Size(request.PageSize, violations);
        var before = PageToken.DecodeSequence(request.PageToken, violations);
        violations.ThrowIfAny();
        if (!context.GetCaller().IsRegulator)
        {
            throw new PermissionDeniedException("Only the regulator reads the access audit.", "audit");
        }

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var page = await repository.ListAccessDenialsAsync(connection, before, size + 1, context.CancellationToken);
        var response = new ListAccessDenialsResponse();
        response.Denials.AddRange(page.Take(size).Select(d => new V1.AccessDenial
        {
            Sequence = d.Sequence,
            DenyTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(d.DeniedAtMs)),
            CallerId = d.CallerId,
            CallerKind = d.CallerKind,
            Method = d.Method,
            Resource = d.Resource,
            Reason = d.Reason,
        }));
        response.NextPageToken = PageToken.Next(page, size, d => d.Sequence);

        return response;
    }
}
