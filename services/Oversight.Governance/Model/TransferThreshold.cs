namespace Oversight.Governance.Model;

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
