using Oversight.BuildingBlocks.Errors;
using Oversight.Consent.Model;

namespace Oversight.Consent.Tests;

public class ConsentRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    internal static readonly DataCategoryTaxonomy Taxonomy = new(
    [
        new DataCategory("user", null, "User", false, ""),
        new DataCategory("user.contact", "user", "Contact", false, ""),
        new DataCategory("user.contact.phone", "user.contact", "Phone", false, ""),
        new DataCategory("user.financial", "user", "Financial", false, ""),
        new DataCategory("user.financial.account", "user.financial", "Accounts", true, ""),
        new DataCategory("user.financial.transactions", "user.financial", "Transactions", true, ""),
        new DataCategory("user.health", "user", "Health", true, ""),
    ]);

    private static readonly HashSet<string> Purposes = ["credit_assessment", "statistics"];
    private static readonly KnownOrganisation Bureau = new("state-credit-bureau", "institution", "Bureau", "CN", 1);
    private static readonly KnownOrganisation Shopwave = new("shopwave", "platform", "ShopWave", "CN", 1);

    private static ConsentTerms Terms(string category = "user.contact.phone", bool separate = false, bool under14 = false,
        GuardianEvidence? guardian = null, bool crossBorder = false, DateTimeOffset? until = null, ConsentMode mode = ConsentMode.View,
        TimeSpan? dataLife = null, DateTimeOffset? from = null) =>
        new("state-credit-bureau", "credit_assessment", [category], from ?? Now, until ?? Now.AddDays(30), mode, dataLife ?? TimeSpan.Zero, null, null, null,
            new ConsentEvidence(CollectionMethod.App, "notice", "v1", new string('0', 64), Now.AddMinutes(-5), "zh-CN", "CN", separate, under14, guardian, crossBorder));

    private static List<string> Violations(ConsentTerms terms, KnownOrganisation? recipient = null)
    {
        var violations = new FieldViolations();
        ConsentRules.Validate(terms, Shopwave, recipient ?? Bureau, Taxonomy, Purposes, new ConsentLimits(), Now, violations);
        return violations.Items.Select(v => v.Field).ToList();
    }

    [Fact]
    public void A_plain_consent_passes() => Assert.Empty(Violations(Terms()));

    [Fact]
    public void Sensitive_category_needs_separate_consent()
    {
        Assert.Contains("terms.evidence.separate_consent", Violations(Terms("user.financial.account")));
        Assert.Empty(Violations(Terms("user.financial.account", separate: true)));
    }

    [Fact]
    public void A_parent_that_covers_sensitive_children_needs_separate_consent() =>
        Assert.Contains("terms.evidence.separate_consent", Violations(Terms("user.financial")));

    [Fact]
    public void Subject_under_14_needs_a_guardian_and_separate_consent()
    {
        var fields = Violations(Terms(under14: true));
        Assert.Contains("terms.evidence.guardian", fields);
        Assert.Contains("terms.evidence.separate_consent", fields);
        Assert.Empty(Violations(Terms(under14: true, separate: true, guardian: new GuardianEvidence("parent-1", "parent", "household-register"))));
    }

    [Fact]
    public void Recipient_in_another_jurisdiction_needs_the_cross_border_flag()
    {
        var foreign = Bureau with { Jurisdiction = "SG" };
        Assert.Contains("terms.evidence.cross_border", Violations(Terms(), foreign));
        Assert.Empty(Violations(Terms(crossBorder: true), foreign));
    }

    [Fact]
    public void A_recipient_abroad_from_the_controller_needs_the_flag_even_if_the_evidence_says_otherwise()
    {
        var terms = Terms();
        var taggedAbroad = terms with { Evidence = terms.Evidence with { Jurisdiction = "SG" } };
        Assert.Contains("terms.evidence.cross_border", Violations(taggedAbroad, Bureau with { Jurisdiction = "SG" }));
    }

    [Fact]
    public void Data_life_is_whole_seconds() =>
        Assert.Contains("terms.data_life", Violations(Terms(mode: ConsentMode.Store, dataLife: TimeSpan.FromMilliseconds(1500))));

    [Fact]
    public void Unknown_recipient_is_refused() =>
        Assert.Contains("terms.recipient_id", ViolationsWithoutRecipient(Terms()));

    [Fact]
    public void The_controller_cannot_name_itself_as_recipient() =>
        Assert.Contains("terms.recipient_id", Violations(Terms(), Bureau with { Id = "shopwave" }));

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    public void Expiry_must_be_in_the_future(int days) =>
        Assert.Contains("terms.valid_until", Violations(Terms(until: Now.AddDays(days), from: Now.AddDays(days - 1 > -1 ? -1 : days - 1))));

    [Fact]
    public void Expiry_is_bounded()
    {
        Assert.Contains("terms.valid_until", Violations(Terms(until: Now.AddDays(367))));
        Assert.Empty(Violations(Terms(until: Now.AddDays(366))));
    }

    [Fact]
    public void View_keeps_nothing_and_store_needs_a_bounded_data_life()
    {
        Assert.Contains("terms.data_life", Violations(Terms(dataLife: TimeSpan.FromDays(1))));
        Assert.Contains("terms.data_life", Violations(Terms(mode: ConsentMode.Store)));
        Assert.Contains("terms.data_life", Violations(Terms(mode: ConsentMode.Store, dataLife: TimeSpan.FromDays(3650))));
        Assert.Empty(Violations(Terms(mode: ConsentMode.Store, dataLife: TimeSpan.FromDays(90))));
    }

    [Fact]
    public void Unknown_and_repeated_categories_are_named_by_index()
    {
        var terms = Terms() with { DataCategories = ["user.contact.phone", "user.nope", "user.contact.phone"] };
        var fields = Violations(terms);
        Assert.Contains("terms.data_categories[1]", fields);
        Assert.Contains("terms.data_categories[2]", fields);
    }

    [Fact]
    public void Unknown_purpose_is_refused() =>
        Assert.Contains("terms.purpose", Violations(Terms() with { Purpose = "marketing" }));

    [Fact]
    public void Evidence_formats_are_checked()
    {
        var terms = Terms();
        var bad = terms with { Evidence = terms.Evidence with { NoticeContentSha256 = "XYZ", Language = "??", Jurisdiction = "china", CollectedAt = Now.AddHours(1) } };
        var fields = Violations(bad);
        Assert.Contains("terms.evidence.notice_content_sha256", fields);
        Assert.Contains("terms.evidence.language", fields);
        Assert.Contains("terms.evidence.jurisdiction", fields);
        Assert.Contains("terms.evidence.collect_time", fields);
    }

    private static List<string> ViolationsWithoutRecipient(ConsentTerms terms)
    {
        var violations = new FieldViolations();
        ConsentRules.Validate(terms, Shopwave, null, Taxonomy, Purposes, new ConsentLimits(), Now, violations);
        return violations.Items.Select(v => v.Field).ToList();
    }
}
