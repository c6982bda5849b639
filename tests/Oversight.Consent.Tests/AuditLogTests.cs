using System.Text;
using Oversight.Audit.V1;
using Oversight.Consent.V1;

namespace Oversight.Consent.Tests;

/// <summary>Consent's writes on its Merkle log: the subject only by its keyed hash, found by its id through an authorised call.</summary>
public sealed class AuditLogTests : IAsyncLifetime
{
    private ConsentTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await ConsentTestHost.StartAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task A_subjects_entries_are_found_by_its_id_and_hold_only_its_keyed_hash()
    {
        var consent = await _host.GrantAsync("alice-7d1f");
        await _host.GrantAsync("bob-2c9e");
        await _host.Consent(ConsentTestHost.Shopwave).RevokeConsentAsync(new RevokeConsentRequest { RequestId = "r", ConsentId = consent.Id, Reason = "changed her mind" });

        var alice = (await _host.Audit().ListEntriesAsync(new ListEntriesRequest { SubjectId = "alice-7d1f" })).Entries;
        Assert.Equal(["consent.granted", "consent.revoked"], alice.Select(e => e.Action));
        Assert.All(alice, e => Assert.Equal(($"consent/{consent.Id}", ConsentTestHost.Shopwave, "platform"), (e.Resource, e.ActorId, e.ActorKind)));
        Assert.Single(alice.Select(e => e.SubjectRef).Distinct());

        // No entry holds a raw subject id: not its columns, not the bytes its leaf hash covers.
        var all = (await _host.Audit().ListEntriesAsync(new ListEntriesRequest { PageSize = 100 })).Entries;
        Assert.Equal(3, all.Count);
        Assert.All(all, e =>
        {
            Assert.DoesNotContain("alice-7d1f", Encoding.UTF8.GetString(e.CanonicalBytes.Span), StringComparison.Ordinal);
            Assert.DoesNotContain("bob-2c9e", Encoding.UTF8.GetString(e.CanonicalBytes.Span), StringComparison.Ordinal);
            Assert.NotEqual("", e.SubjectRef);
        });

        // The controlling platform reads its own entries; it cannot read the regulator's.
        Assert.Equal(3, (await _host.Audit(ConsentTestHost.Shopwave, "platform").ListEntriesAsync(new ListEntriesRequest())).Entries.Count);
        Assert.Empty((await _host.Audit(ConsentTestHost.Paylink, "platform").ListEntriesAsync(new ListEntriesRequest { SubjectId = "alice-7d1f" })).Entries);
    }
}
