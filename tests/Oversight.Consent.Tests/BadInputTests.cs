using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.Consent.V1;
using Oversight.Testing;

namespace Oversight.Consent.Tests;

/// <summary>Bad input is answered INVALID_ARGUMENT with field details, never INTERNAL, and writes nothing.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private ConsentTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await ConsentTestHost.StartAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private ConsentService.ConsentServiceClient Shopwave => _host.Consent(ConsentTestHost.Shopwave);

    [Fact]
    public async Task An_empty_grant_names_every_missing_field()
    {
        var fields = await RpcAssert.InvalidFieldsAsync(() => Shopwave.GrantConsentAsync(new GrantConsentRequest()).ResponseAsync);
        Assert.Contains("request_id", fields);
        Assert.Contains("subject_id", fields);
        Assert.Contains("terms", fields);
    }

    [Fact]
    public async Task Empty_terms_name_their_fields()
    {
        var fields = await RpcAssert.InvalidFieldsAsync(() => Shopwave.GrantConsentAsync(new GrantConsentRequest
        {
            RequestId = "r", SubjectId = "s", Terms = new ConsentTerms(),
        }).ResponseAsync);
        Assert.Superset(new HashSet<string> { "terms.recipient_id", "terms.purpose", "terms.valid_until", "terms.mode", "terms.evidence" }, fields.ToHashSet());
    }

    [Fact]
    public async Task Oversized_and_control_character_ids_are_refused()
    {
        var grant = _host.NewGrant(new string('s', 129));
        Assert.Contains("subject_id", await RpcAssert.InvalidFieldsAsync(() => Shopwave.GrantConsentAsync(grant).ResponseAsync));

        grant = _host.NewGrant("bad\u0001subject");
        Assert.Contains("subject_id", await RpcAssert.InvalidFieldsAsync(() => Shopwave.GrantConsentAsync(grant).ResponseAsync));

        grant = _host.NewGrant("alice ");
        Assert.Contains("subject_id", await RpcAssert.InvalidFieldsAsync(() => Shopwave.GrantConsentAsync(grant).ResponseAsync));

        grant = _host.NewGrant(requestId: new string('r', 129));
        Assert.Contains("request_id", await RpcAssert.InvalidFieldsAsync(() => Shopwave.GrantConsentAsync(grant).ResponseAsync));
    }

    [Fact]
    public async Task Unknown_category_purpose_and_recipient_are_refused()
    {
        var grant = _host.NewGrant(recipient: "nobody-we-know", purpose: "marketing", categories: ["user.financial", "user.secret"]);
        var fields = await RpcAssert.InvalidFieldsAsync(() => Shopwave.GrantConsentAsync(grant).ResponseAsync);
        Assert.Contains("terms.recipient_id", fields);
        Assert.Contains("terms.purpose", fields);
        Assert.Contains("terms.data_categories[1]", fields);
    }

    [Fact]
    public async Task Expiry_in_the_past_and_invalid_timestamps_are_refused()
    {
        var grant = _host.NewGrant();
        grant.Terms.ValidUntil = Timestamp.FromDateTimeOffset(_host.Time.GetUtcNow().AddDays(-1));
        Assert.Contains("terms.valid_until", await RpcAssert.InvalidFieldsAsync(() => Shopwave.GrantConsentAsync(grant).ResponseAsync));

        grant = _host.NewGrant();
        grant.Terms.ValidUntil = new Timestamp { Seconds = long.MaxValue };
        Assert.Contains("terms.valid_until", await RpcAssert.InvalidFieldsAsync(() => Shopwave.GrantConsentAsync(grant).ResponseAsync));

        grant = _host.NewGrant();
        grant.Terms.DataLife = new Duration { Seconds = -5 };
        Assert.Contains("terms.data_life", await RpcAssert.InvalidFieldsAsync(() => Shopwave.GrantConsentAsync(grant).ResponseAsync));
    }

    [Fact]
    public async Task Pipl_rules_are_named_by_the_field_to_fix()
    {
        var grant = _host.NewGrant(recipient: ConsentTestHost.ForeignBank);
        grant.Terms.Evidence.SeparateConsent = false;
        grant.Terms.Evidence.SubjectUnder14 = true;
        var fields = await RpcAssert.InvalidFieldsAsync(() => Shopwave.GrantConsentAsync(grant).ResponseAsync);
        Assert.Contains("terms.evidence.separate_consent", fields);
        Assert.Contains("terms.evidence.guardian", fields);
        Assert.Contains("terms.evidence.cross_border", fields);
    }

    [Fact]
    public async Task Unknown_enum_values_are_refused()
    {
        var grant = _host.NewGrant();
        grant.Terms.Mode = (ConsentMode)42;
        grant.Terms.FrequencyLimit = new FrequencyLimit { MaxDeliveries = 0, Period = FrequencyPeriod.Unspecified };
        var fields = await RpcAssert.InvalidFieldsAsync(() => Shopwave.GrantConsentAsync(grant).ResponseAsync);
        Assert.Contains("terms.mode", fields);
        Assert.Contains("terms.frequency_limit.period", fields);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-uuid")]
    [InlineData("0190f3a2-7c1e-7d4b-9a51-2f4c8e6b1d3")]
    [InlineData("'; DROP TABLE consent_artefact; --")]
    public async Task Malformed_consent_ids_are_refused(string id)
    {
        Assert.Contains("consent_id", await RpcAssert.InvalidFieldsAsync(() => Shopwave.GetConsentAsync(new GetConsentRequest { ConsentId = id }).ResponseAsync));
        Assert.Contains("consent_id", await RpcAssert.InvalidFieldsAsync(
            () => Shopwave.RevokeConsentAsync(new RevokeConsentRequest { RequestId = "r", ConsentId = id }).ResponseAsync));
    }

    [Fact]
    public async Task An_unknown_consent_is_not_found()
    {
        await RpcAssert.FailsAsync(StatusCode.NotFound,
            () => Shopwave.GetConsentAsync(new GetConsentRequest { ConsentId = Guid.NewGuid().ToString() }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound,
            () => Shopwave.RevokeConsentAsync(new RevokeConsentRequest { RequestId = "r", ConsentId = Guid.NewGuid().ToString() }).ResponseAsync);
    }

    [Fact]
    public async Task Bad_paging_and_tokens_are_refused()
    {
        Assert.Contains("page_token", await RpcAssert.InvalidFieldsAsync(
            () => Shopwave.ListConsentsAsync(new ListConsentsRequest { SubjectId = "s", PageToken = "garbage!" }).ResponseAsync));
        Assert.Contains("page_size", await RpcAssert.InvalidFieldsAsync(
            () => Shopwave.ListConsentsAsync(new ListConsentsRequest { SubjectId = "s", PageSize = 100_000 }).ResponseAsync));
        Assert.Contains("subject_id", await RpcAssert.InvalidFieldsAsync(
            () => Shopwave.ListConsentsAsync(new ListConsentsRequest()).ResponseAsync));
        Assert.Contains("consistency_token", await RpcAssert.InvalidFieldsAsync(
            () => _host.CheckAsync("s", token: "zookie")));
        Assert.Contains("page_token", await RpcAssert.InvalidFieldsAsync(() => Shopwave.ListConsentEventsAsync(new ListConsentEventsRequest
        {
            ConsentId = Guid.NewGuid().ToString(), PageToken = Oversight.BuildingBlocks.Data.PageToken.Encode("not-a-number"),
        }).ResponseAsync));
    }

    [Fact]
    public async Task Batch_check_bounds_are_enforced()
    {
        var request = new BatchCheckConsentRequest
        {
            ControllerId = ConsentTestHost.Shopwave, RecipientId = ConsentTestHost.CreditBureau, Purpose = "credit_assessment",
            SubjectIds = { Enumerable.Range(0, 5001).Select(i => $"s{i}") }, DataCategories = { "user" },
        };
        Assert.Contains("subject_ids", await RpcAssert.InvalidFieldsAsync(() => Shopwave.BatchCheckConsentAsync(request).ResponseAsync));

        request.SubjectIds.Clear();
        request.SubjectIds.Add(Enumerable.Range(0, 1000).Select(i => $"s{i}"));
        request.DataCategories.Add(Enumerable.Range(0, 20).Select(i => $"user.c{i}"));
        Assert.Contains("subject_ids", await RpcAssert.InvalidFieldsAsync(() => Shopwave.BatchCheckConsentAsync(request).ResponseAsync));

        request.DataCategories.Clear();
        request.DataCategories.Add("user");
        request.SubjectIds.Clear();
        request.SubjectIds.Add(["a", "a"]);
        request.DataCategories.Add("user.nope");
        var fields = await RpcAssert.InvalidFieldsAsync(() => Shopwave.BatchCheckConsentAsync(request).ResponseAsync);
        Assert.Contains("subject_ids[1]", fields);

        request.SubjectIds.Clear();
        request.SubjectIds.Add("a");
        Assert.Contains("data_categories[1]", await RpcAssert.InvalidFieldsAsync(() => Shopwave.BatchCheckConsentAsync(request).ResponseAsync));
    }

    [Fact]
    public async Task A_refused_request_writes_nothing()
    {
        var grant = _host.NewGrant(categories: "user.secret");
        await RpcAssert.InvalidFieldsAsync(() => Shopwave.GrantConsentAsync(grant).ResponseAsync);
        grant.Terms.DataCategories[0] = "user.contact.phone";
        var granted = await Shopwave.GrantConsentAsync(grant);

        var list = await _host.Consent(ConsentTestHost.Regulator, "regulator").ListConsentsAsync(new ListConsentsRequest { SubjectId = grant.SubjectId });
        Assert.Equal([granted.Consent.Id], list.Consents.Select(c => c.Id));
    }
}
