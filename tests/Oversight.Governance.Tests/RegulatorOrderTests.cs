using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Oversight.Governance.V1;

namespace Oversight.Governance.Tests;

public sealed class RegulatorOrderTests : IAsyncLifetime
{
    private GovernanceTestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await GovernanceTestHost.StartAsync();
        await _host.Organisations().RegisterOrganisationAsync(new RegisterOrganisationRequest
        {
            RequestId = "bureau", OrganisationId = "state-credit-bureau", Kind = OrganisationKind.Institution, Name = "Bureau", Jurisdiction = "CN",
        });
        await _host.Organisations().RegisterOrganisationAsync(new RegisterOrganisationRequest
        {
            RequestId = "shop", OrganisationId = "shopwave", Kind = OrganisationKind.Platform, Name = "ShopWave", Jurisdiction = "CN",
        });
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private static EnactStatutoryMandateRequest Mandate(string requestId = "m1") => new()
    {
        RequestId = requestId,
        LegalReference = "Anti-Money Laundering Law, Art. 28",
        RecipientId = "state-credit-bureau",
        Purposes = { "anti_money_laundering" },
        DataCategories = { "user.financial.transactions", "user.government_id" },
    };

    [Fact]
    public async Task The_regulator_enacts_and_repeals_a_mandate_with_events_and_audit()
    {
        var enacted = (await _host.Orders().EnactStatutoryMandateAsync(Mandate())).Mandate;
        Assert.Equal((1L, "state-credit-bureau", false), (enacted.Version, enacted.RecipientId, enacted.RepealTime is not null));
        Assert.True(Guid.TryParse(enacted.Id, out _));

        var repealed = (await _host.Orders().RepealStatutoryMandateAsync(new RepealStatutoryMandateRequest { RequestId = "r1", MandateId = enacted.Id, Reason = "superseded by statute" })).Mandate;
        Assert.Equal((2L, "superseded by statute"), (repealed.Version, repealed.RepealReason));
        Assert.NotNull(repealed.RepealTime);
        var again = await Fails(StatusCode.FailedPrecondition, () => _host.Orders().RepealStatutoryMandateAsync(
            new RepealStatutoryMandateRequest { RequestId = "r2", MandateId = enacted.Id, Reason = "twice" }).ResponseAsync);
        Assert.Contains("already repealed", again.Status.Detail, StringComparison.Ordinal);

        var listed = await _host.Orders("shopwave", "platform").ListStatutoryMandatesAsync(new ListStatutoryMandatesRequest());
        Assert.Equal(repealed, Assert.Single(listed.Mandates));
        Assert.Equal(1, await _host.ScalarAsync("SELECT COUNT(*) FROM outbox_message WHERE message_type = 'Oversight.Contracts.Governance.StatutoryMandateEnacted'"));
        Assert.Equal(1, await _host.ScalarAsync("SELECT COUNT(*) FROM outbox_message WHERE message_type = 'Oversight.Contracts.Governance.StatutoryMandateRepealed'"));

        // The log pages oldest first: the registrations, then the two orders.
        var audit = await _host.Audit().ListEntriesAsync(new Oversight.Audit.V1.ListEntriesRequest { PageSize = 2 });
        Assert.Equal(["organisation.registered", "organisation.registered"], audit.Entries.Select(e => e.Action));
        var orders = (await _host.Audit().ListEntriesAsync(new Oversight.Audit.V1.ListEntriesRequest { ActorId = "central-bank" })).Entries;
        Assert.Equal(["mandate.enacted", "mandate.repealed"], orders.Select(e => e.Action));
        Assert.All(orders, e => Assert.Equal(("central-bank", "regulator", "succeeded"), (e.ActorId, e.ActorKind, e.Outcome)));
    }

    [Fact]
    public async Task Only_the_regulator_orders_or_reads_the_audit()
    {
        await Fails(StatusCode.PermissionDenied, () => _host.Orders("operator", "operator").EnactStatutoryMandateAsync(Mandate()).ResponseAsync);
        await Fails(StatusCode.PermissionDenied, () => _host.Orders("shopwave", "platform").FreezeExchangeAsync(new FreezeExchangeRequest { RequestId = "f", Reason = "no" }).ResponseAsync);
        // Anyone but the regulator reads only the entries that name it as the actor.
        await Fails(StatusCode.PermissionDenied, () => _host.Audit("operator", "operator").ListEntriesAsync(
            new Oversight.Audit.V1.ListEntriesRequest { ActorId = "central-bank" }).ResponseAsync);
        Assert.All((await _host.Audit("operator", "operator").ListEntriesAsync(new Oversight.Audit.V1.ListEntriesRequest())).Entries,
            e => Assert.Equal("operator", e.ActorId));
        Assert.Equal(0, await _host.ScalarAsync("SELECT COUNT(*) FROM statutory_mandate"));
        Assert.Equal(3, await _host.ScalarAsync("SELECT COUNT(*) FROM audit_entry WHERE action = 'access.denied'"));
    }

    [Fact]
    public async Task A_bad_mandate_names_its_fields()
    {
        var bad = new EnactStatutoryMandateRequest
        {
            RequestId = "bad", RecipientId = "shopwave", Purposes = { "Not A Purpose" }, DataCategories = { "user..x", "user", "user" },
            ValidFrom = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(2)), ValidUntil = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)),
        };
        var exception = await Fails(StatusCode.InvalidArgument, () => _host.Orders().EnactStatutoryMandateAsync(bad).ResponseAsync);
        var fields = exception.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).ToHashSet();
        Assert.Superset(new HashSet<string> { "legal_reference", "purposes[0]", "data_categories[0]", "data_categories[2]", "valid_until", "recipient_id" }, fields);
        await Fails(StatusCode.NotFound, () => _host.Orders().RepealStatutoryMandateAsync(
            new RepealStatutoryMandateRequest { RequestId = "x", MandateId = Guid.NewGuid().ToString(), Reason = "r" }).ResponseAsync);
    }

    [Fact]
    public async Task Freeze_and_unfreeze_move_the_exchange_status_once_each()
    {
        var initial = (await _host.Orders("shopwave", "platform").GetExchangeStatusAsync(new GetExchangeStatusRequest())).Status;
        Assert.False(initial.Frozen);

        var frozen = (await _host.Orders().FreezeExchangeAsync(new FreezeExchangeRequest { RequestId = "f1", Reason = "data breach investigation" })).Status;
        Assert.Equal((true, "data breach investigation", 1L), (frozen.Frozen, frozen.Reason, frozen.Version));
        Assert.Equal(frozen, (await _host.Orders().FreezeExchangeAsync(new FreezeExchangeRequest { RequestId = "f1", Reason = "data breach investigation" })).Status);
        await Fails(StatusCode.FailedPrecondition, () => _host.Orders().FreezeExchangeAsync(new FreezeExchangeRequest { RequestId = "f2", Reason = "again" }).ResponseAsync);

        var thawed = (await _host.Orders().UnfreezeExchangeAsync(new UnfreezeExchangeRequest { RequestId = "u1", Reason = "resolved" })).Status;
        Assert.Equal((false, 2L), (thawed.Frozen, thawed.Version));
        Assert.NotEqual(frozen.OrderId, thawed.OrderId);
        Assert.Equal(1, await _host.ScalarAsync("SELECT COUNT(*) FROM outbox_message WHERE message_type = 'Oversight.Contracts.Governance.ExchangeFrozen'"));
        Assert.Equal(1, await _host.ScalarAsync("SELECT COUNT(*) FROM outbox_message WHERE message_type = 'Oversight.Contracts.Governance.ExchangeUnfrozen'"));
    }

    private static async Task<RpcException> Fails(StatusCode code, Func<Task> call)
    {
        var exception = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(code, exception.StatusCode);
        return exception;
    }
}
