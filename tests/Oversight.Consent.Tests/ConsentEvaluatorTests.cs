using Oversight.Consent.Model;

namespace Oversight.Consent.Tests;

public class ConsentEvaluatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 30, 0, TimeSpan.Zero);
    private const string Bureau = "state-credit-bureau";

    private static ConsentArtefact Artefact(string id = "c1", string purpose = "credit_assessment", string category = "user.financial",
        ConsentStatus status = ConsentStatus.Active, DateTimeOffset? from = null, DateTimeOffset? until = null, FrequencyLimit? limit = null,
        DateTimeOffset? recordFrom = null, DateTimeOffset? recordUntil = null, DateTimeOffset? created = null) =>
        new(id, "subject-1", "shopwave",
            new ConsentTerms(Bureau, purpose, [category], from ?? Now.AddDays(-1), until ?? Now.AddDays(10), ConsentMode.View, TimeSpan.Zero, limit,
                recordFrom, recordUntil,
                new ConsentEvidence(CollectionMethod.App, "n", "1", new string('0', 64), Now.AddDays(-1), "zh-CN", "CN", true, false, null, false)),
            status, null, null, null, created ?? Now.AddDays(-1), Now.AddDays(-1), 1, "", "");

    private static CheckOutcome Check(IReadOnlyList<ConsentArtefact> artefacts, string category = "user.financial.transactions",
        string purpose = "credit_assessment", DateTimeOffset? recordTime = null, IReadOnlyList<StatutoryMandate>? mandates = null,
        int deliveries = 0) =>
        ConsentEvaluator.Evaluate(artefacts.Select(a => a.Coverage).ToList(), Bureau, purpose, category, recordTime, Now, mandates ?? [], _ => new DeliveryCounts(deliveries, deliveries, deliveries));

    [Fact]
    public void A_parent_category_covers_its_children()
    {
        var outcome = Check([Artefact()]);
        Assert.Equal(CheckDecision.Allow, outcome.Decision);
        Assert.Equal(LegalBasis.Consent, outcome.LegalBasis);
        Assert.Equal("c1", outcome.ConsentId);
    }

    [Fact]
    public void A_child_category_does_not_cover_its_parent_or_a_lookalike()
    {
        Assert.Equal(DenyReason.CategoryNotCovered, Check([Artefact(category: "user.financial.transactions")], "user.financial").DenyReason);
        Assert.Equal(DenyReason.CategoryNotCovered, Check([Artefact(category: "user.fin")], "user.financial").DenyReason);
    }

    [Theory]
    [InlineData(ConsentStatus.Revoked, DenyReason.Revoked)]
    [InlineData(ConsentStatus.Paused, DenyReason.Paused)]
    [InlineData(ConsentStatus.Superseded, DenyReason.Superseded)]
    [InlineData(ConsentStatus.Expired, DenyReason.Expired)]
    public void A_closed_consent_denies_with_its_state(ConsentStatus status, DenyReason reason)
    {
        var outcome = Check([Artefact(status: status)]);
        Assert.Equal(CheckDecision.Deny, outcome.Decision);
        Assert.Equal(reason, outcome.DenyReason);
        Assert.Equal("c1", outcome.ConsentId);
    }

    [Fact]
    public void An_active_consent_past_its_end_is_expired_before_any_sweep() =>
        Assert.Equal(DenyReason.Expired, Check([Artefact(from: Now.AddDays(-3), until: Now)]).DenyReason);

    [Fact]
    public void A_consent_not_yet_in_force_denies() =>
        Assert.Equal(DenyReason.NotYetValid, Check([Artefact(from: Now.AddHours(1))]).DenyReason);

    [Fact]
    public void No_consent_and_other_purpose_are_told_apart()
    {
        Assert.Equal(DenyReason.NoConsent, Check([]).DenyReason);
        Assert.Equal(DenyReason.PurposeNotCovered, Check([Artefact(purpose: "statistics")]).DenyReason);
    }

    [Fact]
    public void Record_time_range_is_half_open()
    {
        var artefact = Artefact(recordFrom: Now.AddDays(-30), recordUntil: Now.AddDays(-1));
        Assert.Equal(CheckDecision.Allow, Check([artefact], recordTime: Now.AddDays(-30)).Decision);
        Assert.Equal(DenyReason.RecordTimeNotCovered, Check([artefact], recordTime: Now.AddDays(-1)).DenyReason);
        Assert.Equal(CheckDecision.Allow, Check([artefact]).Decision);
    }

    [Fact]
    public void Checked_without_a_record_time_a_consent_for_all_records_is_preferred_to_one_for_some_and_says_which()
    {
        var limited = Artefact("limited", recordFrom: Now.AddDays(-30), recordUntil: Now.AddDays(-1));
        var unlimited = Artefact("unlimited");

        var both = Check([limited, unlimited]);
        var alone = Check([limited]);

        Assert.Equal(("unlimited", (DateTimeOffset?)null, (DateTimeOffset?)null), (both.ConsentId, both.RecordFrom, both.RecordUntil));
        Assert.Equal(("limited", Now.AddDays(-30), Now.AddDays(-1)), (alone.ConsentId, alone.RecordFrom, alone.RecordUntil));
        // Asked with a record time, the first that covers it answers.
        Assert.Equal("limited", Check([limited, unlimited], recordTime: Now.AddDays(-5)).ConsentId);
    }

    [Fact]
    public void Frequency_limit_allows_exactly_n_deliveries_per_window()
    {
        var artefact = Artefact(limit: new FrequencyLimit(3, FrequencyPeriod.Day));
        Assert.Equal(CheckDecision.Allow, Check([artefact], deliveries: 2).Decision);
        Assert.Equal(DenyReason.FrequencyExhausted, Check([artefact], deliveries: 3).DenyReason);
    }

    [Fact]
    public void Any_allowing_consent_wins_over_a_revoked_one()
    {
        var outcome = Check([Artefact("old", status: ConsentStatus.Revoked), Artefact("new")]);
        Assert.Equal("new", outcome.ConsentId);
        Assert.Equal(CheckDecision.Allow, outcome.Decision);
    }

    [Fact]
    public void The_most_recent_covering_consent_gives_the_reason()
    {
        var outcome = Check([
            Artefact("old", status: ConsentStatus.Revoked, created: Now.AddDays(-5)),
            Artefact("newer", status: ConsentStatus.Paused, created: Now.AddDays(-2)),
        ]);
        Assert.Equal(("newer", DenyReason.Paused), (outcome.ConsentId, outcome.DenyReason));
    }

    [Fact]
    public void A_statutory_mandate_allows_without_consent_until_repealed()
    {
        var mandate = new StatutoryMandate("m1", "AML Law Art. 3", Bureau, ["credit_assessment"], ["user.financial"], Now.AddDays(-1), null, null);
        var allowed = Check([], mandates: [mandate]);
        Assert.Equal((CheckDecision.Allow, LegalBasis.Statutory, "m1"), (allowed.Decision, allowed.LegalBasis, allowed.MandateId));

        Assert.Equal(DenyReason.NoConsent, Check([], mandates: [mandate with { RepealedAt = Now }]).DenyReason);
        Assert.Equal(DenyReason.NoConsent, Check([], mandates: [mandate with { ValidUntil = Now }]).DenyReason);
        Assert.Equal(DenyReason.NoConsent, Check([], purpose: "statistics", mandates: [mandate]).DenyReason);
        Assert.Equal(DenyReason.NoConsent, Check([], category: "user.health", mandates: [mandate]).DenyReason);
    }

    [Fact]
    public void Consent_is_preferred_to_a_mandate_when_both_allow()
    {
        var mandate = new StatutoryMandate("m1", "law", Bureau, ["credit_assessment"], ["user"], Now.AddDays(-1), null, null);
        Assert.Equal(LegalBasis.Consent, Check([Artefact()], mandates: [mandate]).LegalBasis);
        Assert.Equal(LegalBasis.Statutory, Check([Artefact(status: ConsentStatus.Revoked)], mandates: [mandate]).LegalBasis);
    }

    [Theory]
    [InlineData(FrequencyPeriod.Hour, "2026-11-28T12:00:00Z")]
    [InlineData(FrequencyPeriod.Day, "2026-11-28T00:00:00Z")]
    [InlineData(FrequencyPeriod.Month, "2026-11-01T00:00:00Z")]
    public void Frequency_windows_are_utc_calendar_periods(FrequencyPeriod period, string start) =>
        Assert.Equal(DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture), FrequencyLimit.WindowStart(period, Now));

    [Fact]
    public void Consistency_tokens_round_trip_and_reject_forgeries()
    {
        Assert.True(ConsistencyToken.TryParse(ConsistencyToken.Format(42), out var sequence));
        Assert.Equal(42, sequence);
        Assert.True(ConsistencyToken.TryParse("", out var none));
        Assert.Equal(0, none);
        Assert.False(ConsistencyToken.TryParse("ct1.-5", out _));
        Assert.False(ConsistencyToken.TryParse("42", out _));
        Assert.True(ConsistencyToken.TryParse("ct1.0", out var zero));
        Assert.Equal(0, zero);
    }

    [Fact]
    public void Taxonomy_marks_what_needs_separate_consent()
    {
        var taxonomy = ConsentRulesTests.Taxonomy;
        Assert.True(taxonomy.NeedsSeparateConsent("user"));
        Assert.True(taxonomy.NeedsSeparateConsent("user.financial"));
        Assert.True(taxonomy.NeedsSeparateConsent("user.financial.account"));
        Assert.False(taxonomy.NeedsSeparateConsent("user.contact"));
        Assert.Equal(["user.financial.account", "user.financial.transactions"], taxonomy.SensitiveReachedBy("user.financial"));
    }
}
