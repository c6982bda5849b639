using Oversight.BuildingBlocks.Errors;

namespace Oversight.Governance.Model;

/// <summary>The rules of the founding, as plain code.</summary>
public static class FoundingRules
{
    public static void Validate(IReadOnlyList<ShareClass> classes, IReadOnlyList<Allocation> allocations, FieldViolations violations)
    {
        for (var i = 0; i < classes.Count; i++)
        {
            var c = classes[i];
            var field = $"share_classes[{i}]";
            if (Handles.ShareClass(violations, $"{field}.id", c.Id) && classes.Take(i).Any(other => other.Id == c.Id))
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
}
