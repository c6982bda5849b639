namespace Oversight.Governance.Model;

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
