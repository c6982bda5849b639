using System.Text.Json;

namespace Oversight.Consent.Model;

/// <summary>
/// The payload of a consent receipt, with the fields of the Kantara Initiative Consent Receipt
/// Specification v1.1 (version, jurisdiction, consentTimestamp, collectionMethod,
/// consentReceiptID, language, piiPrincipalId, piiControllers, policyUrl, services with their
/// purposes, sensitive, spiCat) and the artefact's own terms under <c>oversight</c>.
/// </summary>
public static class ConsentReceipt
{
    public const string SpecificationVersion = "KI-CR-v1.1.0";

    public static byte[] Payload(
        ConsentArtefact artefact, Purpose purpose, string? controllerName, string? recipientName, DataCategoryTaxonomy taxonomy, DateTimeOffset issuedAt)
    {
        var terms = artefact.Terms;
        var evidence = terms.Evidence;
        var sensitive = terms.DataCategories.SelectMany(taxonomy.SensitiveReachedBy).Distinct().Order(StringComparer.Ordinal).ToList();
        var receipt = new Dictionary<string, object?>
        {
            ["version"] = SpecificationVersion,
            ["jurisdiction"] = evidence.Jurisdiction,
            ["consentTimestamp"] = evidence.CollectedAt.ToUnixTimeSeconds(),
            ["collectionMethod"] = evidence.CollectionMethod.ToString().ToLowerInvariant(),
            ["consentReceiptID"] = artefact.Id,
            ["language"] = evidence.Language,
            ["piiPrincipalId"] = artefact.SubjectId,
            ["piiControllers"] = new[]
            {
                new Dictionary<string, object?>
                {
                    ["piiController"] = controllerName ?? artefact.ControllerId,
                    ["piiControllerId"] = artefact.ControllerId,
                    ["onBehalf"] = false,
                },
            },
            ["policyUrl"] = $"urn:oversight:notice:{Uri.EscapeDataString(evidence.NoticeId)}:{Uri.EscapeDataString(evidence.NoticeVersion)}",
            ["services"] = new[]
            {
                new Dictionary<string, object?>
                {
                    ["service"] = "oversight-data-sharing",
                    ["purposes"] = new[]
                    {
                        new Dictionary<string, object?>
                        {
                            ["purpose"] = purpose.DisplayName,
                            ["purposeCategory"] = new[] { purpose.Id },
                            ["consentType"] = "EXPLICIT",
                            ["piiCategory"] = terms.DataCategories,
                            ["primaryPurpose"] = true,
                            ["termination"] = terms.ValidUntil.UtcDateTime.ToString("O"),
                            ["thirdPartyDisclosure"] = true,
                            ["thirdPartyName"] = recipientName ?? terms.RecipientId,
                        },
                    },
                },
            },
            ["sensitive"] = sensitive.Count > 0 || evidence.SubjectUnder14,
            ["spiCat"] = sensitive,
            ["iat"] = issuedAt.ToUnixTimeSeconds(),
            ["oversight"] = new Dictionary<string, object?>
            {
                ["recipientId"] = terms.RecipientId,
                ["validFrom"] = terms.ValidFrom.ToUnixTimeSeconds(),
                ["validUntil"] = terms.ValidUntil.ToUnixTimeSeconds(),
                ["mode"] = terms.Mode.ToString().ToUpperInvariant(),
                ["dataLifeSeconds"] = (long)terms.DataLife.TotalSeconds,
                ["noticeContentSha256"] = evidence.NoticeContentSha256,
                ["separateConsent"] = evidence.SeparateConsent,
                ["crossBorder"] = evidence.CrossBorder,
                ["subjectUnder14"] = evidence.SubjectUnder14,
                ["guardianId"] = evidence.Guardian?.GuardianId,
                ["supersedes"] = artefact.SupersedesId,
            },
        };
        return JsonSerializer.SerializeToUtf8Bytes(receipt);
    }
}
