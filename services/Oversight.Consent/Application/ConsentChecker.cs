using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.Model;
using Oversight.Contracts;

namespace Oversight.Consent.Application;

/// <summary>What a check asks, already structurally valid.</summary>
public sealed record CheckQuery(
    string ControllerId, string RecipientId, string Purpose, IReadOnlyList<string> SubjectIds, IReadOnlyList<string> DataCategories,
    DateTimeOffset? RecordTime, long MinimumSequence);

/// <summary>One decision of a check.</summary>
public sealed record CheckResult(string SubjectId, string DataCategory, CheckOutcome Outcome);

/// <summary>
/// Answers checks, one or many at a time, straight from the database (no cache can lag behind a
/// revoke). The answer's sequence says which changes it reflects; a caller presenting a
/// consistency token newer than the store has seen is told to retry rather than answered stale.
/// </summary>
public sealed class ConsentChecker(
    ConsentDatabase database,
    ConsentRepository repository,
    ConsentRegistry registry,
    TimeProvider time,
    IOptions<ConsentOptions> options)
{
    /// <summary>Who may ask: the controller, the recipient named, the Exchange service or the regulator.</summary>
    public static void Authorise(Caller caller, string controllerId, string recipientId)
    {
        if (caller.OrganisationId == controllerId || caller.OrganisationId == recipientId
            || caller.IsService(Producers.Exchange) || caller.IsRegulator)
        {
            return;
        }

        throw new PermissionDeniedException(
            "A check may be made only by the controller, the recipient it names, the Exchange service or the regulator.",
            $"controller/{controllerId}/recipient/{recipientId}");
    }

    /// <summary>Validates what only the registry can tell: known purpose and categories.</summary>
    public async Task ValidateVocabularyAsync(string purpose, IReadOnlyList<string> categories, string purposeField, Func<int, string> categoryField, CancellationToken cancellationToken)
    {
        var snapshot = await registry.GetAsync(cancellationToken);
        var violations = new FieldViolations();
        if (!snapshot.PurposeIds.Contains(purpose))
        {
            violations.Add(purposeField, $"'{purpose}' is not a registered purpose");
        }

        for (var i = 0; i < categories.Count; i++)
        {
            if (!snapshot.Taxonomy.Contains(categories[i]))
            {
                violations.Add(categoryField(i), $"'{categories[i]}' is not a known data category");
            }
        }

        violations.ThrowIfAny();
    }

    public ConsentLimits Limits => options.Value.Limits;

    /// <summary>Decides every subject × category, subject-major; returns the decisions and the sequence they reflect.</summary>
    public async Task<(IReadOnlyList<CheckResult> Results, long Sequence)> CheckAsync(CheckQuery query, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);

        // Read the clock first: everything read after it reflects at least this sequence.
        var sequence = await repository.LatestSequenceAsync(connection, cancellationToken);
        if (query.MinimumSequence > sequence)
        {
            throw new UnavailableException(
                "This store has not yet seen the write the consistency token names; retry shortly.");
        }

        Dictionary<string, List<ConsentArtefact>> bySubject;
        if (query.SubjectIds.Count == 1)
        {
            // One subject: every artefact, so the deny reason can tell a purpose not covered.
            var all = await repository.ForCheckAsync(connection, query.SubjectIds[0], query.ControllerId, query.RecipientId, cancellationToken);
            bySubject = new Dictionary<string, List<ConsentArtefact>>(StringComparer.Ordinal) { [query.SubjectIds[0]] = all.ToList() };
        }
        else
        {
            bySubject = await repository.ForBatchCheckAsync(connection, query.SubjectIds, query.ControllerId, query.RecipientId, query.Purpose, cancellationToken);
        }

        var limited = bySubject.Values.SelectMany(list => list).Where(a => a.Terms.FrequencyLimit is not null).Select(a => a.Id).ToList();
        var deliveries = await repository.DeliveryCountsAsync(connection, limited, now, cancellationToken);
        DeliveryCounts CountsOf(string consentId) => deliveries.GetValueOrDefault(consentId);

        var mandates = await repository.MandatesForRecipientAsync(connection, query.RecipientId, cancellationToken);

        var results = new List<CheckResult>(query.SubjectIds.Count * query.DataCategories.Count);
        List<int>? undecided = null;
        foreach (var subject in query.SubjectIds)
        {
            var artefacts = bySubject.TryGetValue(subject, out var list) ? list : (IReadOnlyList<ConsentArtefact>)[];
            foreach (var category in query.DataCategories)
            {
                var outcome = ConsentEvaluator.Evaluate(artefacts, query.RecipientId, query.Purpose, category, query.RecordTime, now, mandates, CountsOf);
                if (outcome.DenyReason == DenyReason.NoConsent && query.SubjectIds.Count > 1)
                {
                    (undecided ??= []).Add(results.Count);
                }

                results.Add(new CheckResult(subject, category, outcome));
            }
        }

        if (undecided is not null)
        {
            // The batch read only this purpose's artefacts. A subject without any is weighed again
            // with all of theirs, so the reason (and the consent named) match a unary check.
            var subjects = undecided.Select(i => results[i].SubjectId).Distinct(StringComparer.Ordinal).ToList();
            var everything = await repository.ForBatchCheckAsync(connection, subjects, query.ControllerId, query.RecipientId, null, cancellationToken);
            foreach (var index in undecided)
            {
                if (everything.TryGetValue(results[index].SubjectId, out var all))
                {
                    var outcome = ConsentEvaluator.Evaluate(all, query.RecipientId, query.Purpose, results[index].DataCategory, query.RecordTime, now, mandates, CountsOf);
                    results[index] = results[index] with { Outcome = outcome };
                }
            }
        }

        return (results, sequence);
    }
}
