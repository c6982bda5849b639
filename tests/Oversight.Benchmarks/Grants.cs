using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.Consent.V1;

namespace Oversight.Benchmarks;

/// <summary>What the suites send: bearer metadata and a grant a platform could send as it is.</summary>
public static class Grants
{
    public static Metadata Bearer(string token) => new() { { "Authorization", $"Bearer {token}" } };

    // As the Consent tests build it: sensitive categories with separate consent, 30 days, VIEW.
    public static GrantConsentRequest New(string subjectId, string[] categories)
    {
        var now = DateTimeOffset.UtcNow;
        return new GrantConsentRequest
        {
            RequestId = Guid.NewGuid().ToString("N"),
            SubjectId = subjectId,
            Terms = new ConsentTerms
            {
                RecipientId = BenchmarkServer.Institution,
                Purpose = "credit_assessment",
                DataCategories = { categories },
                ValidUntil = Timestamp.FromDateTimeOffset(now.AddDays(30)),
                Mode = ConsentMode.View,
                Evidence = new ConsentEvidence
                {
                    CollectionMethod = CollectionMethod.App,
                    NoticeId = "privacy-notice",
                    NoticeVersion = "2026-10",
                    NoticeContentSha256 = new string('a', 64),
                    CollectTime = Timestamp.FromDateTimeOffset(now.AddMinutes(-1)),
                    Language = "zh-CN",
                    Jurisdiction = "CN",
                    SeparateConsent = true,
                },
            },
        };
    }
}
