namespace Oversight.Contracts;

/// <summary>
/// How the dotted data category ids of Consent's taxonomy nest, as every service reads them: a
/// category covers itself and its descendants (<c>user.financial</c> covers
/// <c>user.financial.transactions</c>, not <c>user.financialx</c>).
/// </summary>
public static class DataCategoryIds
{
    /// <summary>True when <paramref name="granted"/> covers data of <paramref name="requested"/>.</summary>
    public static bool Covers(string granted, string requested) =>
        requested.Length == granted.Length
            ? string.Equals(requested, granted, StringComparison.Ordinal)
            : requested.Length > granted.Length
              && requested[granted.Length] == '.'
              && requested.StartsWith(granted, StringComparison.Ordinal);

    public static bool AnyCovers(IEnumerable<string> granted, string requested) => granted.Any(g => Covers(g, requested));
}
