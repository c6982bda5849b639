using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts.Governance;
using Oversight.BuildingBlocks.Errors;
using Oversight.Governance.Model;
using Oversight.Governance.V1;

namespace Oversight.Governance.Tests;

public sealed class OrganisationTests : IAsyncLifetime
{
    private GovernanceTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await GovernanceTestHost.StartAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private static RegisterOrganisationRequest Register(string id, OrganisationKind kind = OrganisationKind.Platform, params string[] affiliations) => new()
    {
        RequestId = $"register-{id}",
        OrganisationId = id,
        Kind = kind,
        Name = $"{id} Ltd",
        Jurisdiction = "CN",
        Affiliations = { affiliations },
    };

    [Fact]
    public async Task The_operator_registers_and_updates_organisations_with_versions()
    {
        var operatorClient = _host.Organisations();
        await operatorClient.RegisterOrganisationAsync(Register("paylink"));
        var registered = (await operatorClient.RegisterOrganisationAsync(Register("shopwave", affiliations: "paylink"))).Organisation;
        Assert.Equal((1L, OrganisationKind.Platform, "paylink"), (registered.Version, registered.Kind, registered.Affiliations.Single()));

        var updated = (await operatorClient.UpdateOrganisationAsync(new UpdateOrganisationRequest
        {
            RequestId = "u1", OrganisationId = "shopwave", ExpectedVersion = 1, Name = "ShopWave Group", Jurisdiction = "HK",
        })).Organisation;
        Assert.Equal((2L, "ShopWave Group", "HK", 0), (updated.Version, updated.Name, updated.Jurisdiction, updated.Affiliations.Count));
        Assert.Equal(updated, (await _host.Organisations("shopwave", "platform").GetOrganisationAsync(new GetOrganisationRequest { OrganisationId = "shopwave" })).Organisation);

        await RpcFails(StatusCode.Aborted, () => operatorClient.UpdateOrganisationAsync(new UpdateOrganisationRequest
        {
            RequestId = "u2", OrganisationId = "shopwave", ExpectedVersion = 1, Name = "Stale", Jurisdiction = "CN",
        }).ResponseAsync);
    }

    [Fact]
    public async Task There_is_exactly_one_regulator()
    {
        var operatorClient = _host.Organisations();
        await operatorClient.RegisterOrganisationAsync(Register("central-bank", OrganisationKind.Regulator));
        var second = await RpcFails(StatusCode.FailedPrecondition, () => operatorClient.RegisterOrganisationAsync(Register("other-bank", OrganisationKind.Regulator)).ResponseAsync);
        Assert.Equal("ONE_REGULATOR", second.GetRpcStatus()?.GetDetail<PreconditionFailure>()?.Violations.Single().Type);
        var again = Register("central-bank");
        again.RequestId = "again";
        await RpcFails(StatusCode.AlreadyExists, () => operatorClient.RegisterOrganisationAsync(again).ResponseAsync);
    }

    [Fact]
    public async Task Only_the_operator_or_the_regulator_keeps_the_registry()
    {
        await RpcFails(StatusCode.PermissionDenied, () => _host.Organisations("shopwave", "platform").RegisterOrganisationAsync(Register("sneaky")).ResponseAsync);
        var byRegulator = await _host.Organisations("central-bank", "regulator").RegisterOrganisationAsync(Register("by-regulator"));
        Assert.Equal(("by-regulator", 1L), (byRegulator.Organisation.Id, byRegulator.Organisation.Version));

        // The refusal is audited with its caller and method, and registered nothing.
        var denial = Assert.Single((await _host.Audit().ListEntriesAsync(new Oversight.Audit.V1.ListEntriesRequest { Action = "access.denied" })).Entries);
        Assert.Equal(("shopwave", "platform", "refused", "/oversight.governance.v1.OrganisationService/RegisterOrganisation"),
            (denial.ActorId, denial.ActorKind, denial.Outcome, denial.Detail["method"]));
        await RpcFails(StatusCode.NotFound, () => _host.Organisations().GetOrganisationAsync(new GetOrganisationRequest { OrganisationId = "sneaky" }).ResponseAsync);
    }

    [Fact]
    public async Task A_write_whose_transaction_fails_leaves_no_event_in_the_outbox_and_its_retry_sends_one()
    {
        await _host.Organisations().RegisterOrganisationAsync(Register("central-bank", OrganisationKind.Regulator));
        await _host.WaitForOutboxAsync();

        // The event is in the outbox when a later step of the same transaction fails: it rolls back
        // with the organisation and the request id's claim, so the relay has nothing to publish.
        var request = Register("retried", OrganisationKind.Platform);
        var registry = _host.Services.GetRequiredService<Application.OrganisationRegistry>();
        var operatorCaller = new Caller("operator", OrganisationKinds.Operator, null);
        await Assert.ThrowsAsync<InvalidOperationException>(() => IdempotentRequests.ExecuteAsync<RegisterOrganisationRequest, RegisterOrganisationResponse>(
            _host.Database, operatorCaller.OrganisationId, request.RequestId, request, _host.Time.GetUtcNow().ToUnixTimeMilliseconds(),
            async session =>
            {
                await registry.RegisterAsync(session, operatorCaller, "retried", OrganisationKinds.Platform, request.Name, request.Jurisdiction, []);
                Assert.Equal(2, await session.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM outbox_message"));
                throw new InvalidOperationException("A later step of the same transaction failed.");
            },
            CancellationToken.None));
        Assert.Equal(1, await _host.ScalarAsync("SELECT COUNT(*) FROM outbox_message"));

        // The caller retries with the same request id: one event, sent by the relay on the in-memory bus.
        await _host.Organisations().RegisterOrganisationAsync(request);
        await _host.WaitForOutboxAsync();
        Assert.Equal(2, await _host.ScalarAsync("SELECT COUNT(*) FROM outbox_message WHERE sent_at_ms IS NOT NULL"));
        Assert.Equal(2, await _host.ScalarAsync("SELECT COUNT(*) FROM outbox_message"));
    }

    [Fact]
    public async Task Bad_input_names_its_fields()
    {
        var bad = new RegisterOrganisationRequest { Affiliations = { "Not An Id", "ghost", "ghost" } };
        var fields = await InvalidFields(() => _host.Organisations().RegisterOrganisationAsync(bad).ResponseAsync);
        Assert.Superset(new HashSet<string> { "request_id", "organisation_id", "kind", "name", "jurisdiction", "affiliations[0]", "affiliations[2]" }, fields.ToHashSet());

        var unknownAffiliate = await InvalidFields(() => _host.Organisations().RegisterOrganisationAsync(Register("lonely", affiliations: "nobody")).ResponseAsync);
        Assert.Equal(["affiliations[0]"], unknownAffiliate);
        await RpcFails(StatusCode.NotFound, () => _host.Organisations().GetOrganisationAsync(new GetOrganisationRequest { OrganisationId = "nobody" }).ResponseAsync);
    }

    [Fact]
    public async Task A_retried_registration_answers_as_the_first()
    {
        var first = await _host.Organisations().RegisterOrganisationAsync(Register("dashfood"));
        Assert.Equal(first, await _host.Organisations().RegisterOrganisationAsync(Register("dashfood")));
        var changed = Register("dashfood");
        changed.Name = "Another name";
        await RpcFails(StatusCode.AlreadyExists, () => _host.Organisations().RegisterOrganisationAsync(changed).ResponseAsync);
    }

    [Fact]
    public async Task The_registry_lists_by_id_and_kind_in_pages()
    {
        foreach (var id in new[] { "c-platform", "a-platform", "b-institution" })
        {
            await _host.Organisations().RegisterOrganisationAsync(Register(id, id.EndsWith("institution", StringComparison.Ordinal) ? OrganisationKind.Institution : OrganisationKind.Platform));
        }

        var first = await _host.Organisations().ListOrganisationsAsync(new ListOrganisationsRequest { PageSize = 2 });
        var rest = await _host.Organisations().ListOrganisationsAsync(new ListOrganisationsRequest { PageSize = 2, PageToken = first.NextPageToken });
        Assert.Equal(["a-platform", "b-institution", "c-platform"], first.Organisations.Concat(rest.Organisations).Select(o => o.Id));
        var platforms = await _host.Organisations().ListOrganisationsAsync(new ListOrganisationsRequest { Kind = OrganisationKind.Platform });
        Assert.Equal(["a-platform", "c-platform"], platforms.Organisations.Select(o => o.Id));
    }

    [Fact]
    public void Affiliation_rules_are_plain_code()
    {
        var violations = new FieldViolations();
        OrganisationRules.ValidateDetails("shopwave", "ShopWave", "CN", ["shopwave", "paylink", "paylink"], violations);
        Assert.Equal(["affiliations[0]", "affiliations[2]"], violations.Items.Select(v => v.Field));
    }

    private static async Task<RpcException> RpcFails(StatusCode code, Func<Task> call)
    {
        var exception = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(code, exception.StatusCode);
        return exception;
    }

    private static async Task<List<string>> InvalidFields(Func<Task> call)
    {
        var exception = await RpcFails(StatusCode.InvalidArgument, call);
        return exception.GetRpcStatus()!.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).ToList();
    }
}
