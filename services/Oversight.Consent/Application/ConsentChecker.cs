using Microsoft.Extensions.Options;
using System.Data.Common;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.Model;
using Oversight.Contracts;

namespace Oversight.Consent.Application;

/// <summary>What a check asks, already structurally valid.</summary>
/// <param name="DeliveryId">The delivery a check is for: its own earlier pages are not other uses of a consent.</param>
public sealed record CheckQuery(
    string ControllerId, string RecipientId, string Purpose, IReadOnlyList<string> SubjectIds, IReadOnlyList<string> DataCategories,
    DateTimeOffset? RecordTime, long MinimumSequence, string? DeliveryId = null);

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
    CheckReaders readers,
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
            violations.Add(purposeField, $"'{purpose}' is not a registered purpose{ConsentRules.UnknownPurposeHint}");
        }

        for (var i = 0; i < categories.Count; i++)
        {
            if (!snapshot.Taxonomy.Contains(categories[i]))
            {
                violations.Add(categoryField(i), $"'{categories[i]}' is not a known data category{ConsentRules.UnknownCategoryHint}");
            }
        }

        violations.ThrowIfAny();
    }

    public ConsentLimits Limits => options.Value.Limits;

    /// <summary>Decides one subject and category; returns the decision and the sequence it reflects.</summary>
    public async Task<(CheckResult Result, long Sequence)> CheckOneAsync(
        string subjectId, string category, CheckQuery query, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var (sequence, consents) = await readers.ReadAsync(subjectId, query.ControllerId, query.RecipientId, cancellationToken);
        RequireFresh(query, sequence);

        var deliveries = await DeliveriesAsync(null, consents, query.DeliveryId, now, cancellationToken);
        var outcome = ConsentEvaluator.Evaluate(consents, query.RecipientId, query.Purpose, category, query.RecordTime, now, [], deliveries);
        if (outcome.Decision == CheckDecision.Deny)
        {
            // Consent is weighed first; the mandates are read only when no consent allows.
            await using var connection = await database.OpenAsync(cancellationToken);
            var mandates = await repository.MandatesForRecipientAsync(connection, query.RecipientId, cancellationToken);
            if (mandates.Count > 0)
            {
                outcome = ConsentEvaluator.Evaluate(consents, query.RecipientId, query.Purpose, category, query.RecordTime, now, mandates, deliveries);
            }
        }

        return (new CheckResult(subjectId, category, outcome), sequence);
    }

    /// <summary>Decides every subject × category, subject-major; returns the decisions and the sequence they reflect.</summary>
    public async Task<(IReadOnlyList<CheckResult> Results, long Sequence)> CheckManyAsync(CheckQuery query, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);

        // Read the clock first: everything read after it reflects at least this sequence.
        var sequence = await repository.LatestSequenceAsync(connection, cancellationToken);
        RequireFresh(query, sequence);

        var bySubject = await repository.CoverageForBatchAsync(connection, query.SubjectIds, query.ControllerId, query.RecipientId, query.Purpose, cancellationToken);
        var deliveries = await DeliveriesAsync(connection, bySubject.Values.SelectMany(list => list), query.DeliveryId, now, cancellationToken);
        var mandates = await repository.MandatesForRecipientAsync(connection, query.RecipientId, cancellationToken);

        var results = new List<CheckResult>(query.SubjectIds.Count * query.DataCategories.Count);
        List<int>? undecided = null;
        foreach (var subject in query.SubjectIds)
        {
            var consents = bySubject.TryGetValue(subject, out var list) ? list : (IReadOnlyList<ConsentCoverage>)[];
            foreach (var category in query.DataCategories)
            {
                var outcome = ConsentEvaluator.Evaluate(consents, query.RecipientId, query.Purpose, category, query.RecordTime, now, mandates, deliveries);
                if (outcome.DenyReason == DenyReason.NoConsent)
                {
                    (undecided ??= []).Add(results.Count);
                }

                results.Add(new CheckResult(subject, category, outcome));
            }
        }

        if (undecided is not null)
        {
            // The batch read only this purpose's consents. A subject without any is weighed again
            // with all of theirs, so the reason (and the consent named) match a unary check.
            var subjects = undecided.Select(i => results[i].SubjectId).Distinct(StringComparer.Ordinal).ToList();
            var everything = await repository.CoverageForBatchAsync(connection, subjects, query.ControllerId, query.RecipientId, null, cancellationToken);
            foreach (var index in undecided)
            {
                if (everything.TryGetValue(results[index].SubjectId, out var all))
                {
                    var outcome = ConsentEvaluator.Evaluate(all, query.RecipientId, query.Purpose, results[index].DataCategory, query.RecordTime, now, mandates, deliveries);
                    results[index] = results[index] with { Outcome = outcome };
                }
            }
        }

        if (query.DeliveryId is { } deliveryId)
        {
            await ReserveUsesAsync(query, deliveryId, results, bySubject, mandates, now, cancellationToken);
        }

        return (results, sequence);
    }

    /// <summary>
    /// For a delivery's check: every consent with a frequency limit that allowed a subject is counted
    /// again and its use reserved, in one write transaction that holds those consents. So a limit holds
    /// when two deliveries check at once, and while the DataDisclosed events that report uses are still
    /// on their way (the broker down). A subject whose consent has no use left is decided again.
    /// </summary>
    private async Task ReserveUsesAsync(
        CheckQuery query, string deliveryId, List<CheckResult> results, Dictionary<string, List<ConsentCoverage>> bySubject,
        IReadOnlyList<StatutoryMandate> mandates, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var limited = new List<int>();
        var consentIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < results.Count; i++)
        {
            if (LimitedConsent(results[i], bySubject) is { } consent)
            {
                limited.Add(i);
                consentIds.Add(consent.Id);
            }
        }

        if (limited.Count == 0)
        {
            return;
        }

        await using var session = await database.BeginAsync(cancellationToken);
        await repository.LockConsentsAsync(session, consentIds);
        var counts = await repository.DeliveryCountsAsync(session.Connection, consentIds, deliveryId, now, cancellationToken, session.Transaction);
        var reserved = new HashSet<string>(StringComparer.Ordinal);
        foreach (var index in limited)
        {
            var result = results[index];
            var outcome = ConsentEvaluator.Evaluate(bySubject[result.SubjectId], query.RecipientId, query.Purpose, result.DataCategory, query.RecordTime, now, mandates,
                id => counts.GetValueOrDefault(id));
            results[index] = result with { Outcome = outcome };
            if (LimitedConsent(results[index], bySubject) is { } consent)
            {
                reserved.Add(consent.Id);
            }
        }

        await repository.ReserveUsesAsync(session, deliveryId, reserved, now);
        await session.CommitAsync();
    }

    /// <summary>The consent with a frequency limit that allowed this result, if one did.</summary>
    private static ConsentCoverage? LimitedConsent(CheckResult result, Dictionary<string, List<ConsentCoverage>> bySubject) =>
        result.Outcome is { Decision: CheckDecision.Allow, ConsentId: { } id } && bySubject.TryGetValue(result.SubjectId, out var consents)
            ? consents.Find(c => c.Id == id && c.FrequencyLimit is not null)
            : null;

    private static void RequireFresh(CheckQuery query, long sequence)
    {
        if (query.MinimumSequence > sequence)
        {
            throw new UnavailableException("This store has not yet seen the write the consistency token names; retry shortly.");
        }
    }

    /// <summary>Deliveries so far for the consents that carry a frequency limit (none read when none does).</summary>
    private async Task<Func<string, DeliveryCounts>> DeliveriesAsync(
        DbConnection? connection, IEnumerable<ConsentCoverage> consents, string? deliveryId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var limited = consents.Where(c => c.FrequencyLimit is not null).Select(c => c.Id).ToList();
        if (limited.Count == 0)
        {
            return static _ => default;
        }

        Dictionary<string, DeliveryCounts> counts;
        if (connection is null)
        {
            await using var own = await database.OpenAsync(cancellationToken);
            counts = await repository.DeliveryCountsAsync(own, limited, deliveryId, now, cancellationToken);
        }
        else
        {
            counts = await repository.DeliveryCountsAsync(connection, limited, deliveryId, now, cancellationToken);
        }

        return id => counts.GetValueOrDefault(id);
    }
}
