using Oversight.Consent.V1;
using Oversight.Contracts;
using Oversight.Contracts.Exchange;
using Oversight.Contracts.Governance;
using Oversight.Testing;

namespace Oversight.Consent.Tests;

/// <summary>The read models fed by other services' events, through the bus and the inbox.</summary>
public sealed class ReadModelTests : IAsyncLifetime
{
    private ConsentTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await ConsentTestHost.StartAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task A_registered_organisation_becomes_a_valid_recipient()
    {
        var grant = _host.NewGrant(recipient: "new-institution");
        await RpcAssert.InvalidFieldsAsync(() => _host.Consent(ConsentTestHost.Shopwave).GrantConsentAsync(grant).ResponseAsync);

        await _host.PublishAsync(new OrganisationRegistered
        {
            EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Governance, Version = 1,
            OrganisationId = "new-institution", Kind = OrganisationKinds.Institution, Name = "New Institution", Jurisdiction = "CN",
        });

        await ConsentTestHost.EventuallyAsync(async () =>
        {
            grant.RequestId = Guid.NewGuid().ToString();
            try
            {
                await _host.Consent(ConsentTestHost.Shopwave).GrantConsentAsync(grant);
                return true;
            }
            catch (global::Grpc.Core.RpcException)
            {
                return false;
            }
        }, "the organisation is known");
    }

    [Fact]
    public async Task Stale_organisation_updates_are_dropped_and_redeliveries_are_no_ops()
    {
        var newer = new OrganisationUpdated
        {
            EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Governance, Version = 5,
            OrganisationId = ConsentTestHost.CreditBureau, Kind = OrganisationKinds.Institution, Name = "Bureau v5", Jurisdiction = "SG",
        };
        await _host.PublishAsync(newer);
        await _host.PublishAsync(newer);
        await _host.PublishAsync(newer with { EventId = Guid.NewGuid(), Version = 4, Name = "Bureau v4", Jurisdiction = "CN" });

        await ConsentTestHost.EventuallyAsync(async () => await ScalarAsync<long>(
            "SELECT COUNT(*) FROM inbox_message WHERE consumer = 'OrganisationUpdatedConsumer'") == 2, "both distinct events are processed");
        Assert.Equal("Bureau v5", await ScalarAsync<string>("SELECT name FROM known_organisation WHERE id = 'state-credit-bureau'"));

        // The bureau now sits in SG: a CN consent to it needs the cross-border flag.
        var fields = await RpcAssert.InvalidFieldsAsync(() => _host.Consent(ConsentTestHost.Shopwave).GrantConsentAsync(_host.NewGrant()).ResponseAsync);
        Assert.Contains("terms.evidence.cross_border", fields);
    }

    [Fact]
    public async Task A_statutory_mandate_allows_without_consent_until_repealed()
    {
        var enacted = new StatutoryMandateEnacted
        {
            EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Governance, Version = 1,
            MandateId = "aml-2026-1", LegalReference = "Anti-Money Laundering Law, Art. 28", RecipientId = ConsentTestHost.CreditBureau,
            Purposes = ["anti_money_laundering"], DataCategories = ["user.financial"], ValidFrom = _host.Time.GetUtcNow().AddMinutes(-1),
        };
        await _host.PublishAsync(enacted);
        await ConsentTestHost.EventuallyAsync(async () =>
            (await _host.CheckAsync("nobody", purpose: "anti_money_laundering")).Decision.Decision == Decision.Allow, "the mandate allows");

        var check = await _host.CheckAsync("nobody", purpose: "anti_money_laundering");
        Assert.Equal((LegalBasis.Statutory, "aml-2026-1"), (check.Decision.LegalBasis, check.Decision.MandateId));
        Assert.Equal(Decision.Deny, (await _host.CheckAsync("nobody", "user.health", purpose: "anti_money_laundering")).Decision.Decision);

        var listed = await _host.Registry().ListStatutoryMandatesAsync(new ListStatutoryMandatesRequest());
        Assert.Equal("Anti-Money Laundering Law, Art. 28", Assert.Single(listed.Mandates).LegalReference);

        await _host.PublishAsync(new StatutoryMandateRepealed
        {
            EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Governance, Version = 2,
            MandateId = "aml-2026-1", RepealedAt = _host.Time.GetUtcNow(),
        });
        await ConsentTestHost.EventuallyAsync(async () =>
            (await _host.CheckAsync("nobody", purpose: "anti_money_laundering")).Decision.Decision == Decision.Deny, "the repeal denies");

        // The enactment redelivered after the repeal does not bring the mandate back.
        await _host.PublishAsync(enacted with { EventId = Guid.NewGuid() });
        await Task.Delay(300);
        Assert.Equal(Decision.Deny, (await _host.CheckAsync("nobody", purpose: "anti_money_laundering")).Decision.Decision);
    }

    [Fact]
    public async Task Disclosures_fill_the_subject_log_and_count_against_frequency_limits()
    {
        var grant = _host.NewGrant("frequent");
        grant.Terms.FrequencyLimit = new FrequencyLimit { MaxDeliveries = 2, Period = FrequencyPeriod.Day };
        var consent = (await _host.Consent(ConsentTestHost.Shopwave).GrantConsentAsync(grant)).Consent;

        for (var i = 0; i < 2; i++)
        {
            await _host.PublishAsync(new DataDisclosed
            {
                EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Exchange, Version = 1,
                DeliveryId = $"delivery-{i}", ControllerId = ConsentTestHost.Shopwave, RecipientId = ConsentTestHost.CreditBureau,
                Purpose = "credit_assessment", DataCategories = ["user.financial.transactions"],
                Subjects = [new DisclosedSubject { SubjectId = "frequent", ConsentId = consent.Id }],
                DisclosedAt = _host.Time.GetUtcNow(),
            });
        }

        var subjects = _host.Subjects(ConsentTestHost.Shopwave);
        await ConsentTestHost.EventuallyAsync(async () =>
            (await subjects.ListDisclosuresAsync(new ListDisclosuresRequest { SubjectId = "frequent" })).Disclosures.Count == 2, "both disclosures are logged");
        var log = await subjects.ListDisclosuresAsync(new ListDisclosuresRequest { SubjectId = "frequent", PageSize = 1 });
        Assert.Equal(consent.Id, log.Disclosures[0].ConsentId);
        Assert.NotEmpty(log.NextPageToken);
        Assert.Empty((await _host.Subjects(ConsentTestHost.Paylink).ListDisclosuresAsync(new ListDisclosuresRequest { SubjectId = "frequent" })).Disclosures);

        Assert.Equal(DenyReason.FrequencyExhausted, (await _host.CheckAsync("frequent")).Decision.DenyReason);
        _host.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(Decision.Allow, (await _host.CheckAsync("frequent")).Decision.Decision);
    }

    /// <summary>
    /// A delivery's check reserves its use of a frequency-limited consent: the limit holds before any
    /// DataDisclosed arrives (the broker down), a delivery is one use however many pages it checks,
    /// and of deliveries checking at once only as many as the limit allows are let through.
    /// </summary>
    [Fact]
    public Task A_deliverys_check_reserves_its_use_so_the_limit_holds_before_any_disclosure_arrives() => ChecksReserveUsesAsync(_host);

    /// <summary>The body of the test above, also run on SQL Server (where the consents are held by a lock hint, not by SQLite's one writer).</summary>
    internal static async Task ChecksReserveUsesAsync(ConsentTestHost host)
    {
        var grant = host.NewGrant("limited");
        grant.Terms.FrequencyLimit = new FrequencyLimit { MaxDeliveries = 2, Period = FrequencyPeriod.Day };
        await host.Consent(ConsentTestHost.Shopwave).GrantConsentAsync(grant);
        var exchange = host.Consent("exchange", "operator", service: "exchange");
        BatchCheckConsentRequest Page(string deliveryId) => new()
        {
            ControllerId = ConsentTestHost.Shopwave, RecipientId = ConsentTestHost.CreditBureau, Purpose = "credit_assessment",
            SubjectIds = { "limited" }, DataCategories = { "user.financial.transactions" }, DeliveryId = deliveryId,
        };
        async Task<Decision> CheckAsync(string deliveryId) => (await exchange.BatchCheckConsentAsync(Page(deliveryId))).Decisions.Single().Decision;

        var first = Guid.NewGuid().ToString("D");
        Assert.Equal(Decision.Allow, await CheckAsync(first));
        Assert.Equal(Decision.Allow, await CheckAsync(first));
        // Eight deliveries at once for the one use left: one gets it.
        var others = Enumerable.Range(0, 8).Select(_ => Guid.NewGuid().ToString("D")).ToList();
        var decided = await Task.WhenAll(others.Select(CheckAsync));
        Assert.Equal(1, decided.Count(d => d == Decision.Allow));
        var allowed = others[Array.IndexOf(decided, Decision.Allow)];
        // No DataDisclosed was ever sent: the uses are the checks' own.
        Assert.Empty((await host.Subjects(ConsentTestHost.Shopwave).ListDisclosuresAsync(new ListDisclosuresRequest { SubjectId = "limited" })).Disclosures);
        Assert.Equal(Decision.Allow, await CheckAsync(allowed));
        var denied = (await exchange.BatchCheckConsentAsync(Page(Guid.NewGuid().ToString("D")))).Decisions.Single();
        Assert.Equal((Decision.Deny, DenyReason.FrequencyExhausted), (denied.Decision, denied.DenyReason));

        host.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(Decision.Allow, await CheckAsync(Guid.NewGuid().ToString("D")));
    }

    [Fact]
    public async Task An_erasure_request_revokes_goes_out_as_an_event_and_is_confirmed_back()
    {
        await _host.GrantAsync("forget-me");
        await _host.GrantAsync("forget-me", categories: "user.contact");
        var other = await _host.GrantAsync("forget-me", ConsentTestHost.Paylink);

        var response = await _host.Subjects(ConsentTestHost.Shopwave).RequestErasureAsync(new RequestErasureRequest { RequestId = "e1", SubjectId = "forget-me" });
        var erasure = response.ErasureRequest;
        Assert.Equal((ErasureState.Requested, 2), (erasure.State, erasure.RevokedConsentCount));
        Assert.Equal(DenyReason.Revoked, (await _host.CheckAsync("forget-me", token: response.ConsistencyToken)).Decision.DenyReason);
        Assert.Equal(Decision.Allow, (await _host.CheckAsync("forget-me", controller: ConsentTestHost.Paylink)).Decision.Decision);
        Assert.Equal(other.Id, (await _host.CheckAsync("forget-me", controller: ConsentTestHost.Paylink)).Decision.ConsentId);
        Assert.Equal(1, await ScalarAsync<long>("SELECT COUNT(*) FROM outbox_message WHERE message_type = 'Oversight.Contracts.Consent.SubjectErasureRequested'"));

        await _host.PublishAsync(new SubjectErasureCompleted
        {
            EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Exchange, Version = 1,
            ErasureRequestId = erasure.Id, SubjectId = "forget-me", ErasedRecordCount = 12, CompletedAt = DateTimeOffset.UtcNow,
        });
        await ConsentTestHost.EventuallyAsync(async () => (await _host.Subjects(ConsentTestHost.Shopwave)
            .GetErasureRequestAsync(new GetErasureRequestRequest { ErasureRequestId = erasure.Id })).ErasureRequest.State == ErasureState.Completed, "the erasure is confirmed");
        var done = (await _host.Subjects(ConsentTestHost.Shopwave).GetErasureRequestAsync(new GetErasureRequestRequest { ErasureRequestId = erasure.Id })).ErasureRequest;
        Assert.Equal(12, done.ErasedRecordCount);
        await RpcAssert.FailsAsync(global::Grpc.Core.StatusCode.PermissionDenied, () => _host.Subjects(ConsentTestHost.Paylink)
            .GetErasureRequestAsync(new GetErasureRequestRequest { ErasureRequestId = erasure.Id }).ResponseAsync);
    }

    [Fact]
    public async Task Every_state_change_leaves_an_event_in_the_outbox_and_the_relay_sends_it()
    {
        var consent = await _host.GrantAsync("evented");
        var client = _host.Consent(ConsentTestHost.Shopwave);
        await client.PauseConsentAsync(new PauseConsentRequest { RequestId = "1", ConsentId = consent.Id });
        await client.ResumeConsentAsync(new ResumeConsentRequest { RequestId = "2", ConsentId = consent.Id });
        var amended = await client.AmendConsentAsync(new AmendConsentRequest { RequestId = "3", ConsentId = consent.Id, Terms = _host.NewGrant().Terms });
        await client.RevokeConsentAsync(new RevokeConsentRequest { RequestId = "4", ConsentId = amended.Consent.Id });

        var types = (await QueryAsync<string>("SELECT message_type FROM outbox_message ORDER BY sequence")).Select(t => t.Split('.')[^1]).ToList();
        Assert.Equal(["ConsentGranted", "ConsentPaused", "ConsentResumed", "ConsentSuperseded", "ConsentGranted", "ConsentRevoked"], types);
        await ConsentTestHost.EventuallyAsync(async () => await ScalarAsync<long>("SELECT COUNT(*) FROM outbox_message WHERE sent_at_ms IS NULL") == 0,
            "the relay has published everything");
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = await _host.Database.OpenAsync(CancellationToken.None);
        return (await Dapper.SqlMapper.ExecuteScalarAsync<T>(connection, sql))!;
    }

    private async Task<IEnumerable<T>> QueryAsync<T>(string sql)
    {
        await using var connection = await _host.Database.OpenAsync(CancellationToken.None);
        return await Dapper.SqlMapper.QueryAsync<T>(connection, sql);
    }
}
