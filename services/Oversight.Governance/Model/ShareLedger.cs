using System.Text.RegularExpressions;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.Governance.Model;

public enum ShareClassKind { Ordinary = 1, Management = 2 }

public enum LedgerEntryKind { Issuance = 1, Transfer = 2, Cancellation = 3 }

public sealed record ShareClass(string Id, ShareClassKind Kind, long VotesPerShare, long Authorised, bool Transferable);

public sealed record Allocation(string HolderId, string ClassId, long Quantity);

/// <summary>One movement of shares; the ledger is append-only and every number is derived from it.</summary>
public sealed record LedgerEntry(
    long Sequence, LedgerEntryKind Kind, string ClassId, string? FromHolderId, string? ToHolderId, long Quantity, DateTimeOffset RecordedAt, string Reason);

public sealed record Holding(string HolderId, long OrdinaryShares, long ManagementShares, long VotingPower, int OrdinaryBasisPoints);

public sealed record CapTable(
    long LedgerSequence, IReadOnlyList<ShareClass> Classes, long OrdinaryOutstanding, long TotalVotingPower, IReadOnlyList<Holding> Holdings);

/// <summary>The ledger as read at one version: its classes and entries, and the cap table they give.</summary>
public sealed record LedgerSnapshot(long Version, IReadOnlyList<ShareClass> Classes, IReadOnlyList<LedgerEntry> Entries)
{
    public CapTable Table => ShareLedger.Derive(Classes, Entries, long.MaxValue);

    /// <summary>The cap table once <paramref name="more"/> are appended.</summary>
    public CapTable TableWith(IEnumerable<LedgerEntry> more) =>
        ShareLedger.Derive(Classes, Entries.Concat(more.Select(e => e with { Sequence = long.MaxValue - 1 })), long.MaxValue);
}

/// <summary>Derives holdings, votes and display percentages from the ledger; nothing of it is stored.</summary>
public static class ShareLedger
{
    /// <summary>The cap table after the entries with sequence ≤ <paramref name="asOf"/>.</summary>
    public static CapTable Derive(IReadOnlyList<ShareClass> classes, IEnumerable<LedgerEntry> entries, long asOf)
    {
        var byClass = classes.ToDictionary(c => c.Id, StringComparer.Ordinal);
        var held = new Dictionary<(string Holder, string Class), long>();
        long last = 0;
        foreach (var entry in entries.Where(e => e.Sequence <= asOf).OrderBy(e => e.Sequence))
        {
            if (entry.FromHolderId is { } from)
            {
                held[(from, entry.ClassId)] = held.GetValueOrDefault((from, entry.ClassId)) - entry.Quantity;
            }

            if (entry.ToHolderId is { } to)
            {
                held[(to, entry.ClassId)] = held.GetValueOrDefault((to, entry.ClassId)) + entry.Quantity;
            }

            last = entry.Sequence;
        }

        var holders = held.Where(h => h.Value != 0).GroupBy(h => h.Key.Holder, StringComparer.Ordinal).Select(g =>
        {
            long ordinary = 0, management = 0, votes = 0;
            foreach (var ((_, classId), quantity) in g)
            {
                var shareClass = byClass[classId];
                if (shareClass.Kind == ShareClassKind.Ordinary)
                {
                    ordinary += quantity;
                }
                else
                {
                    management += quantity;
                }

                votes += checked(quantity * shareClass.VotesPerShare);
            }

            return (Holder: g.Key, Ordinary: ordinary, Management: management, Votes: votes);
        }).ToList();

        var outstanding = holders.Sum(h => h.Ordinary);
        var points = BasisPoints(holders.Select(h => (h.Holder, h.Ordinary)).ToList(), outstanding);
        var holdings = holders
            .Select(h => new Holding(h.Holder, h.Ordinary, h.Management, h.Votes, points[h.Holder]))
            .OrderByDescending(h => h.OrdinaryShares).ThenBy(h => h.HolderId, StringComparer.Ordinal)
            .ToList();
        return new CapTable(last, classes, outstanding, holders.Sum(h => h.Votes), holdings);
    }

    /// <summary>Shares of one class a holder has after the given entries.</summary>
    public static long HeldBy(IEnumerable<LedgerEntry> entries, string holderId, string classId) =>
        entries.Where(e => e.ClassId == classId).Sum(e => (e.ToHolderId == holderId ? e.Quantity : 0) - (e.FromHolderId == holderId ? e.Quantity : 0));

    /// <summary>
    /// Each holder's share of <paramref name="total"/> in basis points, summing to exactly 10000:
    /// everyone gets the floor, and the points left go to the largest remainders (ties by holder id).
    /// </summary>
    public static Dictionary<string, int> BasisPoints(IReadOnlyList<(string Holder, long Quantity)> holdings, long total)
    {
        var result = holdings.ToDictionary(h => h.Holder, _ => 0, StringComparer.Ordinal);
        if (total <= 0)
        {
            return result;
        }

        var shares = holdings.Select(h =>
        {
            var scaled = (Int128)h.Quantity * 10_000;
            return (h.Holder, Floor: (int)(scaled / total), Remainder: (long)(scaled % total));
        }).ToList();
        var left = 10_000 - shares.Sum(s => s.Floor);
        foreach (var share in shares)
        {
            result[share.Holder] = share.Floor;
        }

        foreach (var share in shares.OrderByDescending(s => s.Remainder).ThenBy(s => s.Holder, StringComparer.Ordinal).Take(left))
        {
            result[share.Holder]++;
        }

        return result;
    }
}

/// <summary>The rules of the founding, as plain code.</summary>
public static partial class FoundingRules
{
    public static void Validate(IReadOnlyList<ShareClass> classes, IReadOnlyList<Allocation> allocations, FieldViolations violations)
    {
        for (var i = 0; i < classes.Count; i++)
        {
            var c = classes[i];
            var field = $"share_classes[{i}]";
            if (!ClassId().IsMatch(c.Id))
            {
                violations.Add($"{field}.id", "must be 1 to 32 lowercase letters, digits or '_'");
            }
            else if (classes.Take(i).Any(other => other.Id == c.Id))
            {
                violations.Add($"{field}.id", $"'{c.Id}' is listed twice");
            }

            if (c.Authorised is < 1 or > ShareQuantities.MaxAuthorised)
            {
                violations.Add($"{field}.authorised", $"must be between 1 and {ShareQuantities.MaxAuthorised}");
            }

            if (c.Kind == ShareClassKind.Ordinary && (c.VotesPerShare < 1 || c.VotesPerShare > ShareQuantities.MaxVotesPerShare))
            {
                violations.Add($"{field}.votes_per_share", $"must be between 1 and {ShareQuantities.MaxVotesPerShare} for ordinary shares");
            }

            if (c.Kind == ShareClassKind.Management && (c.VotesPerShare != 0 || c.Authorised != 1 || c.Transferable))
            {
                violations.Add(field, "the management share is one non-transferable share without votes");
            }
        }

        if (classes.Count(c => c.Kind == ShareClassKind.Ordinary) != 1)
        {
            violations.Add("share_classes", "must hold exactly one ordinary class");
        }

        if (classes.Count(c => c.Kind == ShareClassKind.Management) > 1)
        {
            violations.Add("share_classes", "must hold at most one management class");
        }

        if (allocations.Count == 0)
        {
            violations.Add("allocations", "must allocate shares to at least one founder");
        }

        for (var i = 0; i < allocations.Count; i++)
        {
            var a = allocations[i];
            violations.OrganisationId($"allocations[{i}].holder_id", a.HolderId);
            if (classes.All(c => c.Id != a.ClassId))
            {
                violations.Add($"allocations[{i}].class_id", $"'{a.ClassId}' is not one of the share classes");
            }

            ShareQuantities.Validate(violations, $"allocations[{i}].quantity", a.Quantity);
        }

        foreach (var c in classes)
        {
            var allocated = allocations.Where(a => a.ClassId == c.Id && a.Quantity > 0).Aggregate(Int128.Zero, (sum, a) => sum + a.Quantity);
            if (allocated > c.Authorised)
            {
                violations.Add("allocations", $"allocate {allocated} shares of '{c.Id}', more than the {c.Authorised} authorised");
            }
        }
    }

    [GeneratedRegex("^[a-z0-9_]{1,32}$")]
    private static partial Regex ClassId();
}

public enum ShareTransferState { AwaitingRegulator = 1, Settled = 2, Rejected = 3, Cancelled = 4 }

public sealed record ShareTransfer(
    string Id, string ClassId, string SellerId, string BuyerId, long Quantity, ShareTransferState State, string? ApprovalReason,
    DateTimeOffset RequestedAt, DateTimeOffset? DecidedAt, string? DecisionReason, long? LedgerSequence, long Version);

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

/// <summary>
/// Each organisation's group for the threshold: itself, those it names as affiliates and those that
/// name it. The relation is symmetric but not transitive, so groups differ from member to member.
/// </summary>
public sealed class AffiliationGroups
{
    private readonly Dictionary<string, HashSet<string>> groups = new(StringComparer.Ordinal);

    public AffiliationGroups(IEnumerable<(string Id, IReadOnlyList<string> Affiliations)> organisations)
    {
        foreach (var (id, affiliations) in organisations)
        {
            Of(id).UnionWith(affiliations);
            foreach (var affiliate in affiliations)
            {
                Of(affiliate).Add(id);
            }
        }
    }

    public IReadOnlySet<string> GroupOf(string id) => Of(id);

    private HashSet<string> Of(string id)
    {
        if (!groups.TryGetValue(id, out var group))
        {
            groups[id] = group = new HashSet<string>(StringComparer.Ordinal) { id };
        }

        return group;
    }
}

/// <summary>The regulatory threshold for holdings, an integer fraction (5/100 by default, inclusive).</summary>
public sealed class TransferThreshold
{
    private const int MaxReasons = 3;
    private const int MaxReasonLength = 500;

    public long Numerator { get; set; } = 5;
    public long Denominator { get; set; } = 100;

    /// <summary>
    /// Why a change of the ledger from <paramref name="before"/> to <paramref name="after"/> needs the
    /// regulator, or null. It does when a holder that gains shares is not yet a shareholder, or when a
    /// holder's ordinary shares with its affiliates' end at or above the threshold and either grew or
    /// were below it before — so transfers and issuances to a large holder, and cancellations that lift
    /// another holder over the line, all wait. Compared by cross-multiplication, never rounded.
    /// </summary>
    public string? ApprovalReason(CapTable before, CapTable after, IEnumerable<string> gainers, AffiliationGroups groups)
    {
        var reasons = new List<string>();
        var was = before.Holdings.ToDictionary(h => h.HolderId, h => h.OrdinaryShares, StringComparer.Ordinal);
        var now = after.Holdings.ToDictionary(h => h.HolderId, h => h.OrdinaryShares, StringComparer.Ordinal);
        reasons.AddRange(gainers.Distinct(StringComparer.Ordinal).Where(g => !was.ContainsKey(g)).Select(g => $"'{g}' is not yet a shareholder"));
        foreach (var holder in after.Holdings.Select(h => h.HolderId))
        {
            var group = groups.GroupOf(holder);
            var groupBefore = group.Aggregate(Int128.Zero, (sum, id) => sum + was.GetValueOrDefault(id));
            var groupAfter = group.Aggregate(Int128.Zero, (sum, id) => sum + now.GetValueOrDefault(id));
            var reaches = groupAfter * Denominator >= (Int128)after.OrdinaryOutstanding * Numerator;
            var wasBelow = groupBefore * Denominator < (Int128)before.OrdinaryOutstanding * Numerator;
            if (reaches && (groupAfter > groupBefore || wasBelow))
            {
                reasons.Add($"'{holder}' with its affiliates would hold {groupAfter} of {after.OrdinaryOutstanding} ordinary shares, at or above {Numerator}/{Denominator}");
            }
        }

        if (reasons.Count == 0)
        {
            return null;
        }

        var text = string.Join("; ", reasons.Take(MaxReasons)) + (reasons.Count > MaxReasons ? $"; and {reasons.Count - MaxReasons} more" : "");
        return text.Length <= MaxReasonLength ? text : text[..(MaxReasonLength - 1)] + "…";
    }
}
