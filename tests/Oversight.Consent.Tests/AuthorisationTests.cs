using Grpc.Core;
using Oversight.Audit.V1;
using Oversight.Consent.V1;
using Oversight.Testing;

namespace Oversight.Consent.Tests;

/// <summary>Who may do what (design §7), and that every refusal is audited.</summary>
public sealed class AuthorisationTests : IAsyncLifetime
{
    private ConsentTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await ConsentTestHost.StartAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task A_call_without_a_token_is_unauthenticated()
    {
        var anonymous = new ConsentService.ConsentServiceClient(_host.Anonymous);
        var refused = await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => anonymous.GetConsentAsync(new GetConsentRequest { ConsentId = Guid.NewGuid().ToString() }).ResponseAsync);
        // A gRPC status that names the cause and the way out, not "Bad gRPC response. HTTP status code: 401".
        Assert.Contains("no bearer token", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("--kind", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_unauthenticated()
    {
        var foreign = new Oversight.BuildingBlocks.Security.TokenIssuer(
            new Oversight.BuildingBlocks.Security.AuthOptions { SigningKey = new string('x', 40) }, TimeProvider.System).Mint("shopwave", "platform");
        var client = new ConsentService.ConsentServiceClient(_host.Anonymous);
        var refused = await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => client.GetConsentAsync(
            new GetConsentRequest { ConsentId = Guid.NewGuid().ToString() }, new Metadata { { "Authorization", $"Bearer {foreign}" } }).ResponseAsync);
        Assert.Contains("not signed with this service's key (Oversight:Auth:SigningKey)", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_a_platform_records_consents()
    {
        var grant = _host.NewGrant();
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => _host.Consent(ConsentTestHost.CreditBureau, "institution").GrantConsentAsync(grant).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => _host.Consent(ConsentTestHost.Regulator, "regulator").GrantConsentAsync(grant).ResponseAsync);
    }

    [Fact]
    public async Task Only_the_controller_changes_its_consent_and_the_refusal_is_audited()
    {
        var consent = await _host.GrantAsync("subject-1");
        var rival = _host.Consent(ConsentTestHost.Paylink);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => rival.RevokeConsentAsync(new RevokeConsentRequest { RequestId = "r", ConsentId = consent.Id }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => rival.PauseConsentAsync(new PauseConsentRequest { RequestId = "p", ConsentId = consent.Id }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => rival.AmendConsentAsync(new AmendConsentRequest { RequestId = "a", ConsentId = consent.Id, Terms = _host.NewGrant().Terms }).ResponseAsync);

        Assert.Equal(ConsentState.Active, (await _host.Consent(ConsentTestHost.Shopwave).GetConsentAsync(new GetConsentRequest { ConsentId = consent.Id })).Consent.State);

        var audit = await _host.DenialsAsync();
        Assert.Equal(3, audit.Count);
        Assert.All(audit, d => Assert.Equal((ConsentTestHost.Paylink, "platform", $"consent/{consent.Id}", "refused"), (d.ActorId, d.ActorKind, d.Resource, d.Outcome)));
        Assert.Contains(audit, d => d.Detail["method"] == "/oversight.consent.v1.ConsentService/RevokeConsent");
    }

    [Fact]
    public async Task Checks_are_for_the_controller_the_recipient_exchange_and_the_regulator()
    {
        await _host.GrantAsync("subject-1");
        var request = new CheckConsentRequest
        {
            SubjectId = "subject-1", ControllerId = ConsentTestHost.Shopwave, RecipientId = ConsentTestHost.CreditBureau,
            Purpose = "credit_assessment", DataCategory = "user.financial.transactions",
        };

        foreach (var allowed in new[]
        {
            _host.Consent(ConsentTestHost.Shopwave), _host.Consent(ConsentTestHost.CreditBureau, "institution"),
            _host.Consent("exchange", "operator", service: "exchange"), _host.Consent(ConsentTestHost.Regulator, "regulator"),
        })
        {
            Assert.Equal(Decision.Allow, (await allowed.CheckConsentAsync(request)).Decision.Decision);
        }

        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => _host.Consent(ConsentTestHost.HealthAgency, "institution").CheckConsentAsync(request).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => _host.Consent(ConsentTestHost.Paylink).BatchCheckConsentAsync(new BatchCheckConsentRequest
            {
                ControllerId = ConsentTestHost.Shopwave, RecipientId = ConsentTestHost.CreditBureau, Purpose = "credit_assessment",
                SubjectIds = { "subject-1" }, DataCategories = { "user" },
            }).ResponseAsync);

        Assert.Equal(2, (await _host.DenialsAsync()).Count);
    }

    [Fact]
    public async Task Reads_are_for_the_controller_the_recipient_and_the_regulator()
    {
        var consent = await _host.GrantAsync("subject-1");
        var get = new GetConsentRequest { ConsentId = consent.Id };
        Assert.Equal(consent.Id, (await _host.Consent(ConsentTestHost.CreditBureau, "institution").GetConsentAsync(get)).Consent.Id);
        Assert.Equal(consent.Id, (await _host.Consent(ConsentTestHost.Regulator, "regulator").GetConsentAsync(get)).Consent.Id);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => _host.Consent(ConsentTestHost.Paylink).GetConsentAsync(get).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => _host.Consent(ConsentTestHost.Paylink).ListConsentsAsync(new ListConsentsRequest { ControllerId = ConsentTestHost.Shopwave }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => _host.Consent(ConsentTestHost.CreditBureau, "institution").ListConsentsAsync(new ListConsentsRequest { SubjectId = "subject-1" }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => _host.Audit(ConsentTestHost.Shopwave, "platform").ListEntriesAsync(new ListEntriesRequest { ActorId = ConsentTestHost.Regulator }).ResponseAsync);

        var denied = new ListEntriesRequest { Action = "access.denied", PageSize = 2 };
        var audit = await _host.Audit().ListEntriesAsync(denied);
        var rest = await _host.Audit().ListEntriesAsync(new ListEntriesRequest(denied) { PageToken = audit.NextPageToken });
        Assert.Equal(4, audit.Entries.Count + rest.Entries.Count);
        Assert.True(audit.Entries[^1].Sequence < rest.Entries[0].Sequence);
    }

    [Fact]
    public async Task An_unregistered_platform_cannot_record_consents()
    {
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => _host.Consent("ghost-platform").GrantConsentAsync(_host.NewGrant()).ResponseAsync);
        Assert.Equal("ghost-platform", Assert.Single(await _host.DenialsAsync()).ActorId);
    }

    [Fact]
    public async Task A_token_of_an_unknown_kind_is_refused_and_audited()
    {
        var refused = await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => _host.Consent(ConsentTestHost.Shopwave, "platfrom").GetConsentAsync(new GetConsentRequest { ConsentId = Guid.NewGuid().ToString() }).ResponseAsync);
        Assert.Equal(
            "The token's kind 'platfrom' is not an organisation kind; the kinds are platform, institution, regulator, state_investor, operator.",
            refused.Status.Detail);
        var denial = Assert.Single(await _host.DenialsAsync());
        Assert.Equal(("shopwave", "platfrom", "/oversight.consent.v1.ConsentService/GetConsent", refused.Status.Detail),
            (denial.ActorId, denial.ActorKind, denial.Detail["method"], denial.Reason));
    }
}
