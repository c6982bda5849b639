using Oversight.Contracts;

namespace Oversight.Consent.Model;

public sealed record DataCategory(string Id, string? ParentId, string DisplayName, bool Sensitive, string Description);

public sealed record Purpose(string Id, string DisplayName, string Description);

/// <summary>
/// The hierarchical category taxonomy. A consent for a category covers its descendants
/// (<c>user.financial</c> covers <c>user.financial.transactions</c>), so a category needs separate
/// consent when it, an ancestor or any descendant is sensitive.
/// </summary>
public sealed class DataCategoryTaxonomy
{
    private readonly Dictionary<string, DataCategory> _byId;

    public DataCategoryTaxonomy(IEnumerable<DataCategory> categories) =>
        _byId = categories.ToDictionary(c => c.Id, StringComparer.Ordinal);

    public IReadOnlyCollection<DataCategory> All => _byId.Values;

    public bool Contains(string id) => _byId.ContainsKey(id);

    public DataCategory? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>True when a consent for <paramref name="granted"/> covers data of <paramref name="requested"/>.</summary>
    public static bool Covers(string granted, string requested) => DataCategoryIds.Covers(granted, requested);

    public static bool AnyCovers(IEnumerable<string> granted, string requested) => DataCategoryIds.AnyCovers(granted, requested);

    /// <summary>True when granting this category reaches sensitive personal information.</summary>
    public bool NeedsSeparateConsent(string id) => SensitiveReachedBy(id).Any();

    /// <summary>The sensitive categories a grant of <paramref name="id"/> reaches (itself, ancestors, descendants).</summary>
    public IEnumerable<string> SensitiveReachedBy(string id) =>
        _byId.Values.Where(c => c.Sensitive && (Covers(id, c.Id) || Covers(c.Id, id))).Select(c => c.Id).Order(StringComparer.Ordinal);
}
