namespace Oversight.Governance.Model;

public enum ShareTransferState { AwaitingRegulator = 1, Settled = 2, Rejected = 3, Cancelled = 4 }

public sealed record ShareTransfer(
    string Id, string ClassId, string SellerId, string BuyerId, long Quantity, ShareTransferState State, string? ApprovalReason,
    DateTimeOffset RequestedAt, DateTimeOffset? DecidedAt, string? DecisionReason, long? LedgerSequence, long Version);
