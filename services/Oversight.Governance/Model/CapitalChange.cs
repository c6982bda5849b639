namespace Oversight.Governance.Model;

public enum CapitalChangeKind { Issuance = 1, Cancellation = 2 }

public enum CapitalChangeState { AwaitingRegulator = 1, Settled = 2, Rejected = 3, Lapsed = 4 }

/// <summary>An issuance or cancellation of shares that a passed proposal ordered.</summary>
public sealed record CapitalChange(
    string Id, string ProposalId, CapitalChangeKind Kind, IReadOnlyList<Allocation> Allocations, CapitalChangeState State, string? ApprovalReason,
    DateTimeOffset CreatedAt, DateTimeOffset? DecidedAt, string? DecisionReason, long? LedgerSequence, long Version)
{
    public LedgerEntryKind EntryKind => Kind == CapitalChangeKind.Issuance ? LedgerEntryKind.Issuance : LedgerEntryKind.Cancellation;

    /// <summary>The ledger entries it appends, not yet numbered.</summary>
    public IReadOnlyList<LedgerEntry> Entries(DateTimeOffset at) => Allocations.Select(a => new LedgerEntry(
        0, EntryKind, a.ClassId, Kind == CapitalChangeKind.Cancellation ? a.HolderId : null, Kind == CapitalChangeKind.Issuance ? a.HolderId : null,
        a.Quantity, at, $"{(Kind == CapitalChangeKind.Issuance ? "issuance" : "cancellation")} {Id}")).ToList();

    /// <summary>
    /// Why the ledger cannot take it now, or null: an issuance beyond the authorised shares, or a
    /// cancellation of more than a holder holds.
    /// </summary>
    public string? Obstacle(CapTable table)
    {
        // Changes of capital move the ordinary class only (the management share is one, issued at founding).
        var ordinary = table.Classes.Single(c => c.Kind == ShareClassKind.Ordinary);
        var quantity = Allocations.Aggregate(Int128.Zero, (sum, a) => sum + a.Quantity);
        if (Kind == CapitalChangeKind.Issuance && table.OrdinaryOutstanding + quantity > ordinary.Authorised)
        {
            return $"{table.OrdinaryOutstanding} shares of '{ordinary.Id}' are outstanding; {quantity} more would exceed the {ordinary.Authorised} authorised";
        }

        foreach (var allocation in Allocations.Where(_ => Kind == CapitalChangeKind.Cancellation))
        {
            var held = table.Holdings.SingleOrDefault(h => h.HolderId == allocation.HolderId)?.OrdinaryShares ?? 0;
            if (held < allocation.Quantity)
            {
                return $"'{allocation.HolderId}' holds {held} shares of '{allocation.ClassId}', fewer than the {allocation.Quantity} to cancel";
            }
        }

        return null;
    }
}
