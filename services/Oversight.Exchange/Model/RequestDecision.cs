namespace Oversight.Exchange.Model;

public enum RejectionCode
{
    NoActiveAlliance = 1,
    PurposeNotCovered = 2,
    CategoryNotCovered = 3,
    FieldNotCovered = 4,
    ExchangeFrozen = 5,
    DatasetRetired = 6,
    UnknownField = 7,
}

/// <summary>One reason a request was rejected, and what it is about (a dataset id, a field, a purpose).</summary>
public sealed record Rejection(RejectionCode Code, string Subject, string Message);

/// <summary>What an institution asks for, once its shape is valid and its datasets are found.</summary>
public sealed record RequestAsk(string InstitutionId, IReadOnlyList<Dataset> Datasets, string Purpose, IReadOnlyList<string> Fields);

/// <summary>The decision: the alliance it was approved under, or every reason it was not.</summary>
public sealed record RequestVerdict(AllianceTerms? Alliance, IReadOnlyList<Rejection> Rejections)
{
    public bool Approved => Alliance is not null;
}

/// <summary>
/// The venture's rule for a data request (design §10.3): approved only if the exchange is not frozen,
/// every dataset still takes requests and has every field asked for in at least one of them, and one
/// ACTIVE, currently valid alliance of the institution covers the purpose, every dataset's category
/// and every field. Otherwise rejected with each reason: against the alliances that cover the
/// purpose, the one that falls shortest is the one whose gaps are named.
/// </summary>
public static class RequestDecision
{
    /// <summary>Bumped whenever these rules change; each decision records the version it was made under.</summary>
    public const int RulesVersion = 1;

    public static RequestVerdict Decide(RequestAsk ask, IReadOnlyList<AllianceTerms> alliances, ExchangeStanding exchange, DateTimeOffset now)
    {
        var rejections = new List<Rejection>();
        if (exchange.Frozen)
        {
            rejections.Add(new(RejectionCode.ExchangeFrozen, "exchange", $"The exchange is frozen by the regulator: {exchange.Reason}"));
        }

        foreach (var dataset in ask.Datasets.Where(d => d.State == DatasetState.Retired))
        {
            rejections.Add(new(RejectionCode.DatasetRetired, dataset.Id, $"Dataset '{dataset.Name}' is retired and takes no new requests."));
        }

        foreach (var field in ask.Fields.Where(f => ask.Datasets.All(d => d.Field(f) is null)))
        {
            rejections.Add(new(RejectionCode.UnknownField, field, $"None of the datasets has a field '{field}'."));
        }

        var open = alliances.Where(a => a.InstitutionId == ask.InstitutionId && a.OpenAt(now)).OrderBy(a => a.AllianceId, StringComparer.Ordinal).ToList();
        if (open.Count == 0)
        {
            rejections.Add(new(RejectionCode.NoActiveAlliance, ask.InstitutionId, $"'{ask.InstitutionId}' has no ACTIVE alliance valid now."));
            return new(null, rejections);
        }

        var forPurpose = open.Where(a => a.CoversPurpose(ask.Purpose)).ToList();
        if (forPurpose.Count == 0)
        {
            rejections.Add(new(RejectionCode.PurposeNotCovered, ask.Purpose, $"No active alliance of '{ask.InstitutionId}' covers the purpose '{ask.Purpose}'."));
            return new(null, rejections);
        }

        var (best, gaps) = forPurpose.Select(a => (Alliance: a, Gaps: Gaps(a, ask))).MinBy(c => c.Gaps.Count);
        rejections.AddRange(gaps);
        return rejections.Count == 0 ? new(best, []) : new(null, rejections);
    }

    private static List<Rejection> Gaps(AllianceTerms alliance, RequestAsk ask)
    {
        var gaps = new List<Rejection>();
        foreach (var dataset in ask.Datasets.Where(d => !alliance.CoversCategory(d.DataCategory)))
        {
            gaps.Add(new(RejectionCode.CategoryNotCovered, dataset.Id,
                $"Alliance {alliance.AllianceId} does not cover category '{dataset.DataCategory}' of dataset '{dataset.Name}'."));
        }

        foreach (var field in ask.Fields.Where(f => !alliance.CoversField(f)))
        {
            gaps.Add(new(RejectionCode.FieldNotCovered, field, $"Alliance {alliance.AllianceId} does not cover the field '{field}'."));
        }

        return gaps;
    }
}
