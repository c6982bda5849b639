using Oversight.BuildingBlocks.Errors;

namespace Oversight.Governance.Model;

/// <summary>
/// Bounds on every share number a caller gives, chosen so that nothing the ledger derives can
/// overflow a 64-bit integer: a class authorises at most <see cref="MaxAuthorised"/> shares, so no
/// holding, outstanding total or single movement exceeds it, and a holder's voting power is at most
/// <see cref="MaxAuthorised"/> × <see cref="MaxVotesPerShare"/> = 10^15, far below 2^63 ≈ 9.2 × 10^18
/// even summed over every holder (the venture has one ordinary class and one management share).
/// </summary>
public static class ShareQuantities
{
    /// <summary>Shares one class may authorise (a million million).</summary>
    public const long MaxAuthorised = 1_000_000_000_000;

    /// <summary>Votes one ordinary share carries.</summary>
    public const long MaxVotesPerShare = 1_000;

    /// <summary>Shares in one allocation, transfer, issuance or cancellation line: never more than a class can authorise.</summary>
    public const long MaxQuantity = MaxAuthorised;

    /// <summary>A quantity of shares: 1 to <see cref="MaxQuantity"/>; returns true when valid.</summary>
    public static bool Validate(FieldViolations violations, string field, long quantity)
    {
        if (quantity is >= 1 and <= MaxQuantity)
        {
            return true;
        }

        violations.Add(field, $"must be between 1 and {MaxQuantity}");
        return false;
    }
}
