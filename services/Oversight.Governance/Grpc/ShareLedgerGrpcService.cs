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
    ShareTransfers transfers,
    CapitalChanges capitalChanges,
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
        var after = PageToken.DecodeSequence(request.PageToken, violations) ?? 0;

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
        response.NextPageToken = PageToken.Next(page, size, p => p.Sequence);
        return response;
    }

    public override Task<RequestShareTransferResponse> RequestShareTransfer(RequestShareTransferRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        violations.Text("class_id", request.ClassId, 32);
        violations.OrganisationId("buyer_id", request.BuyerId);
        Model.ShareQuantities.Validate(violations, "quantity", request.Quantity);

        violations.ThrowIfAny();
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new RequestShareTransferResponse { Transfer = ToProto(await transfers.RequestAsync(session, caller, request.ClassId, request.BuyerId, request.Quantity)) });
    }

    public override Task<ApproveShareTransferResponse> ApproveShareTransfer(ApproveShareTransferRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "transfer_id", request.TransferId, request.Reason, reasonRequired: false);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new ApproveShareTransferResponse { Transfer = ToProto(await transfers.ApproveAsync(session, caller, id, NullIfEmpty(request.Reason))) });
    }

    public override Task<RejectShareTransferResponse> RejectShareTransfer(RejectShareTransferRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "transfer_id", request.TransferId, request.Reason, reasonRequired: true);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new RejectShareTransferResponse { Transfer = ToProto(await transfers.RejectAsync(session, caller, id, request.Reason)) });
    }

    public override Task<CancelShareTransferResponse> CancelShareTransfer(CancelShareTransferRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "transfer_id", request.TransferId, request.Reason, reasonRequired: false);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new CancelShareTransferResponse { Transfer = ToProto(await transfers.CancelAsync(session, caller, id, NullIfEmpty(request.Reason))) });
    }

    public override async Task<GetShareTransferResponse> GetShareTransfer(GetShareTransferRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var id = violations.Uuid("transfer_id", request.TransferId);
        violations.ThrowIfAny();

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var transfer = await shares.GetTransferAsync(connection, id!, null, context.CancellationToken) ?? throw new NotFoundException("share transfer", id!);
        var caller = context.GetCaller();
        if (caller.OrganisationId != transfer.SellerId && caller.OrganisationId != transfer.BuyerId && !caller.IsRegulator && !caller.IsOperator)
        {
            throw new PermissionDeniedException("A transfer is for its parties, the operator and the regulator.", $"transfer/{id}");
        }

        return new GetShareTransferResponse { Transfer = ToProto(transfer) };
    }

    public override async Task<ListShareTransfersResponse> ListShareTransfers(ListShareTransfersRequest request, ServerCallContext context)
    {
        var (size, after) = ValidateList(System.Enum.IsDefined(request.State), request.PageSize, request.PageToken, context);
        await using var connection = await database.OpenAsync(context.CancellationToken);
        var state = request.State == V1.ShareTransferState.Unspecified ? (Model.ShareTransferState?)null : (Model.ShareTransferState)request.State;
        var page = await shares.ListTransfersAsync(connection, state, after, size + 1, context.CancellationToken);
        return new ListShareTransfersResponse
        {
            Transfers = { page.Take(size).Select(ToProto) },
            NextPageToken = PageToken.Next(page, size, p => p.Id),
        };
    }

    public override async Task<GetCapitalChangeResponse> GetCapitalChange(GetCapitalChangeRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var id = violations.Uuid("capital_change_id", request.CapitalChangeId);
        violations.ThrowIfAny();

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var change = await shares.GetCapitalChangeAsync(connection, id!, null, context.CancellationToken) ?? throw new NotFoundException("capital change", id!);
        var caller = context.GetCaller();
        if (!caller.IsRegulator && !caller.IsOperator && change.Allocations.All(a => a.HolderId != caller.OrganisationId))
        {
            throw new PermissionDeniedException("A change of share capital is for its holders, the operator and the regulator.", $"capital-change/{id}");
        }

        return new GetCapitalChangeResponse { CapitalChange = ToProto(change) };
    }

    public override async Task<ListCapitalChangesResponse> ListCapitalChanges(ListCapitalChangesRequest request, ServerCallContext context)
    {
        var (size, after) = ValidateList(System.Enum.IsDefined(request.State), request.PageSize, request.PageToken, context);
        await using var connection = await database.OpenAsync(context.CancellationToken);
        var state = request.State == V1.CapitalChangeState.Unspecified ? (Model.CapitalChangeState?)null : (Model.CapitalChangeState)request.State;
        var page = await shares.ListCapitalChangesAsync(connection, state, after, size + 1, context.CancellationToken);
        return new ListCapitalChangesResponse
        {
            CapitalChanges = { page.Take(size).Select(ToProto) },
            NextPageToken = PageToken.Next(page, size, p => p.Id),
        };
    }

    public override Task<ApproveCapitalChangeResponse> ApproveCapitalChange(ApproveCapitalChangeRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "capital_change_id", request.CapitalChangeId, request.Reason, reasonRequired: false);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new ApproveCapitalChangeResponse { CapitalChange = ToProto(await capitalChanges.ApproveAsync(session, caller, id, NullIfEmpty(request.Reason))) });
    }

    public override Task<RejectCapitalChangeResponse> RejectCapitalChange(RejectCapitalChangeRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "capital_change_id", request.CapitalChangeId, request.Reason, reasonRequired: true);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new RejectCapitalChangeResponse { CapitalChange = ToProto(await capitalChanges.RejectAsync(session, caller, id, request.Reason)) });
    }

    /// <summary>A list's filter and page, for the operator and the regulator only.</summary>
    private static (int Size, string After) ValidateList(bool stateKnown, int pageSize, string pageToken, ServerCallContext context)
    {
        var page = PageToken.ForFilteredList("state", stateKnown, pageSize, pageToken);
        var caller = context.GetCaller();
        if (!caller.IsRegulator && !caller.IsOperator)
        {
            throw new PermissionDeniedException("Lists of transfers and changes of capital are for the operator and the regulator.", "share-ledger");
        }

        return page;
    }

    private static string? NullIfEmpty(string value) => string.IsNullOrEmpty(value) ? null : value;

    private static V1.ShareTransfer ToProto(Model.ShareTransfer transfer) => new()
    {
        Id = transfer.Id,
        ClassId = transfer.ClassId,
        SellerId = transfer.SellerId,
        BuyerId = transfer.BuyerId,
        Quantity = transfer.Quantity,
        State = (V1.ShareTransferState)transfer.State,
        ApprovalReason = transfer.ApprovalReason ?? "",
        RequestTime = Timestamp.FromDateTimeOffset(transfer.RequestedAt),
        DecideTime = transfer.DecidedAt is { } decided ? Timestamp.FromDateTimeOffset(decided) : null,
        DecisionReason = transfer.DecisionReason ?? "",
        LedgerSequence = transfer.LedgerSequence ?? 0,
        Version = transfer.Version,
    };

    private static V1.CapitalChange ToProto(Model.CapitalChange change) => new()
    {
        Id = change.Id,
        ProposalId = change.ProposalId,
        Kind = (V1.CapitalChangeKind)change.Kind,
        Allocations = { change.Allocations.Select(a => new V1.Allocation { HolderId = a.HolderId, ClassId = a.ClassId, Quantity = a.Quantity }) },
        State = (V1.CapitalChangeState)change.State,
        ApprovalReason = change.ApprovalReason ?? "",
        CreateTime = Timestamp.FromDateTimeOffset(change.CreatedAt),
        DecideTime = change.DecidedAt is { } decided ? Timestamp.FromDateTimeOffset(decided) : null,
        DecisionReason = change.DecisionReason ?? "",
        LedgerSequence = change.LedgerSequence ?? 0,
        Version = change.Version,
    };

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
