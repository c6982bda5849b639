using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Oversight.Audit.V1;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Consent;
using Oversight.Consent.V1;
using Oversight.Governance;
using Oversight.Governance.V1;
using Oversight.Testing;

namespace Oversight.Suite.Tests;

/// <summary>Consent and Governance in one process on one bus, as the embedded default runs them.</summary>
public sealed class CrossModuleTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oversight-suite", Guid.NewGuid().ToString("N"));
    private WebApplication _app = null!;
    private GrpcChannel _channel = null!;
    private GrpcChannel _governanceChannel = null!;

    // Each module on a port of its own, as the host runs them (both serve the audit log); the test
    // server routes by the Host header, so no port is listened on.
    private const int ConsentPort = 5101;
    private const int GovernancePort = 5102;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Oversight:Outbox:PollInterval"] = "00:00:00.200",
            ["Oversight:AllowDevelopmentKeys"] = "true",
            ["Oversight:Consent:Port"] = $"{ConsentPort}",
            ["Oversight:Governance:Port"] = $"{GovernancePort}",
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddOversightDefaults();
        builder.AddConsentModule(_data);
        builder.AddGovernanceModule(_data);
        builder.Services.AddOversightBus(builder.Configuration);
        _app = builder.Build();
        _app.MapOversightDefaults();
        _app.MapConsentModule(ConsentPort);
        _app.MapGovernanceModule(GovernancePort);
        await _app.StartAsync();
        _channel = GrpcChannel.ForAddress($"http://localhost:{ConsentPort}", new GrpcChannelOptions { HttpHandler = _app.GetTestServer().CreateHandler() });
        _governanceChannel = GrpcChannel.ForAddress($"http://localhost:{GovernancePort}", new GrpcChannelOptions { HttpHandler = _app.GetTestServer().CreateHandler() });
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        _governanceChannel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }

    private CallInvoker As(string organisation, string kind, bool governance = false)
    {
        var token = _app.Services.GetRequiredService<TokenIssuer>().Mint(organisation, kind);
        return (governance ? _governanceChannel : _channel).Intercept(metadata =>
        {
            metadata.Add("Authorization", $"Bearer {token}");
            return metadata;
        });
    }

    [Fact]
    public async Task Organisations_registered_in_governance_become_known_to_consent()
    {
        var registry = new OrganisationService.OrganisationServiceClient(As("operator", "operator", governance: true));
        await registry.RegisterOrganisationAsync(new RegisterOrganisationRequest
        {
            RequestId = "1", OrganisationId = "newshop", Kind = OrganisationKind.Platform, Name = "NewShop", Jurisdiction = "CN",
        });
        await registry.RegisterOrganisationAsync(new RegisterOrganisationRequest
        {
            RequestId = "2", OrganisationId = "new-bureau", Kind = OrganisationKind.Institution, Name = "New Bureau", Jurisdiction = "CN",
        });

        var consent = new ConsentService.ConsentServiceClient(As("newshop", "platform"));
        var grant = new GrantConsentRequest
        {
            SubjectId = "carol",
            Terms = new ConsentTerms
            {
                RecipientId = "new-bureau", Purpose = "credit_assessment", DataCategories = { "user.contact.phone" },
                ValidUntil = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(10)), Mode = ConsentMode.View,
                Evidence = new ConsentEvidence
                {
                    CollectionMethod = CollectionMethod.Web, NoticeId = "n", NoticeVersion = "1", NoticeContentSha256 = new string('b', 64),
                    CollectTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), Language = "zh-CN", Jurisdiction = "CN",
                },
            },
        };

        // The events cross the bus after the outbox relay picks them up; until then the grant is refused.
        var granted = await EventuallyAsync(async () =>
        {
            grant.RequestId = Guid.NewGuid().ToString();
            try
            {
                return await consent.GrantConsentAsync(grant);
            }
            catch (RpcException exception) when (exception.StatusCode is StatusCode.PermissionDenied or StatusCode.InvalidArgument)
            {
                return null;
            }
        });
        Assert.Equal(("newshop", "new-bureau"), (granted.Consent.ControllerId, granted.Consent.Terms.RecipientId));

        // A later rename reaches Consent too: the next receipt names the new name.
        await registry.UpdateOrganisationAsync(new UpdateOrganisationRequest
        {
            RequestId = "3", OrganisationId = "new-bureau", ExpectedVersion = 1, Name = "National Credit Bureau", Jurisdiction = "CN",
        });
        await EventuallyAsync(async () =>
        {
            grant.RequestId = Guid.NewGuid().ToString();
            var receipt = (await consent.GrantConsentAsync(grant)).ReceiptJws.Split('.')[1];
            var payload = System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(receipt));
            return payload.Contains("National Credit Bureau", StringComparison.Ordinal) ? payload : null;
        });
    }

    [Fact]
    public async Task Mandates_enacted_by_the_regulator_are_honoured_by_consent_checks_until_repealed()
    {
        await new OrganisationService.OrganisationServiceClient(As("operator", "operator", governance: true)).RegisterOrganisationAsync(new RegisterOrganisationRequest
        {
            RequestId = "1", OrganisationId = "aml-unit", Kind = OrganisationKind.Institution, Name = "Financial Intelligence Unit", Jurisdiction = "CN",
        });
        var orders = new RegulatorOrderService.RegulatorOrderServiceClient(As("central-bank", "regulator", governance: true));
        var mandate = (await orders.EnactStatutoryMandateAsync(new EnactStatutoryMandateRequest
        {
            RequestId = "m", LegalReference = "AML Law Art. 28", RecipientId = "aml-unit", Purposes = { "anti_money_laundering" }, DataCategories = { "user.financial" },
        })).Mandate;

        var checks = new ConsentService.ConsentServiceClient(As("aml-unit", "institution"));
        var check = new CheckConsentRequest
        {
            SubjectId = "dave", ControllerId = "paylink", RecipientId = "aml-unit", Purpose = "anti_money_laundering", DataCategory = "user.financial.transactions",
        };
        var allowed = await EventuallyAsync(async () => (await checks.CheckConsentAsync(check)).Decision is { Decision: Decision.Allow } d ? d : null);
        Assert.Equal((Consent.V1.LegalBasis.Statutory, mandate.Id), (allowed.LegalBasis, allowed.MandateId));

        await orders.RepealStatutoryMandateAsync(new RepealStatutoryMandateRequest { RequestId = "r", MandateId = mandate.Id, Reason = "sunset" });
        var denied = await EventuallyAsync(async () => (await checks.CheckConsentAsync(check)).Decision is { Decision: Decision.Deny } d ? d : null);
        Assert.Equal(DenyReason.NoConsent, denied.DenyReason);
    }

    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> attempt) where T : class
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (await attempt() is { } result)
            {
                return result;
            }

            await Task.Delay(100);
        }

        Assert.Fail("Timed out waiting for Governance's events to reach Consent.");
        return null!;
    }

    /// <summary>
    /// Witnessing across modules: Governance's signed checkpoint reaches Consent over the bus and is
    /// kept there; when whoever runs Governance's database later cuts its history short and drops its
    /// own checkpoints (so that nothing inside it disagrees), the checkpoint Consent holds catches it.
    /// </summary>
    [Fact]
    public async Task Each_module_keeps_the_others_checkpoints_and_a_history_cut_short_is_caught_by_them()
    {
        var registry = new OrganisationService.OrganisationServiceClient(As("operator", "operator", governance: true));
        for (var i = 0; i < 5; i++)
        {
            await registry.RegisterOrganisationAsync(new RegisterOrganisationRequest
            {
                RequestId = $"w{i}", OrganisationId = $"witnessed-{i}", Kind = OrganisationKind.Platform, Name = $"Witnessed {i}", Jurisdiction = "CN",
            });
        }

        var governanceLog = new AuditLogService.AuditLogServiceClient(As("central-bank", "regulator", governance: true));
        var signed = (await governanceLog.GetCheckpointAsync(new GetCheckpointRequest())).Checkpoint;
        Assert.Equal(("oversight/governance", 5L), (signed.Origin, signed.TreeSize));

        var consentLog = new AuditLogService.AuditLogServiceClient(As("central-bank", "regulator"));
        WitnessedCheckpoint? held = null;
        await Eventually.HoldsAsync(async () =>
        {
            var kept = await consentLog.ListWitnessedCheckpointsAsync(new ListWitnessedCheckpointsRequest { Origin = signed.Origin });
            held = kept.Checkpoints.FirstOrDefault(c => c.Checkpoint.TreeSize == signed.TreeSize);
            return held is not null;
        }, "Consent keeps Governance's checkpoint");
        Assert.Equal(signed.Note, held!.Checkpoint.Note);
        Assert.True(held.SignatureVerified); // Modules of one process know each other's keys.
        Assert.Empty((await governanceLog.VerifyLogAsync(new VerifyLogRequest { CheckpointNotes = { held.Checkpoint.Note } })).Problems);

        // The last two entries go, with the subtrees over them, the head and Governance's own checkpoints.
        var database = _app.Services.GetRequiredService<Oversight.Governance.Infrastructure.GovernanceDatabase>();
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            await Dapper.SqlMapper.ExecuteAsync(connection, """
                DELETE FROM audit_entry WHERE sequence >= 3;
                DELETE FROM audit_tree_node WHERE (node_index + 1) * (1 << level) > 3;
                UPDATE audit_log_head SET size = 3;
                DELETE FROM audit_checkpoint;
                """);
        }

        Assert.Empty((await governanceLog.VerifyLogAsync(new VerifyLogRequest())).Problems);
        var report = await governanceLog.VerifyLogAsync(new VerifyLogRequest { CheckpointNotes = { held.Checkpoint.Note } });
        Assert.Contains(report.Problems, p => p.Kind == ProblemKind.CheckpointInconsistent && p.Position == 5);
    }

    /// <summary>Both modules serve the audit log; a refusal there is on the log of the module whose port was called.</summary>
    [Fact]
    public async Task A_refused_audit_call_is_audited_by_the_module_whose_port_was_called()
    {
        var asPlatform = new AuditLogService.AuditLogServiceClient(As("shopwave", "platform", governance: true));
        var refused = await Assert.ThrowsAsync<RpcException>(() => asPlatform.VerifyLogAsync(new VerifyLogRequest()).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);

        var denied = new ListEntriesRequest { Action = "access.denied" };
        var governance = (await new AuditLogService.AuditLogServiceClient(As("central-bank", "regulator", governance: true)).ListEntriesAsync(denied)).Entries;
        Assert.Equal(("shopwave", "/oversight.audit.v1.AuditLogService/VerifyLog"), (Assert.Single(governance).ActorId, governance[0].Detail["method"]));
        Assert.Empty((await new AuditLogService.AuditLogServiceClient(As("central-bank", "regulator")).ListEntriesAsync(denied)).Entries);
    }
}
