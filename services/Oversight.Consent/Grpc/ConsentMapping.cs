using Google.Protobuf.WellKnownTypes;
using Oversight.BuildingBlocks.Errors;
using Oversight.Consent.Model;

namespace Oversight.Consent.Grpc;

/// <summary>
/// Translates between the public protos and the domain. Reading a request checks its shape —
/// presence, formats, representable times — and names each bad field; the domain rules then check
/// the meaning.
/// </summary>
internal static class ConsentMapping
{
    public const int MaxSubjectIdLength = 128;
    public const int MaxReasonLength = 500;

    public static void SubjectId(FieldViolations violations, string field, string value) =>
        violations.Text(field, value, MaxSubjectIdLength);

    public static ConsentTerms? ToTerms(V1.ConsentTerms? proto, DateTimeOffset now, FieldViolations violations, string prefix = "terms")
    {
        if (proto is null)
        {
            violations.Add(prefix, "is required");
            return null;
        }

        var before = violations.Items.Count;
        violations.OrganisationId($"{prefix}.recipient_id", proto.RecipientId);
        violations.Text($"{prefix}.purpose", proto.Purpose, 64);
        for (var i = 0; i < proto.DataCategories.Count; i++)
        {
            violations.Text($"{prefix}.data_categories[{i}]", proto.DataCategories[i], 128);
        }

        var validFrom = violations.Time($"{prefix}.valid_from", proto.ValidFrom) ?? now;
        var validUntil = violations.RequiredTime($"{prefix}.valid_until", proto.ValidUntil);
        violations.Enum($"{prefix}.mode", proto.Mode, V1.ConsentMode.View, V1.ConsentMode.Store);
        var dataLife = violations.NonNegativeDuration($"{prefix}.data_life", proto.DataLife);

        FrequencyLimit? frequency = null;
        if (proto.FrequencyLimit is { } limit
            && violations.Enum($"{prefix}.frequency_limit.period", limit.Period, V1.FrequencyPeriod.Hour, V1.FrequencyPeriod.Day, V1.FrequencyPeriod.Month))
        {
            frequency = new FrequencyLimit(limit.MaxDeliveries, (FrequencyPeriod)limit.Period);
        }

        var recordFrom = violations.Time($"{prefix}.record_time_range.start_time", proto.RecordTimeRange?.StartTime);
        var recordUntil = violations.Time($"{prefix}.record_time_range.end_time", proto.RecordTimeRange?.EndTime);
        var evidence = ToEvidence(proto.Evidence, violations, $"{prefix}.evidence");

        if (violations.Items.Count > before || validUntil is null || evidence is null)
        {
            return null;
        }

        return new ConsentTerms(
            proto.RecipientId, proto.Purpose, proto.DataCategories.ToList(), validFrom, validUntil.Value, (ConsentMode)proto.Mode, dataLife,
            frequency, recordFrom, recordUntil, evidence);
    }

    private static ConsentEvidence? ToEvidence(V1.ConsentEvidence? proto, FieldViolations violations, string prefix)
    {
        if (proto is null)
        {
            violations.Add(prefix, "is required: how, when and under which notice the consent was collected");
            return null;
        }

        violations.Enum($"{prefix}.collection_method", proto.CollectionMethod,
            V1.CollectionMethod.App, V1.CollectionMethod.Web, V1.CollectionMethod.Paper, V1.CollectionMethod.Api);
        var collectedAt = violations.RequiredTime($"{prefix}.collect_time", proto.CollectTime);
        if (collectedAt is null)
        {
            return null;
        }

        var guardian = proto.Guardian is { } g ? new GuardianEvidence(g.GuardianId, g.Relationship, g.VerificationMethod) : null;
        return new ConsentEvidence(
            (CollectionMethod)proto.CollectionMethod, proto.NoticeId, proto.NoticeVersion, proto.NoticeContentSha256, collectedAt.Value,
            proto.Language, proto.Jurisdiction, proto.SeparateConsent, proto.SubjectUnder14, guardian, proto.CrossBorder);
    }

    public static V1.Consent ToProto(ConsentArtefact artefact, DateTimeOffset now)
    {
        var terms = artefact.Terms;
        var evidence = terms.Evidence;
        var protoTerms = new V1.ConsentTerms
        {
            RecipientId = terms.RecipientId,
            Purpose = terms.Purpose,
            DataCategories = { terms.DataCategories },
            ValidFrom = Timestamp.FromDateTimeOffset(terms.ValidFrom),
            ValidUntil = Timestamp.FromDateTimeOffset(terms.ValidUntil),
            Mode = (V1.ConsentMode)terms.Mode,
            DataLife = Duration.FromTimeSpan(terms.DataLife),
            Evidence = new V1.ConsentEvidence
            {
                CollectionMethod = (V1.CollectionMethod)evidence.CollectionMethod,
                NoticeId = evidence.NoticeId,
                NoticeVersion = evidence.NoticeVersion,
                NoticeContentSha256 = evidence.NoticeContentSha256,
                CollectTime = Timestamp.FromDateTimeOffset(evidence.CollectedAt),
                Language = evidence.Language,
                Jurisdiction = evidence.Jurisdiction,
                SeparateConsent = evidence.SeparateConsent,
                SubjectUnder14 = evidence.SubjectUnder14,
                CrossBorder = evidence.CrossBorder,
                Guardian = evidence.Guardian is { } g
                    ? new V1.GuardianEvidence { GuardianId = g.GuardianId, Relationship = g.Relationship, VerificationMethod = g.VerificationMethod }
                    : null,
            },
        };
        if (terms.FrequencyLimit is { } limit)
        {
            protoTerms.FrequencyLimit = new V1.FrequencyLimit { MaxDeliveries = limit.MaxDeliveries, Period = (V1.FrequencyPeriod)limit.Period };
        }

        if (terms.RecordFrom is not null || terms.RecordUntil is not null)
        {
            protoTerms.RecordTimeRange = new V1.TimeRange
            {
                StartTime = terms.RecordFrom is { } from ? Timestamp.FromDateTimeOffset(from) : null,
                EndTime = terms.RecordUntil is { } until ? Timestamp.FromDateTimeOffset(until) : null,
            };
        }

        return new V1.Consent
        {
            Id = artefact.Id,
            SubjectId = artefact.SubjectId,
            ControllerId = artefact.ControllerId,
            Terms = protoTerms,
            State = (V1.ConsentState)artefact.StatusAt(now),
            StateReason = artefact.StatusReason ?? "",
            SupersedesId = artefact.SupersedesId ?? "",
            SupersededById = artefact.SupersededById ?? "",
            CreateTime = Timestamp.FromDateTimeOffset(artefact.CreatedAt),
            UpdateTime = Timestamp.FromDateTimeOffset(artefact.UpdatedAt),
            Version = artefact.Version,
        };
    }

    public static V1.ConsentDecision ToProto(Application.CheckResult result)
    {
        var outcome = result.Outcome;
        return new V1.ConsentDecision
        {
            SubjectId = result.SubjectId,
            DataCategory = result.DataCategory,
            Decision = (V1.Decision)outcome.Decision,
            LegalBasis = (V1.LegalBasis)outcome.LegalBasis,
            ConsentId = outcome.ConsentId ?? "",
            MandateId = outcome.MandateId ?? "",
            DenyReason = (V1.DenyReason)outcome.DenyReason,
            DataLife = outcome.DataLife is { } life ? Duration.FromTimeSpan(life) : null,
            RecordTimeRange = outcome.RecordFrom is null && outcome.RecordUntil is null ? null : new V1.TimeRange
            {
                StartTime = outcome.RecordFrom is { } from ? Timestamp.FromDateTimeOffset(from) : null,
                EndTime = outcome.RecordUntil is { } until ? Timestamp.FromDateTimeOffset(until) : null,
            },
        };
    }
}
