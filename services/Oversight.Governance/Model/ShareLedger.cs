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
