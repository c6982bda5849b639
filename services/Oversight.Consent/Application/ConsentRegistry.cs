using Oversight.Consent.Infrastructure;
using Oversight.Consent.Model;

namespace Oversight.Consent.Application;

/// <summary>The purposes and the taxonomy, as migrated into the database.</summary>
public sealed record RegistrySnapshot(IReadOnlyDictionary<string, Purpose> Purposes, DataCategoryTaxonomy Taxonomy)
{
    public IReadOnlySet<string> PurposeIds { get; } = Purposes.Keys.ToHashSet(StringComparer.Ordinal);
}

/// <summary>
/// Keeps the registry in memory: it changes only by migration, so it is read once after start-up
/// and every check and grant validates against it without a query.
/// </summary>
public sealed class ConsentRegistry(ConsentRepository repository)
{
    private RegistrySnapshot? _snapshot;

    public async ValueTask<RegistrySnapshot> GetAsync(CancellationToken cancellationToken)
    {
        if (_snapshot is { } loaded)
        {
            return loaded;
        }

        var purposes = await repository.PurposesAsync(cancellationToken);
        var categories = await repository.CategoriesAsync(cancellationToken);
        var snapshot = new RegistrySnapshot(purposes.ToDictionary(p => p.Id, StringComparer.Ordinal), new DataCategoryTaxonomy(categories));
        _snapshot = snapshot;
        return snapshot;
    }
}
