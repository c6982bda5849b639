using Oversight.BuildingBlocks.Errors;
using Oversight.Contracts.Governance;

namespace Oversight.Governance.Model;

/// <summary>One entry of the venture's registry of organisations.</summary>
public sealed record Organisation(
    string Id, string Kind, string Name, string Jurisdiction, IReadOnlyList<string> Affiliations,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, long Version);

/// <summary>The rules a registry entry keeps, as plain code the tests call without a host.</summary>
public static class OrganisationRules
{
    public const int MaxAffiliations = 32;

    public static readonly IReadOnlyList<string> Kinds =
    [
        OrganisationKinds.Platform, OrganisationKinds.Institution, OrganisationKinds.Regulator,
        OrganisationKinds.StateInvestor, OrganisationKinds.Operator,
    ];

    /// <summary>Shape of the mutable fields: name, jurisdiction, affiliations (existence is checked against the store).</summary>
    public static void ValidateDetails(string organisationId, string name, string jurisdiction, IReadOnlyList<string> affiliations, FieldViolations violations)
    {
        violations.Text("name", name, 200);
        violations.CountryCode("jurisdiction", jurisdiction);

        if (affiliations.Count > MaxAffiliations)
        {
            violations.Add("affiliations", $"must name at most {MaxAffiliations} organisations");
            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < affiliations.Count; i++)
        {
            var field = $"affiliations[{i}]";
            if (!violations.OrganisationId(field, affiliations[i]))
            {
                continue;
            }

            if (affiliations[i] == organisationId)
            {
                violations.Add(field, "an organisation is not affiliated with itself");
            }
            else if (!seen.Add(affiliations[i]))
            {
                violations.Add(field, $"'{affiliations[i]}' is listed twice");
            }
        }
    }
}
