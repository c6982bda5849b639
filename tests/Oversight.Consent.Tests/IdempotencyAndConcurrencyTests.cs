using Grpc.Core;
using Oversight.Consent.V1;
using Oversight.Testing;

namespace Oversight.Consent.Tests;

/// <summary>Retries return the first answer; racing writers never both apply (design §3).</summary>
public sealed class IdempotencyAndConcurrencyTests : IAsyncLifetime
{
    private ConsentTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await ConsentTestHost.StartAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private ConsentService.ConsentServiceClient Shopwave => _host.Consent(ConsentTestHost.Shopwave);

    [Fact]
    public async Task A_retried_grant_returns_the_first_answer()
    {
        var grant = _host.NewGrant(requestId: "grant-once");
        var first = await Shopwave.GrantConsentAsync(grant);
        _host.Time.Advance(TimeSpan.FromMinutes(10)); // a later retry: valid_from would now be "in the past"
        var again = await Shopwave.GrantConsentAsync(grant);
        Assert.Equal(first, again);
        Assert.Single((await Shopwave.ListConsentsAsync(new ListConsentsRequest { SubjectId = grant.SubjectId })).Consents);
    }

    [Fact]
    public async Task The_same_request_id_with_another_body_is_already_exists()
    {
        var grant = _host.NewGrant(requestId: "grant-x");
        await Shopwave.GrantConsentAsync(grant);
        grant.SubjectId = "someone-else";
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => Shopwave.GrantConsentAsync(grant).ResponseAsync);

        // A request id is per operation too.
        var consentId = (await Shopwave.ListConsentsAsync(new ListConsentsRequest { ControllerId = ConsentTestHost.Shopwave })).Consents[0].Id;
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists,
            () => Shopwave.RevokeConsentAsync(new RevokeConsentRequest { RequestId = "grant-x", ConsentId = consentId }).ResponseAsync);
    }

    [Fact]
    public async Task Request_ids_belong_to_their_caller()
    {
        var one = await Shopwave.GrantConsentAsync(_host.NewGrant(requestId: "shared-id"));
        var two = await _host.Consent(ConsentTestHost.Paylink).GrantConsentAsync(_host.NewGrant(requestId: "shared-id"));
        Assert.NotEqual(one.Consent.Id, two.Consent.Id);
    }

    [Fact]
    public async Task Concurrent_duplicates_apply_once()
    {
        var grant = _host.NewGrant("racer", requestId: "dup");
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Shopwave.GrantConsentAsync(grant).ResponseAsync));
        Assert.Single(answers.Select(a => a.Consent.Id).Distinct());
        Assert.Single((await Shopwave.ListConsentsAsync(new ListConsentsRequest { SubjectId = "racer" })).Consents);
    }

    [Fact]
    public async Task Racing_changes_to_one_consent_leave_one_winner()
    {
        var consent = await _host.GrantAsync("contested");
        var calls = Enumerable.Range(0, 8).Select(async i =>
        {
            try
            {
                if (i % 2 == 0)
                {
                    await Shopwave.RevokeConsentAsync(new RevokeConsentRequest { RequestId = $"rv{i}", ConsentId = consent.Id });
                }
                else
                {
                    await Shopwave.PauseConsentAsync(new PauseConsentRequest { RequestId = $"pz{i}", ConsentId = consent.Id });
                }

                return StatusCode.OK;
            }
            catch (RpcException exception)
            {
                return exception.StatusCode;
            }
        });
        var outcomes = await Task.WhenAll(calls);

        Assert.All(outcomes, code => Assert.Contains(code, new[] { StatusCode.OK, StatusCode.FailedPrecondition, StatusCode.Aborted }));
        var history = await Shopwave.ListConsentEventsAsync(new ListConsentEventsRequest { ConsentId = consent.Id });
        Assert.Equal(history.Events.Count - 1, outcomes.Count(code => code == StatusCode.OK));
        Assert.Equal(Enumerable.Range(1, history.Events.Count).Select(v => (long)v), history.Events.Select(e => e.Version));
        // Whatever won, a revoke is final: nothing follows it.
        var revokedAt = history.Events.Select((e, i) => (e, i)).Where(x => x.e.State == ConsentState.Revoked).Select(x => x.i).DefaultIfEmpty(-1).First();
        Assert.True(revokedAt == -1 || revokedAt == history.Events.Count - 1);
    }

    [Fact]
    public async Task Concurrent_amendments_supersede_once()
    {
        var consent = await _host.GrantAsync("amended-twice");
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(async i =>
        {
            try
            {
                return (await Shopwave.AmendConsentAsync(new AmendConsentRequest { RequestId = $"am{i}", ConsentId = consent.Id, Terms = _host.NewGrant().Terms })).Consent.Id;
            }
            catch (RpcException exception) when (exception.StatusCode is StatusCode.Aborted or StatusCode.FailedPrecondition)
            {
                return null;
            }
        }));
        var winner = Assert.Single(results, id => id is not null);
        var old = await Shopwave.GetConsentAsync(new GetConsentRequest { ConsentId = consent.Id });
        Assert.Equal(winner, old.Consent.SupersededById);
        var all = await Shopwave.ListConsentsAsync(new ListConsentsRequest { SubjectId = "amended-twice" });
        Assert.Equal(2, all.Consents.Count);
    }
}
