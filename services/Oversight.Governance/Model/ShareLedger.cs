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

                votes += quantity * shareClass.VotesPerShare;
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

            if (c.Authorised < 1)
            {
                violations.Add($"{field}.authorised", "must be at least 1");
            }

            if (c.Kind == ShareClassKind.Ordinary && (c.VotesPerShare < 1 || c.VotesPerShare > 1_000))
            {
                violations.Add($"{field}.votes_per_share", "must be between 1 and 1000 for ordinary shares");
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

            if (a.Quantity < 1)
            {
                violations.Add($"allocations[{i}].quantity", "must be at least 1");
            }
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

/// <summary>The regulatory threshold for holdings, an integer fraction (5/100 by default, inclusive).</summary>
public sealed class TransferThreshold
{
    public long Numerator { get; set; } = 5;
    public long Denominator { get; set; } = 100;

    /// <summary>
    /// Why a transfer needs the regulator, or null: a buyer not yet a shareholder, or a buyer whose
    /// ordinary shares with its affiliates' would reach the threshold. Compared by cross-multiplication.
    /// </summary>
    public string? ApprovalReason(CapTable table, string buyerId, IReadOnlyCollection<string> buyerGroup, long quantity)
    {
        if (table.Holdings.All(h => h.HolderId != buyerId))
        {
            return $"'{buyerId}' is not yet a shareholder";
        }

        var group = table.Holdings.Where(h => h.HolderId == buyerId || buyerGroup.Contains(h.HolderId)).Aggregate((Int128)quantity, (sum, h) => sum + h.OrdinaryShares);
        return group * Denominator >= (Int128)table.OrdinaryOutstanding * Numerator
            ? $"'{buyerId}' with its affiliates would hold {group} of {table.OrdinaryOutstanding} ordinary shares, at or above {Numerator}/{Denominator}"
            : null;
    }
}
