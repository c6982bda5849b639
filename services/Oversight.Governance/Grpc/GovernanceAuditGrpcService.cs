using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.V1;

namespace Oversight.Governance.Grpc;

/// <summary>The regulator's view of every governance action.</summary>
public sealed class GovernanceAuditGrpcService(GovernanceDatabase database, OrderRepository repository) : GovernanceAuditService.GovernanceAuditServiceBase
{
    public override async Task<ListAuditEntriesResponse> ListAuditEntries(ListAuditEntriesRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var size = PageToken.Size(request.PageSize, violations);
        var before = PageToken.DecodeSequence(request.PageToken, violations);
        violations.ThrowIfAny();
        if (!context.GetCaller().IsRegulator)
        {
            throw new PermissionDeniedException("Only the regulator reads the governance audit.", "audit");
        }

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var page = await repository.ListAuditAsync(connection, before, size + 1, context.CancellationToken);
        var response = new ListAuditEntriesResponse();
        response.Entries.AddRange(page.Take(size).Select(e => new AuditEntry
        {
            Sequence = e.Sequence,
            EventTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(e.AtMs)),
            ActorId = e.ActorId,
            ActorKind = e.ActorKind,
            Action = e.Action,
            Target = e.Target,
            Detail = e.Detail,
        }));
        response.NextPageToken = PageToken.Next(page, size, p => p.Sequence);
        return response;
    }
}
