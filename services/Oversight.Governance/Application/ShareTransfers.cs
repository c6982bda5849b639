using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts.Governance;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.Model;

namespace Oversight.Governance.Application;

/// <summary>
/// Transfers of shares: requested by the seller, checked against the ledger, settled at once or
/// after the regulator's approval when the buyer is new or would reach the threshold with its
/// affiliates. Every settlement bumps the ledger's version, so two settlements that both read the
/// same holdings never both apply: nothing is settled that the seller no longer holds.
/// </summary>
public sealed class ShareTransfers(
    ShareRepository shares,
    OrganisationRepository organisations,
    GovernanceAudit audit, TimeProvider time,
    IOptions<GovernanceOptions> options)
{
    public async Task<ShareTransfer> RequestAsync(DbSession session, Caller caller, string classId, string buyerId, long quantity)
    {
        var classes = await shares.ClassesAsync(session.Connection, session.Transaction, session.CancellationToken);
        var shareClass = classes.SingleOrDefault(c => c.Id == classId);
        var buyer = await organisations.GetAsync(session.Connection, buyerId, session.Transaction, session.CancellationToken);
        var violations = new FieldViolations();
        if (shareClass is null)
        {
            violations.Add("class_id", $"'{classId}' is not a share class of the venture");
        }

        if (buyer is null || buyer.Kind is not (OrganisationKinds.Platform or OrganisationKinds.StateInvestor))
        {
            violations.Add("buyer_id", $"'{buyerId}' is not a registered platform or the state investor");
        }
        else if (buyerId == caller.OrganisationId)
        {
            violations.Add("buyer_id", "must differ from the seller");
        }

        violations.ThrowIfAny();
        if (!shareClass!.Transferable)
        {
            throw new FailedPreconditionException("NOT_TRANSFERABLE", $"share-class/{classId}", $"Shares of '{classId}' cannot be transferred.");
        }

        var ledger = await shares.SnapshotAsync(session);
        RequireHeld(ledger.Entries, caller.OrganisationId, classId, quantity);

        var now = time.UtcNowToMillisecond();
        var transfer = new ShareTransfer(Guid.CreateVersion7(now).ToString("D"), classId, caller.OrganisationId, buyerId, quantity,
            ShareTransferState.AwaitingRegulator, null, now, null, null, null, 1);
        var approvalReason = shareClass.Kind == ShareClassKind.Ordinary
            ? options.Value.TransferThreshold.ApprovalReason(ledger.Table, ledger.TableWith(Entries(transfer, now)), [buyerId], await organisations.AffiliationGroupsAsync(session))
            : null;
        if (approvalReason is not null)
        {
            transfer = transfer with { ApprovalReason = approvalReason };
            await shares.InsertTransferAsync(session, transfer);
            await audit.RecordAsync(session, caller, "transfer.requested", $"transfer/{transfer.Id}",
                $"{quantity} {classId} from {caller.OrganisationId} to {buyerId}; awaiting the regulator: {approvalReason}");
            return transfer;
        }

        var sequence = await shares.AppendAsync(session, ledger, Entries(transfer, now));
        var settled = transfer with { State = ShareTransferState.Settled, DecidedAt = now, LedgerSequence = sequence };
        await shares.InsertTransferAsync(session, settled);
        await audit.RecordAsync(session, caller, "transfer.settled", $"transfer/{transfer.Id}",
            $"{quantity} {classId} from {caller.OrganisationId} to {buyerId} (below the threshold)");
        return settled;
    }

    public async Task<ShareTransfer> ApproveAsync(DbSession session, Caller caller, string transferId, string? reason)
    {
        RequireRegulator(caller, transferId);
        var transfer = await AwaitingAsync(session, transferId);
        var ledger = await shares.SnapshotAsync(session);
        RequireHeld(ledger.Entries, transfer.SellerId, transfer.ClassId, transfer.Quantity);

        var now = time.UtcNowToMillisecond();
        var sequence = await shares.AppendAsync(session, ledger, Entries(transfer, now));
        var settled = transfer with { State = ShareTransferState.Settled, DecidedAt = now, DecisionReason = reason, LedgerSequence = sequence, Version = transfer.Version + 1 };
        await DecideAsync(session, transfer, settled);
        await audit.RecordAsync(session, caller, "transfer.approved", $"transfer/{transferId}", reason ?? "");
        return settled;
    }

    public async Task<ShareTransfer> RejectAsync(DbSession session, Caller caller, string transferId, string reason)
    {
        RequireRegulator(caller, transferId);
        var transfer = await AwaitingAsync(session, transferId);
        var now = time.UtcNowToMillisecond();
        var rejected = transfer with { State = ShareTransferState.Rejected, DecidedAt = now, DecisionReason = reason, Version = transfer.Version + 1 };
        await DecideAsync(session, transfer, rejected);
        await audit.RecordAsync(session, caller, "transfer.rejected", $"transfer/{transferId}", reason);
        return rejected;
    }

    public async Task<ShareTransfer> CancelAsync(DbSession session, Caller caller, string transferId, string? reason)
    {
        var transfer = await AwaitingAsync(session, transferId);
        if (transfer.SellerId != caller.OrganisationId)
        {
            throw new PermissionDeniedException("Only the seller withdraws its transfer.", $"transfer/{transferId}");
        }

        var now = time.UtcNowToMillisecond();
        var cancelled = transfer with { State = ShareTransferState.Cancelled, DecidedAt = now, DecisionReason = reason, Version = transfer.Version + 1 };
        await DecideAsync(session, transfer, cancelled);
        await audit.RecordAsync(session, caller, "transfer.cancelled", $"transfer/{transferId}", reason ?? "");
        return cancelled;
    }

    private static LedgerEntry[] Entries(ShareTransfer transfer, DateTimeOffset at) =>
        [new(0, LedgerEntryKind.Transfer, transfer.ClassId, transfer.SellerId, transfer.BuyerId, transfer.Quantity, at, $"transfer {transfer.Id}")];

    private async Task DecideAsync(DbSession session, ShareTransfer current, ShareTransfer decided)
    {
        if (!await shares.DecideTransferAsync(session, decided, current.Version))
        {
            throw new AbortedException($"Transfer '{current.Id}' was decided concurrently; read it again.");
        }
    }

    private async Task<ShareTransfer> AwaitingAsync(DbSession session, string transferId)
    {
        var transfer = await shares.GetTransferAsync(session.Connection, transferId, session.Transaction, session.CancellationToken)
            ?? throw new NotFoundException("share transfer", transferId);
        if (transfer.State != ShareTransferState.AwaitingRegulator)
        {
            throw new FailedPreconditionException("STATE", $"transfer/{transferId}",
                $"Transfer '{transferId}' is {transfer.State.ToString().ToUpperInvariant()}; only a transfer awaiting the regulator can be decided.");
        }

        return transfer;
    }

    private static void RequireHeld(IEnumerable<LedgerEntry> entries, string sellerId, string classId, long quantity)
    {
        var held = ShareLedger.HeldBy(entries, sellerId, classId);
        if (held < quantity)
        {
            throw new FailedPreconditionException("INSUFFICIENT_SHARES", $"holder/{sellerId}",
                $"'{sellerId}' holds {held} shares of '{classId}', fewer than the {quantity} to transfer.");
        }
    }

    private static void RequireRegulator(Caller caller, string transferId)
    {
        if (!caller.IsRegulator)
        {
            throw new PermissionDeniedException("Only the regulator approves or rejects transfers.", $"transfer/{transferId}");
        }
    }
}
