using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using Oversight.Consent.V1;
using Duration = Google.Protobuf.WellKnownTypes.Duration;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace Oversight.Cli;

/// <summary>
/// The options that state consent terms, shared by grant and amend: an amendment restates every
/// term, because the artefact it issues stands on its own.
/// </summary>
internal sealed class TermsOptions
{
    private readonly Option<string> _recipient = new("--recipient") { Description = "The organisation that receives the data.", Required = true };
    private readonly Option<string> _purpose = new("--purpose") { Description = "A registered purpose, such as credit_assessment.", Required = true };

    private readonly Option<string[]> _categories = new("--category")
    {
        Description = "A data category, such as user.financial.transactions; repeat for more.",
        Required = true,
        AllowMultipleArgumentsPerToken = true,
    };

    private readonly Option<int> _days = new("--days") { Description = "Valid for this many days from --collected-at.", DefaultValueFactory = _ => 30 };

    // The terms derive their times from this, so a retry with the same --request-id and
    // --collected-at sends the same body, which is what makes the server answer it idempotently.
    private readonly Option<DateTimeOffset?> _collectedAt = new("--collected-at")
    {
        Description = "When the person consented (default now). Give it again with --request-id to retry a write.",
    };

    private readonly Option<int?> _storeDays = new("--store-days") { Description = "STORE mode: the recipient may keep the data this many days. Default: VIEW, it keeps nothing." };
    private readonly Option<bool> _separateConsent = new("--separate-consent") { Description = "The person gave a separate consent for sensitive data (PIPL Art. 29)." };
    private readonly Option<bool> _crossBorder = new("--cross-border") { Description = "The person agreed to a recipient in another jurisdiction (PIPL Art. 39)." };
    private readonly Option<bool> _under14 = new("--under14") { Description = "The person is under 14 and a guardian consented (PIPL Art. 31); needs --guardian." };
    private readonly Option<string?> _guardian = new("--guardian") { Description = "The guardian's pseudonymous id." };
    private readonly Option<string> _guardianRelationship = new("--guardian-relationship") { Description = "The guardian's relationship to the person.", DefaultValueFactory = _ => "parent" };
    private readonly Option<string> _guardianVerification = new("--guardian-verification") { Description = "How the guardianship was verified.", DefaultValueFactory = _ => "declared" };
    private readonly Option<string> _jurisdiction = new("--jurisdiction") { Description = "Where the consent was collected (ISO 3166-1 alpha-2).", DefaultValueFactory = _ => "CN" };
    private readonly Option<string> _language = new("--language") { Description = "The language of the notice (BCP 47).", DefaultValueFactory = _ => "zh-CN" };

    private readonly Option<string> _collectionMethod = new Option<string>("--collection-method")
    {
        Description = "How the consent was collected.",
        DefaultValueFactory = _ => "app",
    }.AcceptOnlyFromAmong("app", "web", "paper", "api");

    private readonly Option<string> _noticeId = new("--notice-id") { Description = "The privacy notice shown.", DefaultValueFactory = _ => "privacy-notice" };
    private readonly Option<string> _noticeVersion = new("--notice-version") { Description = "The version of the notice shown.", DefaultValueFactory = _ => "1" };
    private readonly Option<string?> _noticeSha256 = new("--notice-sha256") { Description = "SHA-256 of the notice text, lowercase hex. Default: SHA-256 of \"ID VERSION\"." };

    public void AddTo(Command command)
    {
        Option[] all =
        [
            _recipient, _purpose, _categories, _days, _collectedAt, _storeDays, _separateConsent, _crossBorder, _under14, _guardian,
            _guardianRelationship, _guardianVerification, _jurisdiction, _language, _collectionMethod, _noticeId, _noticeVersion, _noticeSha256,
        ];
        foreach (var option in all)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The terms as given, taking effect now. The server checks their meaning; this only shapes them.</summary>
    public ConsentTerms Read(ParseResult parse)
    {
        var collectedAt = parse.GetValue(_collectedAt) ?? DateTimeOffset.UtcNow;
        var storeDays = parse.GetValue(_storeDays);
        var noticeId = parse.GetRequiredValue(_noticeId);
        var noticeVersion = parse.GetRequiredValue(_noticeVersion);
        var guardian = parse.GetValue(_guardian);
        return new ConsentTerms
        {
            RecipientId = parse.GetRequiredValue(_recipient),
            Purpose = parse.GetRequiredValue(_purpose),
            DataCategories = { parse.GetRequiredValue(_categories) },
            ValidUntil = Timestamp.FromDateTimeOffset(collectedAt.AddDays(parse.GetValue(_days))),
            Mode = storeDays is null ? ConsentMode.View : ConsentMode.Store,
            DataLife = Duration.FromTimeSpan(TimeSpan.FromDays(storeDays ?? 0)),
            Evidence = new ConsentEvidence
            {
                CollectionMethod = System.Enum.Parse<CollectionMethod>(parse.GetRequiredValue(_collectionMethod), ignoreCase: true),
                NoticeId = noticeId,
                NoticeVersion = noticeVersion,
                // A stand-in for when the notice text is not at hand; a real caller hashes the text it showed.
                NoticeContentSha256 = parse.GetValue(_noticeSha256)
                    ?? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{noticeId} {noticeVersion}"))),
                CollectTime = Timestamp.FromDateTimeOffset(collectedAt),
                Language = parse.GetRequiredValue(_language),
                Jurisdiction = parse.GetRequiredValue(_jurisdiction),
                SeparateConsent = parse.GetValue(_separateConsent),
                CrossBorder = parse.GetValue(_crossBorder),
                SubjectUnder14 = parse.GetValue(_under14),
                Guardian = guardian is null
                    ? null
                    : new GuardianEvidence
                    {
                        GuardianId = guardian,
                        Relationship = parse.GetRequiredValue(_guardianRelationship),
                        VerificationMethod = parse.GetRequiredValue(_guardianVerification),
                    },
            },
        };
    }
}
