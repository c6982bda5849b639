using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Governance.Application;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.Model;
using Oversight.Governance.V1;

namespace Oversight.Governance.Grpc;

/// <summary>The ShareLedgerService RPCs: validate the request's shape, check who may see, delegate.</summary>
public sealed class ShareLedgerGrpcService(
    GovernanceDatabase database,
    ShareRepository shares,
    VentureFounding founding,
    TimeProvider time) : ShareLedgerService.ShareLedgerServiceBase
{
    public override Task<FoundVentureResponse> FoundVenture(FoundVentureRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        for (var i = 0; i < request.ShareClasses.Count; i++)
        {
            violations.Enum($"share_classes[{i}].kind", request.ShareClasses[i].Kind, V1.ShareClassKind.Ordinary, V1.ShareClassKind.Management);
        }

        var classes = request.ShareClasses
            .Select(c => new Model.ShareClass(c.Id, (Model.ShareClassKind)c.Kind, c.VotesPerShare, c.Authorised, c.Transferable)).ToList();
        var allocations = request.Allocations.Select(a => new Model.Allocation(a.HolderId, a.ClassId, a.Quantity)).ToList();
        FoundingRules.Validate(classes, allocations, violations);
        violations.ThrowIfAny();

        var caller = context.GetCaller();
        return IdempotentRequests.ExecuteAsync(database, caller.OrganisationId, request.RequestId, request, time.GetUtcNow().ToUnixTimeMilliseconds(),
            async session =>
            {
                await founding.FoundAsync(session, caller, classes, allocations);
                var (table, foundedAt) = await founding.CapTableAsync(session.Connection, 0, session.Transaction, session.CancellationToken);
                return new FoundVentureResponse { CapTable = ToProto(table, foundedAt) };
            },
            context.CancellationToken);
    }

    public override async Task<GetCapTableResponse> GetCapTable(GetCapTableRequest request, ServerCallContext context)
    {
        if (request.AsOfSequence < 0)
        {
            var violations = new FieldViolations();
            violations.Add("as_of_sequence", "must not be negative");
            violations.ThrowIfAny();
        }

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var (table, foundedAt) = await founding.CapTableAsync(connection, request.AsOfSequence, null, context.CancellationToken);
        var caller = context.GetCaller();
        if (!caller.IsRegulator && !caller.IsOperator && table.Holdings.All(h => h.HolderId != caller.OrganisationId))
        {
            throw new PermissionDeniedException("The cap table is for the shareholders, the operator and the regulator.", "cap-table");
        }

        return new GetCapTableResponse { CapTable = ToProto(table, foundedAt) };
    }

    public override async Task<ListLedgerEntriesResponse> ListLedgerEntries(ListLedgerEntriesRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var size = PageToken.Size(request.PageSize, violations);
        long after = 0;
        if (PageToken.Decode(request.PageToken, 1, violations) is { } parts && !long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out after))
        {
            violations.Add("page_token", "is not a page token this service issued");
        }

        violations.ThrowIfAny();
        var caller = context.GetCaller();
        if (!caller.IsRegulator && !caller.IsOperator)
        {
            throw new PermissionDeniedException("The share ledger's entries are for the operator and the regulator.", "share-ledger");
        }

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var page = await shares.ListAsync(connection, after, size + 1, context.CancellationToken);
        var response = new ListLedgerEntriesResponse();
        response.Entries.AddRange(page.Take(size).Select(e => new V1.LedgerEntry
        {
            Sequence = e.Sequence,
            Kind = (V1.LedgerEntryKind)e.Kind,
            ClassId = e.ClassId,
            FromHolderId = e.FromHolderId ?? "",
            ToHolderId = e.ToHolderId ?? "",
            Quantity = e.Quantity,
            RecordTime = Timestamp.FromDateTimeOffset(e.RecordedAt),
            Reason = e.Reason,
        }));
        response.NextPageToken = page.Count > size ? PageToken.Encode(page[size - 1].Sequence.ToString(CultureInfo.InvariantCulture)) : "";
        return response;
    }

    private static V1.CapTable ToProto(Model.CapTable table, DateTimeOffset foundedAt) => new()
    {
        LedgerSequence = table.LedgerSequence,
        ShareClasses =
        {
            table.Classes.Select(c => new V1.ShareClass
            {
                Id = c.Id, Kind = (V1.ShareClassKind)c.Kind, VotesPerShare = c.VotesPerShare, Authorised = c.Authorised, Transferable = c.Transferable,
            }),
        },
        OrdinaryOutstanding = table.OrdinaryOutstanding,
        TotalVotingPower = table.TotalVotingPower,
        Holdings =
        {
            table.Holdings.Select(h => new V1.Holding
            {
                HolderId = h.HolderId, OrdinaryShares = h.OrdinaryShares, ManagementShares = h.ManagementShares,
                VotingPower = h.VotingPower, OrdinaryBasisPoints = h.OrdinaryBasisPoints,
            }),
        },
        FoundTime = Timestamp.FromDateTimeOffset(foundedAt),
    };
}
