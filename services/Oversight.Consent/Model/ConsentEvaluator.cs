namespace Oversight.Consent.Model;

// Numbers match the protobuf enums.
public enum CheckDecision { Allow = 1, Deny = 2 }

public enum LegalBasis { None = 0, Consent = 1, Statutory = 2 }

public enum DenyReason
{
    None = 0,
    NoConsent = 1,
    Revoked = 2,
    Paused = 3,
    Expired = 4,
    PurposeNotCovered = 5,
    CategoryNotCovered = 6,
    FrequencyExhausted = 7,
    NotYetValid = 8,
    RecordTimeNotCovered = 9,
    Superseded = 10,
}

/// <summary>
/// The answer to one check. An allowing consent that covers only records of some times says which
/// (<see cref="RecordFrom"/>, <see cref="RecordUntil"/>), so a caller that checked without a record
/// time — a delivery of many records — can hold back the records outside them.
/// </summary>
public sealed record CheckOutcome(
    CheckDecision Decision, LegalBasis LegalBasis, string? ConsentId, string? MandateId, DenyReason DenyReason, TimeSpan? DataLife,
    DateTimeOffset? RecordFrom = null, DateTimeOffset? RecordUntil = null)
{
    public static CheckOutcome AllowedBy(ConsentCoverage consent) =>
        new(CheckDecision.Allow, LegalBasis.Consent, consent.Id, null, DenyReason.None, consent.DataLife, consent.RecordFrom, consent.RecordUntil);

    public static CheckOutcome AllowedBy(StatutoryMandate mandate) =>
        new(CheckDecision.Allow, LegalBasis.Statutory, null, mandate.Id, DenyReason.None, null);

    public static CheckOutcome Denied(DenyReason reason, string? nearestConsentId = null) =>
        new(CheckDecision.Deny, LegalBasis.None, nearestConsentId, null, reason, null);
}

/// <summary>A statutory mandate: named sharing the law allows without consent (read model of Governance's events).</summary>
public sealed record StatutoryMandate(
    string Id,
    string LegalReference,
    string RecipientId,
    IReadOnlyList<string> Purposes,
    IReadOnlyList<string> DataCategories,
    DateTimeOffset ValidFrom,
    DateTimeOffset? ValidUntil,
    DateTimeOffset? RepealedAt)
{
    public bool InForceAt(DateTimeOffset now) =>
        ValidFrom <= now && (ValidUntil is null || now < ValidUntil) && (RepealedAt is null || now < RepealedAt);

    public bool Allows(string recipientId, string purpose, string category, DateTimeOffset now) =>
        RecipientId == recipientId
        && InForceAt(now)
        && Purposes.Contains(purpose, StringComparer.Ordinal)
        && DataCategoryTaxonomy.AnyCovers(DataCategories, category);
}

/// <summary>Deliveries already made under one consent in the calendar windows containing now.</summary>
public readonly record struct DeliveryCounts(int ThisHour, int Today, int ThisMonth)
{
    public int In(FrequencyPeriod period) => period switch
    {
        FrequencyPeriod.Hour => ThisHour,
        FrequencyPeriod.Day => Today,
        _ => ThisMonth,
    };
}

/// <summary>
/// Decides a check (design §10.1): ALLOW under an active consent that covers the purpose, the
/// category (or an ancestor of it), the record time and the frequency limit; otherwise ALLOW
/// under a statutory mandate in force; otherwise DENY with the reason nearest to allowing.
/// Plain and pure, so the rules are tested without a database.
/// </summary>
public static class ConsentEvaluator
{
    /// <param name="artefacts">Every artefact of one subject, controller and recipient.</param>
    /// <param name="mandates">The mandates naming the recipient.</param>
    /// <param name="deliveries">Deliveries so far per consent id; only asked for consents with a frequency limit.</param>
    public static CheckOutcome Evaluate(
        IReadOnlyList<ConsentCoverage> artefacts,
        string recipientId,
        string purpose,
        string category,
        DateTimeOffset? recordTime,
        DateTimeOffset now,
        IReadOnlyList<StatutoryMandate> mandates,
        Func<string, DeliveryCounts> deliveries)
    {
        ConsentCoverage? nearest = null;
        var nearestReason = DenyReason.NoConsent;
        ConsentCoverage? samePurpose = null;
        ConsentCoverage? limited = null;

        foreach (var artefact in artefacts)
        {
            if (artefact.Purpose != purpose)
            {
                continue;
            }

            samePurpose = Later(samePurpose, artefact);
            if (!DataCategoryTaxonomy.AnyCovers(artefact.DataCategories, category))
            {
                continue;
            }

            var reason = Obstacle(artefact, recordTime, now, deliveries);
            if (reason == DenyReason.None)
            {
                // Asked without a record time (a delivery of many records), a consent limited to some record
                // times allows only those: another consent, or a mandate, that allows them all is the answer.
                if (recordTime is not null || (artefact.RecordFrom is null && artefact.RecordUntil is null))
                {
                    return CheckOutcome.AllowedBy(artefact);
                }

                limited ??= artefact;
                continue;
            }

            // Report the most recently issued covering artefact: the one the person dealt with last.
            if (Later(nearest, artefact) == artefact)
            {
                nearest = artefact;
                nearestReason = reason;
            }
        }

        foreach (var mandate in mandates)
        {
            if (mandate.Allows(recipientId, purpose, category, now))
            {
                return CheckOutcome.AllowedBy(mandate);
            }
        }

        if (limited is not null)
        {
            return CheckOutcome.AllowedBy(limited);
        }

        if (nearest is not null)
        {
            return CheckOutcome.Denied(nearestReason, nearest.Id);
        }

        if (samePurpose is not null)
        {
            return CheckOutcome.Denied(DenyReason.CategoryNotCovered, samePurpose.Id);
        }

        var latest = artefacts.Aggregate((ConsentCoverage?)null, Later);
        return latest is null ? CheckOutcome.Denied(DenyReason.NoConsent) : CheckOutcome.Denied(DenyReason.PurposeNotCovered, latest.Id);
    }

    /// <summary>The more recently issued of two artefacts (ties broken by id, so the answer is stable).</summary>
    private static ConsentCoverage Later(ConsentCoverage? current, ConsentCoverage candidate) =>
        current is null || candidate.CreatedAt > current.CreatedAt
        || (candidate.CreatedAt == current.CreatedAt && string.CompareOrdinal(candidate.Id, current.Id) > 0)
            ? candidate
            : current;

    /// <summary>What stops a covering artefact from allowing, or <see cref="DenyReason.None"/>.</summary>
    private static DenyReason Obstacle(ConsentCoverage artefact, DateTimeOffset? recordTime, DateTimeOffset now, Func<string, DeliveryCounts> deliveries)
    {
        switch (artefact.StatusAt(now))
        {
            case ConsentStatus.Revoked: return DenyReason.Revoked;
            case ConsentStatus.Paused: return DenyReason.Paused;
            case ConsentStatus.Expired: return DenyReason.Expired;
            case ConsentStatus.Superseded: return DenyReason.Superseded;
        }

        if (now < artefact.ValidFrom)
        {
            return DenyReason.NotYetValid;
        }

        if (!artefact.CoversRecordTime(recordTime))
        {
            return DenyReason.RecordTimeNotCovered;
        }

        if (artefact.FrequencyLimit is { } limit && deliveries(artefact.Id).In(limit.Period) >= limit.MaxDeliveries)
        {
            return DenyReason.FrequencyExhausted;
        }

        return DenyReason.None;
    }
}
