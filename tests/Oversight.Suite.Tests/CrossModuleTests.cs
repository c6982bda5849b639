using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Consent;
using Oversight.Consent.V1;
using Oversight.Governance;
using Oversight.Governance.V1;

namespace Oversight.Suite.Tests;

/// <summary>Consent and Governance in one process on one bus, as the embedded default runs them.</summary>
public sealed class CrossModuleTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oversight-suite", Guid.NewGuid().ToString("N"));
    private WebApplication _app = null!;
    private GrpcChannel _channel = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Oversight:Outbox:PollInterval"] = "00:00:00.200", ["Oversight:AllowDevelopmentKeys"] = "true" });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddOversightDefaults();
        builder.AddConsentModule(_data);
        builder.AddGovernanceModule(_data);
        builder.Services.AddOversightBus(builder.Configuration);
        _app = builder.Build();
        _app.MapOversightDefaults();
        _app.MapConsentModule();
        _app.MapGovernanceModule();
        await _app.StartAsync();
        _channel = GrpcChannel.ForAddress(_app.GetTestServer().BaseAddress, new GrpcChannelOptions { HttpHandler = _app.GetTestServer().CreateHandler() });
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }

    private CallInvoker As(string organisation, string kind)
    {
        var token = _app.Services.GetRequiredService<TokenIssuer>().Mint(organisation, kind);
        return _channel.Intercept(metadata =>
        {
            metadata.Add("Authorization", $"Bearer {token}");
            return metadata;
        });
    }

    [Fact]
    public async Task Organisations_registered_in_governance_become_known_to_consent()
    {
        var registry = new OrganisationService.OrganisationServiceClient(As("operator", "operator"));
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
        await new OrganisationService.OrganisationServiceClient(As("operator", "operator")).RegisterOrganisationAsync(new RegisterOrganisationRequest
        {
            RequestId = "1", OrganisationId = "aml-unit", Kind = OrganisationKind.Institution, Name = "Financial Intelligence Unit", Jurisdiction = "CN",
        });
        var orders = new RegulatorOrderService.RegulatorOrderServiceClient(As("central-bank", "regulator"));
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
}
