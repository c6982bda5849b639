using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Oversight.Consent.V1;
using Oversight.Testing;

namespace Oversight.Consent.Tests;

/// <summary>The ConsentService over real gRPC on the test server, with a real SQLite file.</summary>
public sealed class ConsentLifecycleTests : IAsyncLifetime
{
    private ConsentTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await ConsentTestHost.StartAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task A_granted_consent_allows_the_check_it_covers()
    {
        var consent = await _host.GrantAsync("subject-1");
        Assert.Equal(ConsentState.Active, consent.State);
        Assert.Equal(ConsentTestHost.Shopwave, consent.ControllerId);

        var check = await _host.CheckAsync("subject-1");
        Assert.Equal(Decision.Allow, check.Decision.Decision);
        Assert.Equal(LegalBasis.Consent, check.Decision.LegalBasis);
        Assert.Equal(consent.Id, check.Decision.ConsentId);
    }

    [Fact]
    public async Task Revoked_consent_denies_the_next_check_that_presents_the_revoke_token()
    {
        var consent = await _host.GrantAsync("subject-1");
        // ALLOW first, so the check's cache holds the active consent: a stale cache cannot pass the DENY below.
        var before = await _host.CheckAsync("subject-1");
        Assert.Equal((Decision.Allow, consent.Id), (before.Decision.Decision, before.Decision.ConsentId));

        var revoke = await _host.Consent(ConsentTestHost.Shopwave).RevokeConsentAsync(new RevokeConsentRequest
        {
            RequestId = "revoke-1",
            ConsentId = consent.Id,
            Reason = "user withdrew in app",
        });
        Assert.Equal(ConsentState.Revoked, revoke.Consent.State);

        var check = await _host.CheckAsync("subject-1", token: revoke.ConsistencyToken);
        Assert.Equal(Decision.Deny, check.Decision.Decision);
        Assert.Equal(DenyReason.Revoked, check.Decision.DenyReason);
        Assert.True(ConsentTokenAtLeast(check.ConsistencyToken, revoke.ConsistencyToken));
    }

    [Fact]
    public async Task A_token_a_check_returned_is_accepted_even_on_a_store_with_no_changes_yet()
    {
        var first = await _host.CheckAsync("nobody");
        Assert.Equal(DenyReason.NoConsent, (await _host.CheckAsync("nobody", token: first.ConsistencyToken)).Decision.DenyReason);
    }

    [Fact]
    public async Task A_token_from_the_future_is_refused_rather_than_answered_stale()
    {
        await _host.GrantAsync("subject-1");
        await RpcAssert.FailsAsync(StatusCode.Unavailable, () => _host.CheckAsync("subject-1", token: "ct1.999999"));
    }

    [Fact]
    public async Task Pause_and_resume_switch_the_check()
    {
        var consent = await _host.GrantAsync("subject-1");
        var client = _host.Consent(ConsentTestHost.Shopwave);

        var paused = await client.PauseConsentAsync(new PauseConsentRequest { RequestId = "p1", ConsentId = consent.Id, Reason = "travel" });
        Assert.Equal(ConsentState.Paused, paused.Consent.State);
        Assert.Equal(DenyReason.Paused, (await _host.CheckAsync("subject-1", token: paused.ConsistencyToken)).Decision.DenyReason);

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => client.PauseConsentAsync(new PauseConsentRequest { RequestId = "p2", ConsentId = consent.Id }).ResponseAsync);

        var resumed = await client.ResumeConsentAsync(new ResumeConsentRequest { RequestId = "r1", ConsentId = consent.Id });
        Assert.Equal(ConsentState.Active, resumed.Consent.State);
        Assert.Equal(Decision.Allow, (await _host.CheckAsync("subject-1", token: resumed.ConsistencyToken)).Decision.Decision);
    }

    [Fact]
    public async Task Amending_issues_a_new_artefact_and_supersedes_the_old()
    {
        var original = await _host.GrantAsync("subject-1", categories: "user.financial.transactions");
        var client = _host.Consent(ConsentTestHost.Shopwave);
        var terms = _host.NewGrant().Terms;
        terms.DataCategories.Clear();
        terms.DataCategories.Add("user.contact.phone");

        var amended = await client.AmendConsentAsync(new AmendConsentRequest { RequestId = "a1", ConsentId = original.Id, Terms = terms });
        Assert.NotEqual(original.Id, amended.Consent.Id);
        Assert.Equal(original.Id, amended.Consent.SupersedesId);
        Assert.Equal("subject-1", amended.Consent.SubjectId);

        var old = await client.GetConsentAsync(new GetConsentRequest { ConsentId = original.Id });
        Assert.Equal(ConsentState.Superseded, old.Consent.State);
        Assert.Equal(amended.Consent.Id, old.Consent.SupersededById);

        var financial = await _host.CheckAsync("subject-1", token: amended.ConsistencyToken);
        Assert.Equal(DenyReason.Superseded, financial.Decision.DenyReason);
        var phone = await _host.CheckAsync("subject-1", "user.contact.phone");
        Assert.Equal(amended.Consent.Id, phone.Decision.ConsentId);

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => client.AmendConsentAsync(new AmendConsentRequest { RequestId = "a2", ConsentId = original.Id, Terms = terms }).ResponseAsync);
    }

    [Fact]
    public async Task History_lists_every_state_change_in_order()
    {
        var consent = await _host.GrantAsync("subject-1");
        var client = _host.Consent(ConsentTestHost.Shopwave);
        await client.PauseConsentAsync(new PauseConsentRequest { RequestId = "p", ConsentId = consent.Id });
        await client.ResumeConsentAsync(new ResumeConsentRequest { RequestId = "r", ConsentId = consent.Id });
        await client.RevokeConsentAsync(new RevokeConsentRequest { RequestId = "v", ConsentId = consent.Id, Reason = "done" });

        var first = await client.ListConsentEventsAsync(new ListConsentEventsRequest { ConsentId = consent.Id, PageSize = 3 });
        var second = await client.ListConsentEventsAsync(new ListConsentEventsRequest { ConsentId = consent.Id, PageSize = 3, PageToken = first.NextPageToken });
        var states = first.Events.Concat(second.Events).Select(e => e.State).ToList();
        Assert.Equal([ConsentState.Active, ConsentState.Paused, ConsentState.Active, ConsentState.Revoked], states);
        Assert.Equal([1L, 2, 3, 4], first.Events.Concat(second.Events).Select(e => e.Version));
        Assert.Equal("", second.NextPageToken);
        Assert.Equal("done", second.Events[^1].Reason);
    }

    [Fact]
    public async Task Expiry_is_computed_at_read_time_and_the_sweep_sends_the_event()
    {
        var consent = await _host.GrantAsync("subject-1");
        _host.Time.Advance(TimeSpan.FromDays(31));

        var read = await _host.Consent(ConsentTestHost.Shopwave).GetConsentAsync(new GetConsentRequest { ConsentId = consent.Id });
        Assert.Equal(ConsentState.Expired, read.Consent.State);
        Assert.Equal(DenyReason.Expired, (await _host.CheckAsync("subject-1")).Decision.DenyReason);

        var sweeper = _host.Services.GetRequiredService<Application.ConsentExpirySweeper>();
        Assert.Equal(1, await sweeper.SweepAsync(CancellationToken.None));
        Assert.Equal(0, await sweeper.SweepAsync(CancellationToken.None));
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM outbox_message WHERE message_type = 'Oversight.Contracts.Consent.ConsentExpired'"));

        var events = await _host.Consent(ConsentTestHost.Shopwave).ListConsentEventsAsync(new ListConsentEventsRequest { ConsentId = consent.Id });
        Assert.Equal(ConsentState.Expired, events.Events[^1].State);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => _host.Consent(ConsentTestHost.Shopwave)
            .RevokeConsentAsync(new RevokeConsentRequest { RequestId = "late", ConsentId = consent.Id }).ResponseAsync);
    }

    [Fact]
    public async Task Lists_page_newest_first_by_subject_and_by_controller()
    {
        for (var i = 0; i < 5; i++)
        {
            await _host.GrantAsync("subject-many");
            _host.Time.Advance(TimeSpan.FromSeconds(1));
        }

        await _host.GrantAsync("subject-many", ConsentTestHost.Paylink);
        var client = _host.Consent(ConsentTestHost.Shopwave);
        var ids = new List<string>();
        var token = "";
        do
        {
            var page = await client.ListConsentsAsync(new ListConsentsRequest { SubjectId = "subject-many", PageSize = 2, PageToken = token });
            ids.AddRange(page.Consents.Select(c => c.Id));
            Assert.All(page.Consents, c => Assert.Equal(ConsentTestHost.Shopwave, c.ControllerId));
            token = page.NextPageToken;
        }
        while (token != "");

        Assert.Equal(5, ids.Distinct().Count());
        Assert.Equal(ids.OrderByDescending(id => id, StringComparer.Ordinal), ids);

        var regulator = await _host.Consent(ConsentTestHost.Regulator, "regulator")
            .ListConsentsAsync(new ListConsentsRequest { SubjectId = "subject-many", PageSize = 100 });
        Assert.Equal(6, regulator.Consents.Count);

        var byController = await client.ListConsentsAsync(new ListConsentsRequest { ControllerId = ConsentTestHost.Shopwave, PageSize = 100 });
        Assert.Equal(5, byController.Consents.Count);
    }

    [Fact]
    public async Task Batch_check_answers_every_subject_and_category_in_order_with_reasons()
    {
        await _host.GrantAsync("s-allowed", categories: "user.financial");
        var revoked = await _host.GrantAsync("s-revoked");
        await _host.Consent(ConsentTestHost.Shopwave).RevokeConsentAsync(new RevokeConsentRequest { RequestId = "x", ConsentId = revoked.Id });
        await _host.Consent(ConsentTestHost.Shopwave).GrantConsentAsync(_host.NewGrant("s-other-purpose", purpose: "statistics"));

        var response = await _host.Consent(ConsentTestHost.CreditBureau, "institution").BatchCheckConsentAsync(new BatchCheckConsentRequest
        {
            ControllerId = ConsentTestHost.Shopwave,
            RecipientId = ConsentTestHost.CreditBureau,
            Purpose = "credit_assessment",
            SubjectIds = { "s-allowed", "s-revoked", "s-other-purpose", "s-none" },
            DataCategories = { "user.financial.transactions", "user.contact.phone" },
        });

        var answers = response.Decisions.Select(d => (d.SubjectId, d.DataCategory, d.Decision, d.DenyReason)).ToList();
        Assert.Equal(
        [
            ("s-allowed", "user.financial.transactions", Decision.Allow, DenyReason.Unspecified),
            ("s-allowed", "user.contact.phone", Decision.Deny, DenyReason.CategoryNotCovered),
            ("s-revoked", "user.financial.transactions", Decision.Deny, DenyReason.Revoked),
            ("s-revoked", "user.contact.phone", Decision.Deny, DenyReason.CategoryNotCovered),
            ("s-other-purpose", "user.financial.transactions", Decision.Deny, DenyReason.PurposeNotCovered),
            ("s-other-purpose", "user.contact.phone", Decision.Deny, DenyReason.PurposeNotCovered),
            ("s-none", "user.financial.transactions", Decision.Deny, DenyReason.NoConsent),
            ("s-none", "user.contact.phone", Decision.Deny, DenyReason.NoConsent),
        ], answers);
    }

    [Fact]
    public async Task Batch_and_unary_checks_agree()
    {
        var subjects = Enumerable.Range(0, 40).Select(i => $"agree-{i}").ToList();
        foreach (var subject in subjects.Where((_, i) => i % 7 == 3))
        {
            await _host.Consent(ConsentTestHost.Shopwave).GrantConsentAsync(_host.NewGrant(subject, purpose: "statistics"));
        }

        foreach (var subject in subjects.Where((_, i) => i % 3 != 0))
        {
            var consent = await _host.GrantAsync(subject, categories: subject.EndsWith('1') ? "user.contact" : "user.financial.transactions");
            if (subject.EndsWith('2'))
            {
                await _host.Consent(ConsentTestHost.Shopwave).PauseConsentAsync(new PauseConsentRequest { RequestId = subject, ConsentId = consent.Id });
            }
        }

        var categories = new[] { "user.financial.transactions", "user.contact.phone" };
        var batch = await _host.Consent(ConsentTestHost.Shopwave).BatchCheckConsentAsync(new BatchCheckConsentRequest
        {
            ControllerId = ConsentTestHost.Shopwave, RecipientId = ConsentTestHost.CreditBureau, Purpose = "credit_assessment",
            SubjectIds = { subjects }, DataCategories = { categories },
        });

        var index = 0;
        foreach (var subject in subjects)
        {
            foreach (var category in categories)
            {
                var unary = await _host.CheckAsync(subject, category);
                Assert.Equal(unary.Decision, batch.Decisions[index++]);
            }
        }
    }

    [Fact]
    public async Task What_a_grant_answers_is_what_a_later_read_returns()
    {
        var granted = await _host.Consent(ConsentTestHost.Shopwave).GrantConsentAsync(_host.NewGrant("precise"));
        var read = await _host.Consent(ConsentTestHost.Shopwave).GetConsentAsync(new GetConsentRequest { ConsentId = granted.Consent.Id });
        Assert.Equal(granted.Consent, read.Consent);
    }

    [Fact]
    public async Task A_denial_names_the_consent_nearest_to_allowing()
    {
        var consent = await _host.GrantAsync("near", categories: "user.contact.phone");
        var check = await _host.CheckAsync("near", "user.financial.transactions");
        Assert.Equal((DenyReason.CategoryNotCovered, consent.Id), (check.Decision.DenyReason, check.Decision.ConsentId));
        var otherPurpose = await _host.CheckAsync("near", "user.contact.phone", purpose: "statistics");
        Assert.Equal((DenyReason.PurposeNotCovered, consent.Id), (otherPurpose.Decision.DenyReason, otherPurpose.Decision.ConsentId));
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = await _host.Database.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static bool ConsentTokenAtLeast(string token, string other) =>
        Model.ConsistencyToken.TryParse(token, out var a) && Model.ConsistencyToken.TryParse(other, out var b) && a >= b;
}
