using Microsoft.Extensions.DependencyInjection;
using Oversight.BuildingBlocks.Data;
using Oversight.Consent.Application;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.V1;

namespace Oversight.Consent.Tests;

/// <summary>
/// The guarded writes of Consent's versioned rows, given a snapshot read before another change
/// landed (SQLite's one writer never lets a real race reach the guards; SQL Server's READ COMMITTED
/// does, so the stale snapshot is kept here on purpose).
/// </summary>
public sealed class StaleWriteTests : IAsyncLifetime
{
    private ConsentTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await ConsentTestHost.StartAsync();

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private ConsentRepository Repository => _host.Services.GetRequiredService<ConsentRepository>();

    private async Task<TResult> WriteAsync<TResult>(Func<DbSession, Task<TResult>> write)
    {
        await using var session = await _host.Database.BeginAsync(CancellationToken.None);
        var result = await write(session);
        await session.CommitAsync();
        return result;
    }

    /// <summary>
    /// The expiry sweep reads the due artefacts before it opens a transaction per artefact: a
    /// revocation committed in between must not be overwritten by EXPIRED.
    /// </summary>
    [Fact]
    public async Task An_expiry_from_a_read_taken_before_a_revocation_changes_nothing()
    {
        var granted = await _host.GrantAsync("stale-subject");
        var stale = (await WriteAsync(s => Repository.GetAsync(s, granted.Id)))!;
        await _host.Consent(ConsentTestHost.Shopwave).RevokeConsentAsync(new RevokeConsentRequest { RequestId = "revoke", ConsentId = granted.Id });

        _host.Time.Advance(TimeSpan.FromDays(31));
        var register = _host.Services.GetRequiredService<ConsentRegister>();
        Assert.False(await WriteAsync(s => register.ExpireAsync(s, stale, _host.Time.GetUtcNow())));

        var stored = (await WriteAsync(s => Repository.GetAsync(s, granted.Id)))!;
        Assert.Equal((Model.ConsentStatus.Revoked, stale.Version + 1), (stored.StoredStatus, stored.Version));
    }

    [Fact]
    public async Task A_status_change_from_a_stale_version_changes_nothing()
    {
        var granted = await _host.GrantAsync("stale-subject");
        var stale = (await WriteAsync(s => Repository.GetAsync(s, granted.Id)))!;
        await _host.Consent(ConsentTestHost.Shopwave).PauseConsentAsync(new PauseConsentRequest { RequestId = "pause", ConsentId = granted.Id });

        Assert.False(await WriteAsync(s => Repository.UpdateStatusAsync(s, granted.Id, stale.Version, Model.ConsentStatus.Revoked, "stale", null, _host.Time.GetUtcNow())));
        var stored = (await WriteAsync(s => Repository.GetAsync(s, granted.Id)))!;
        Assert.Equal((Model.ConsentStatus.Paused, stale.Version + 1), (stored.StoredStatus, stored.Version));
    }

    /// <summary>The organisation read model: one statement inserts a new one, applies a newer version, and ignores an older or equal one.</summary>
    [Fact]
    public async Task A_known_organisation_is_inserted_once_and_only_a_newer_version_replaces_it()
    {
        var at = _host.Time.GetUtcNow();
        Task<bool> UpsertAsync(string name, long version) =>
            WriteAsync(s => Repository.UpsertOrganisationAsync(s, new Model.KnownOrganisation("newbank", "institution", name, "CN", version), at));
        async Task<Model.KnownOrganisation?> StoredAsync()
        {
            await using var connection = await _host.Database.OpenAsync(CancellationToken.None);
            return await Repository.OrganisationAsync(connection, "newbank", null, CancellationToken.None);
        }

        Assert.True(await UpsertAsync("New Bank", 2));
        Assert.False(await UpsertAsync("New Bank (repeated)", 2));
        Assert.False(await UpsertAsync("New Bank (stale)", 1));
        Assert.Equal(new Model.KnownOrganisation("newbank", "institution", "New Bank", "CN", 2), await StoredAsync());
        Assert.True(await UpsertAsync("New Bank Ltd", 3));
        Assert.Equal(new Model.KnownOrganisation("newbank", "institution", "New Bank Ltd", "CN", 3), await StoredAsync());
    }

    /// <summary>
    /// The mandate read model: an enactment or repeal older than what is stored (a late or repeated
    /// event) changes nothing, and a repealed mandate stays repealed.
    /// </summary>
    [Fact]
    public async Task A_mandate_event_older_than_the_stored_version_changes_nothing()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(_host.Time.GetUtcNow().ToUnixTimeMilliseconds());
        var mandate = new Model.StatutoryMandate("mandate-1", "Anti-Money Laundering Law, Art. 28", ConsentTestHost.CreditBureau,
            ["anti_money_laundering"], ["user.financial.transactions"], at, null, null);
        async Task<Model.StatutoryMandate> StoredAsync()
        {
            await using var connection = await _host.Database.OpenAsync(CancellationToken.None);
            return Assert.Single(await Repository.ListMandatesAsync(connection, null, 10, CancellationToken.None));
        }

        Assert.True(await WriteAsync(s => Repository.UpsertMandateAsync(s, mandate with { LegalReference = "Art. 29" }, 3, at)));
        Assert.False(await WriteAsync(s => Repository.UpsertMandateAsync(s, mandate, 2, at)));
        Assert.Equal("Art. 29", (await StoredAsync()).LegalReference);

        await WriteAsync(async s => { await Repository.RepealMandateAsync(s, mandate.Id, 5, at.AddHours(1), at); return true; });
        await WriteAsync(async s => { await Repository.RepealMandateAsync(s, mandate.Id, 4, at.AddHours(2), at); return true; });
        Assert.Equal(at.AddHours(1), (await StoredAsync()).RepealedAt);

        // Once repealed, no enactment revives it, whatever version it carries.
        Assert.False(await WriteAsync(s => Repository.UpsertMandateAsync(s, mandate with { LegalReference = "Art. 30" }, 9, at)));
        Assert.Equal(("Art. 29", at.AddHours(1)), ((await StoredAsync()).LegalReference, (await StoredAsync()).RepealedAt));
    }

    /// <summary>A repeal that overtakes its enactment leaves a tombstone: the late enactment stays repealed and allows nothing.</summary>
    [Fact]
    public async Task A_repeal_that_overtakes_its_enactment_keeps_the_mandate_repealed()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(_host.Time.GetUtcNow().ToUnixTimeMilliseconds());
        var mandate = new Model.StatutoryMandate("mandate-2", "Anti-Money Laundering Law, Art. 28", ConsentTestHost.CreditBureau,
            ["anti_money_laundering"], ["user.financial.transactions"], at, null, null);

        await WriteAsync(async s => { await Repository.RepealMandateAsync(s, mandate.Id, 2, at.AddHours(1), at); return true; });
        Assert.False(await WriteAsync(s => Repository.UpsertMandateAsync(s, mandate, 1, at)));

        await using var connection = await _host.Database.OpenAsync(CancellationToken.None);
        Assert.Equal(at.AddHours(1), Assert.Single(await Repository.ListMandatesAsync(connection, null, 10, CancellationToken.None)).RepealedAt);
        Assert.Empty(await Repository.MandatesForRecipientAsync(connection, ConsentTestHost.CreditBureau, CancellationToken.None));
    }
}
