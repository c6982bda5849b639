using System.Text.RegularExpressions;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.Consent.Model;

/// <summary>Bounds on what a consent may say; bound from <c>Oversight:Consent:Limits</c>.</summary>
public sealed class ConsentLimits
{
    /// <summary>The longest a consent may run, from valid_from to valid_until.</summary>
    public TimeSpan MaxValidity { get; set; } = TimeSpan.FromDays(366);

    /// <summary>The longest a recipient may keep data under a STORE consent.</summary>
    public TimeSpan MaxDataLife { get; set; } = TimeSpan.FromDays(5 * 365);

    /// <summary>How far ahead of the server's clock a client's times may be.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(2);

    public int MaxCategoriesPerConsent { get; set; } = 32;
    public int MaxBatchSubjects { get; set; } = 5000;
    public int MaxBatchCategories { get; set; } = 32;

    /// <summary>Subjects × categories per batch call, so an answer stays within a few megabytes.</summary>
    public int MaxBatchDecisions { get; set; } = 20_000;
}

/// <summary>A registered organisation, as Consent knows it from Governance's events.</summary>
public sealed record KnownOrganisation(string Id, string Kind, string Name, string Jurisdiction, long Version);

/// <summary>
/// The rules a consent must satisfy before it is issued (design §10.1, PIPL). Each broken rule
/// becomes a field violation naming the request field, so the caller learns every problem at once.
/// </summary>
public static partial class ConsentRules
{
    /// <summary>Where every client finds the valid values: the RPC, and the CLI command that calls it.</summary>
    public const string UnknownPurposeHint = "; ListPurposes lists the registered ones (cli registry purposes)";

    public const string UnknownCategoryHint = "; ListDataCategories lists the known ones (cli registry categories)";

    public static void Validate(
        ConsentTerms terms,
        KnownOrganisation controller,
        KnownOrganisation? recipient,
        DataCategoryTaxonomy taxonomy,
        IReadOnlySet<string> purposes,
        ConsentLimits limits,
        DateTimeOffset now,
        FieldViolations violations,
        string prefix = "terms")
    {
        // Named recipient (PIPL Art. 23): a registered organisation other than the controller.
        if (recipient is null)
        {
            violations.Add($"{prefix}.recipient_id", $"'{terms.RecipientId}' is not a registered organisation");
        }
        else if (recipient.Id == controller.Id)
        {
            violations.Add($"{prefix}.recipient_id", "must name an organisation other than the controller");
        }

        if (!purposes.Contains(terms.Purpose))
        {
            violations.Add($"{prefix}.purpose", $"'{terms.Purpose}' is not a registered purpose{UnknownPurposeHint}");
        }

        ValidateCategories(terms.DataCategories, taxonomy, limits, violations, $"{prefix}.data_categories");
        ValidateTimes(terms, limits, now, violations, prefix);
        ValidateModeAndLimits(terms, limits, violations, prefix);
        ValidateEvidence(terms.Evidence, limits, now, violations, $"{prefix}.evidence");

        // Sensitive personal information needs a separate consent (PIPL Art. 29); so does a
        // minor's (Art. 28 counts it as sensitive).
        var sensitive = terms.DataCategories.Where(taxonomy.Contains).SelectMany(taxonomy.SensitiveReachedBy).Distinct().ToList();
        if (sensitive.Count > 0 && !terms.Evidence.SeparateConsent)
        {
            violations.Add($"{prefix}.evidence.separate_consent",
                $"must be set: the consent reaches sensitive categories ({string.Join(", ", sensitive)}) that need a separate consent (PIPL Art. 29)");
        }

        if (terms.Evidence.SubjectUnder14)
        {
            if (!terms.Evidence.SeparateConsent && sensitive.Count == 0)
            {
                violations.Add($"{prefix}.evidence.separate_consent",
                    "must be set: a minor's personal information is sensitive and needs a separate consent (PIPL Art. 28, 29)");
            }

            if (terms.Evidence.Guardian is null)
            {
                violations.Add($"{prefix}.evidence.guardian",
                    "is required: a subject under 14 needs a parent's or guardian's consent (PIPL Art. 31)");
            }
        }

        // Cross-border provision needs the person's separate agreement (PIPL Art. 39): the recipient
        // is abroad if it sits outside where the consent was collected or where the controller is.
        if (recipient is not null && !terms.Evidence.CrossBorder
            && (!string.Equals(recipient.Jurisdiction, terms.Evidence.Jurisdiction, StringComparison.Ordinal)
                || !string.Equals(recipient.Jurisdiction, controller.Jurisdiction, StringComparison.Ordinal)))
        {
            violations.Add($"{prefix}.evidence.cross_border",
                $"must be set: the recipient is in {recipient.Jurisdiction}, outside {terms.Evidence.Jurisdiction} where the consent was collected or {controller.Jurisdiction} where the controller is (PIPL Art. 39)");
        }
    }

    public static void ValidateCategories(IReadOnlyList<string> categories, DataCategoryTaxonomy taxonomy, ConsentLimits limits, FieldViolations violations, string field)
    {
        if (categories.Count == 0)
        {
            violations.Add(field, "must name at least one data category");
            return;
        }

        if (categories.Count > limits.MaxCategoriesPerConsent)
        {
            violations.Add(field, $"must name at most {limits.MaxCategoriesPerConsent} categories");
            return;
        }

        for (var i = 0; i < categories.Count; i++)
        {
            if (!taxonomy.Contains(categories[i]))
            {
                violations.Add($"{field}[{i}]", $"'{Shorten(categories[i])}' is not a known data category{UnknownCategoryHint}");
            }
            else if (categories.Take(i).Contains(categories[i], StringComparer.Ordinal))
            {
                violations.Add($"{field}[{i}]", $"'{categories[i]}' is listed twice");
            }
        }
    }

    private static void ValidateTimes(ConsentTerms terms, ConsentLimits limits, DateTimeOffset now, FieldViolations violations, string prefix)
    {
        if (terms.ValidFrom < now - limits.ClockSkew)
        {
            violations.Add($"{prefix}.valid_from", "must not be in the past");
        }

        if (terms.ValidUntil <= terms.ValidFrom)
        {
            violations.Add($"{prefix}.valid_until", "must be after valid_from");
        }
        else if (terms.ValidUntil <= now)
        {
            violations.Add($"{prefix}.valid_until", "must be in the future");
        }
        else if (terms.ValidUntil - terms.ValidFrom > limits.MaxValidity)
        {
            violations.Add($"{prefix}.valid_until", $"must be at most {limits.MaxValidity.TotalDays:0} days after valid_from");
        }

        if (terms.RecordFrom is { } from && terms.RecordUntil is { } until && until <= from)
        {
            violations.Add($"{prefix}.record_time_range.end_time", "must be after start_time");
        }
    }

    private static void ValidateModeAndLimits(ConsentTerms terms, ConsentLimits limits, FieldViolations violations, string prefix)
    {
        if (terms.DataLife.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            violations.Add($"{prefix}.data_life", "must be whole seconds");
        }
        else if (terms.DataLife < TimeSpan.Zero)
        {
            violations.Add($"{prefix}.data_life", "must not be negative");
        }
        else if (terms.Mode == ConsentMode.View && terms.DataLife != TimeSpan.Zero)
        {
            violations.Add($"{prefix}.data_life", "must be zero for a VIEW consent: the recipient keeps nothing");
        }
        else if (terms.Mode == ConsentMode.Store && terms.DataLife == TimeSpan.Zero)
        {
            violations.Add($"{prefix}.data_life", "is required for a STORE consent");
        }
        else if (terms.DataLife > limits.MaxDataLife)
        {
            violations.Add($"{prefix}.data_life", $"must be at most {limits.MaxDataLife.TotalDays:0} days");
        }

        if (terms.FrequencyLimit is { } limit && (limit.MaxDeliveries < 1 || limit.MaxDeliveries > 1_000_000))
        {
            violations.Add($"{prefix}.frequency_limit.max_deliveries", "must be between 1 and 1000000");
        }
    }

    private static void ValidateEvidence(ConsentEvidence evidence, ConsentLimits limits, DateTimeOffset now, FieldViolations violations, string prefix)
    {
        violations.Text($"{prefix}.notice_id", evidence.NoticeId, 128);
        violations.Text($"{prefix}.notice_version", evidence.NoticeVersion, 64);
        if (!Sha256Hex().IsMatch(evidence.NoticeContentSha256))
        {
            violations.Add($"{prefix}.notice_content_sha256", "must be 64 lowercase hexadecimal characters (a SHA-256)");
        }

        if (evidence.CollectedAt > now + limits.ClockSkew)
        {
            violations.Add($"{prefix}.collect_time", "must not be in the future");
        }

        if (!LanguageTag().IsMatch(evidence.Language))
        {
            violations.Add($"{prefix}.language", "must be a BCP 47 language tag such as zh-CN");
        }

        violations.CountryCode($"{prefix}.jurisdiction", evidence.Jurisdiction);

        if (evidence.Guardian is { } guardian)
        {
            violations.Text($"{prefix}.guardian.guardian_id", guardian.GuardianId, 128);
            violations.Text($"{prefix}.guardian.relationship", guardian.Relationship, 64);
            violations.Text($"{prefix}.guardian.verification_method", guardian.VerificationMethod, 128);
        }
    }

    private static string Shorten(string value) => value.Length <= 64 ? value : value[..64] + "…";

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();

    [GeneratedRegex("^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")]
    private static partial Regex LanguageTag();
}
