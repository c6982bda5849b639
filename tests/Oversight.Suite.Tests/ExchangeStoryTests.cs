using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Consent;
using Oversight.Exchange;
using Oversight.Exchange.Infrastructure;
using Oversight.Governance;
using Oversight.Testing;
using A = Oversight.Audit.V1;
using C = Oversight.Consent.V1;
using E = Oversight.Exchange.V1;
using G = Oversight.Governance.V1;

namespace Oversight.Suite.Tests;

/// <summary>
/// The whole story on the embedded default's arrangement — the three modules in one process on one
/// bus, each on its own port with its own SQLite file — driven only through their RPCs: the venture
/// is founded, its shareholders form an alliance the regulator approves, a platform's subjects
/// consent, its records are uploaded, and the bureau requests and fetches; then a revoke, an erasure,
/// a suspension and a freeze each take effect, and every log verifies.
/// </summary>
public sealed class ExchangeStoryTests : IAsyncLifetime
{
    private const int ConsentPort = 5101;
    private const int GovernancePort = 5102;
    private const int ExchangePort = 5103;
    private const string Bureau = "state-credit-bureau";
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oversight-suite", Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private WebApplication _app = null!;
    private readonly Dictionary<int, GrpcChannel> _channels = [];

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Oversight:Outbox:PollInterval"] = "00:00:00.200",
            ["Oversight:AllowDevelopmentKeys"] = "true",
            ["Oversight:Governance:TallyInterval"] = "01:00:00",
            ["Oversight:Consent:Port"] = $"{ConsentPort}",
            ["Oversight:Governance:Port"] = $"{GovernancePort}",
            ["Oversight:Exchange:Port"] = $"{ExchangePort}",
            ["Oversight:Exchange:Consent:Address"] = $"http://localhost:{ConsentPort}",
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton<TimeProvider>(_time);
        builder.AddOversightDefaults();
        builder.AddConsentModule(_data);
        builder.AddGovernanceModule(_data);
        builder.AddExchangeModule(_data);
        // Exchange's calls to Consent go through the test server, as the embedded default's go to 127.0.0.1:5101.
        builder.Services.AddSingleton(provider => new ConsentConnection(
            provider.GetRequiredService<IOptions<ExchangeOptions>>(), provider.GetRequiredService<AuthOptions>(),
            ((TestServer)provider.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()).CreateHandler()));
        builder.Services.AddOversightBus(builder.Configuration);
        _app = builder.Build();
        _app.MapOversightDefaults();
        _app.MapConsentModule(ConsentPort);
        _app.MapGovernanceModule(GovernancePort);
        _app.MapExchangeModule(ExchangePort);
        await _app.StartAsync();
        foreach (var port in new[] { ConsentPort, GovernancePort, ExchangePort })
        {
            _channels[port] = GrpcChannel.ForAddress($"http://localhost:{port}", new GrpcChannelOptions { HttpHandler = _app.GetTestServer().CreateHandler() });
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }

    private CallInvoker As(int port, string organisation, string kind)
    {
        // Tokens are checked against the wall clock, not the test's clock.
        var token = new TokenIssuer(_app.Services.GetRequiredService<AuthOptions>(), TimeProvider.System).Mint(organisation, kind);
        return _channels[port].Intercept(metadata =>
        {
            metadata.Add("Authorization", $"Bearer {token}");
            return metadata;
        });
    }

    private static string Id() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task From_founding_to_a_frozen_exchange_every_rule_holds_and_every_log_verifies()
    {
        var operatorGovernance = As(GovernancePort, "operator", "operator");
        var regulator = As(GovernancePort, "central-bank", "regulator");

        // The venture: its organisations and shareholders, through Governance.
        var organisations = new G.OrganisationService.OrganisationServiceClient(operatorGovernance);
        foreach (var (id, kind) in new[]
        {
            ("central-bank", G.OrganisationKind.Regulator), ("state-investor", G.OrganisationKind.StateInvestor), ("shopwave", G.OrganisationKind.Platform),
            ("paylink", G.OrganisationKind.Platform), (Bureau, G.OrganisationKind.Institution),
        })
        {
            await organisations.RegisterOrganisationAsync(new G.RegisterOrganisationRequest { RequestId = id, OrganisationId = id, Kind = kind, Name = id, Jurisdiction = "CN" });
        }

        await new G.ShareLedgerService.ShareLedgerServiceClient(operatorGovernance).FoundVentureAsync(new G.FoundVentureRequest
        {
            RequestId = "found",
            ShareClasses =
            {
                new G.ShareClass { Id = "ordinary", Kind = G.ShareClassKind.Ordinary, VotesPerShare = 1, Authorised = 10_000, Transferable = true },
                new G.ShareClass { Id = "management", Kind = G.ShareClassKind.Management, VotesPerShare = 0, Authorised = 1 },
            },
            Allocations =
            {
                new G.Allocation { HolderId = "shopwave", ClassId = "ordinary", Quantity = 4_000 },
                new G.Allocation { HolderId = "paylink", ClassId = "ordinary", Quantity = 3_000 },
                new G.Allocation { HolderId = "state-investor", ClassId = "ordinary", Quantity = 3_000 },
                new G.Allocation { HolderId = "state-investor", ClassId = "management", Quantity = 1 },
            },
        });
        _time.Advance(TimeSpan.FromSeconds(1));

        // The alliance: a special proposal, the shareholders' votes, the tally, the regulator's approval.
        var now = _time.GetUtcNow();
        var proposal = (await new G.ProposalService.ProposalServiceClient(As(GovernancePort, "shopwave", "platform")).CreateProposalAsync(new G.CreateProposalRequest
        {
            RequestId = Id(), Category = G.ProposalCategory.Special, Title = "An alliance with the credit bureau",
            OpenTime = Timestamp.FromDateTimeOffset(now.AddDays(7)), CloseTime = Timestamp.FromDateTimeOffset(now.AddDays(9)),
            Action = new G.ProposalAction
            {
                FormAlliance = new G.FormAlliance
                {
                    InstitutionId = Bureau,
                    Scope = new G.AllianceScope
                    {
                        Purposes = { "credit_assessment" }, DataCategories = { "user.financial" }, Fields = { "amount", "merchant" }, IdentifiedData = false,
                        MaxRetention = Duration.FromTimeSpan(TimeSpan.FromDays(30)),
                        ValidFrom = Timestamp.FromDateTimeOffset(now), ValidUntil = Timestamp.FromDateTimeOffset(now.AddDays(365)),
                    },
                },
            },
        })).Proposal;
        _time.Advance(TimeSpan.FromDays(7));
        foreach (var (holder, kind) in new[] { ("shopwave", "platform"), ("paylink", "platform"), ("state-investor", "state_investor") })
        {
            await new G.ProposalService.ProposalServiceClient(As(GovernancePort, holder, kind)).CastBallotAsync(
                new G.CastBallotRequest { RequestId = Id(), ProposalId = proposal.Id, Choice = G.VoteChoice.For });
        }

        _time.Advance(TimeSpan.FromDays(2));
        await _app.Services.GetRequiredService<Governance.Application.ProposalTallier>().TallyDueAsync(CancellationToken.None);
        var passed = (await new G.ProposalService.ProposalServiceClient(operatorGovernance).GetProposalAsync(new G.GetProposalRequest { ProposalId = proposal.Id })).Proposal;
        Assert.Equal(G.ProposalState.Passed, passed.State);
        var alliances = new G.AllianceService.AllianceServiceClient(regulator);
        await alliances.ApproveAllianceAsync(new G.ApproveAllianceRequest { RequestId = Id(), AllianceId = passed.AllianceId });

        // ShopWave's dataset and records; eight of its ten subjects consent.
        var catalog = new E.CatalogService.CatalogServiceClient(As(ExchangePort, "shopwave", "platform"));
        var dataset = (await catalog.PublishDatasetAsync(new E.PublishDatasetRequest
        {
            RequestId = Id(), Name = "Card transactions", DataCategory = "user.financial.transactions",
            Fields =
            {
                new E.DatasetField { Name = "amount", Type = E.FieldType.Decimal, Sensitivity = E.FieldSensitivity.Sensitive, Required = true },
                new E.DatasetField { Name = "merchant", Type = E.FieldType.String, Sensitivity = E.FieldSensitivity.Ordinary },
                new E.DatasetField { Name = "card_last_four", Type = E.FieldType.String, Sensitivity = E.FieldSensitivity.Sensitive },
            },
        })).Dataset;
        using (var upload = new E.VaultService.VaultServiceClient(As(ExchangePort, "shopwave", "platform")).UploadRecords())
        {
            var records = Enumerable.Range(0, 20).Select(i => new E.VaultRecord
            {
                SubjectId = $"person-{i % 10}", RecordKey = $"payment-{i:D2}", OccurTime = Timestamp.FromDateTimeOffset(now),
                Fields = { ["amount"] = $"{i}.00", ["merchant"] = "Corner Shop", ["card_last_four"] = "4242" },
            });
            await upload.RequestStream.WriteAsync(new E.UploadRecordsRequest { UploadId = "u", DatasetId = dataset.Id, Records = { records } });
            await upload.RequestStream.CompleteAsync();
            Assert.Equal(20, (await upload.ResponseAsync).Upload.Accepted);
        }

        var consents = new C.ConsentService.ConsentServiceClient(As(ConsentPort, "shopwave", "platform"));
        var granted = new Dictionary<string, string>();
        // Consent learns of the bureau from Governance's event; until then a grant naming it is refused.
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                granted["person-0"] = (await consents.GrantConsentAsync(Grant("person-0"))).Consent.Id;
                return true;
            }
            catch (RpcException exception) when (exception.StatusCode == StatusCode.InvalidArgument)
            {
                return false;
            }
        }, "Consent knows the bureau");
        for (var s = 1; s < 8; s++)
        {
            granted[$"person-{s}"] = (await consents.GrantConsentAsync(Grant($"person-{s}"))).Consent.Id;
        }

        // The bureau asks: beyond the alliance's fields it is rejected with the reason; within them approved.
        var bureauRequests = new E.DataRequestService.DataRequestServiceClient(As(ExchangePort, Bureau, "institution"));
        await ExchangeKnowsAllianceAsync(bureauRequests, dataset.Id);
        var outside = (await bureauRequests.CreateDataRequestAsync(Ask(dataset.Id, "amount", "card_last_four"))).DataRequest;
        Assert.Equal(E.DataRequestState.Rejected, outside.State);
        Assert.Equal([(E.RejectionCode.FieldNotCovered, "card_last_four")], outside.Rejections.Select(r => (r.Code, r.Subject)));
        var request = (await bureauRequests.CreateDataRequestAsync(Ask(dataset.Id, "amount", "merchant"))).DataRequest;
        Assert.Equal(E.DataRequestState.Approved, request.State);
        Assert.Equal(passed.AllianceId, request.AllianceId);

        // Only consented subjects' records leave, pseudonymised, with only the fields asked for.
        var deliveries = new E.DeliveryService.DeliveryServiceClient(As(ExchangePort, Bureau, "institution"));
        var first = await FetchAsync(deliveries, request.Id);
        Assert.Equal(16, first.Records.Count);
        Assert.All(first.Records, r => Assert.Matches("^[0-9a-f]{64}$", r.Subject));
        Assert.All(first.Records, r => Assert.Equal(["amount", "merchant"], r.Fields.Keys.Order()));
        Assert.Equal(("DENY_REASON_NO_CONSENT", 4L), (Assert.Single(first.Summary.Withheld).Reason, first.Summary.Withheld[0].Records));

        // person-3 withdraws: the next fetch holds back person-3's two records.
        await consents.RevokeConsentAsync(new C.RevokeConsentRequest { RequestId = Id(), ConsentId = granted["person-3"], Reason = "withdrawn in the app" });
        var second = await FetchAsync(deliveries, request.Id);
        Assert.Equal(14, second.Records.Count);
        Assert.Contains(second.Summary.Withheld, w => w.Reason == "DENY_REASON_REVOKED" && w.Records == 2);
        var gone = first.Records.Select(r => r.Subject).Except(second.Records.Select(r => r.Subject)).Single();

        // person-5 asks ShopWave to erase their data: Exchange purges it and confirms to Consent.
        var subjects = new C.SubjectService.SubjectServiceClient(As(ConsentPort, "shopwave", "platform"));
        var erasure = (await subjects.RequestErasureAsync(new C.RequestErasureRequest { RequestId = Id(), SubjectId = "person-5" })).ErasureRequest;
        await Eventually.HoldsAsync(async () => (await subjects.GetErasureRequestAsync(new C.GetErasureRequestRequest { ErasureRequestId = erasure.Id }))
            .ErasureRequest is { State: C.ErasureState.Completed, ErasedRecordCount: 2 }, "Exchange confirmed the erasure of person-5's two records");
        var third = await FetchAsync(deliveries, request.Id);
        Assert.Equal(12, third.Records.Count);
        Assert.DoesNotContain(third.Records, r => r.Subject == gone);
        // person-1's disclosures are in their log (each delivery's DataDisclosed crosses the bus), each pointing at the audit entry that records it.
        await Eventually.HoldsAsync(async () => (await subjects.ListDisclosuresAsync(new C.ListDisclosuresRequest { SubjectId = "person-1" })).Disclosures.Count == 3,
            "the three deliveries' disclosures reached person-1's log");
        var disclosures = (await subjects.ListDisclosuresAsync(new C.ListDisclosuresRequest { SubjectId = "person-1" })).Disclosures;
        Assert.All(disclosures, d => Assert.True(d.HasAuditEntry));

        // The regulator suspends the alliance: the fetch is refused. Resumed, it works; then a freeze refuses it.
        await alliances.SuspendAllianceAsync(new G.SuspendAllianceRequest { RequestId = Id(), AllianceId = passed.AllianceId, Reason = "an inquiry" });
        await Eventually.HoldsAsync(async () => await FetchStatusAsync(deliveries, request.Id) == StatusCode.FailedPrecondition, "the suspension stops fetches");
        await alliances.ResumeAllianceAsync(new G.ResumeAllianceRequest { RequestId = Id(), AllianceId = passed.AllianceId, Reason = "closed" });
        await Eventually.HoldsAsync(async () => await FetchStatusAsync(deliveries, request.Id) == StatusCode.OK, "the resumed alliance lets data flow again");
        await new G.RegulatorOrderService.RegulatorOrderServiceClient(regulator).FreezeExchangeAsync(new G.FreezeExchangeRequest { RequestId = Id(), Reason = "market turmoil" });
        await Eventually.HoldsAsync(async () => await FetchStatusAsync(deliveries, request.Id) == StatusCode.FailedPrecondition, "the freeze stops fetches");

        // Every module's log recomputes from its stored bytes without a fault.
        foreach (var port in new[] { ConsentPort, GovernancePort, ExchangePort })
        {
            var verified = await new A.AuditLogService.AuditLogServiceClient(As(port, "central-bank", "regulator")).VerifyLogAsync(new A.VerifyLogRequest());
            Assert.True(verified.Problems.Count == 0, $"port {port}: {string.Join("; ", verified.Problems)}");
            Assert.True(verified.EntriesChecked > 0);
        }
    }

    private static E.CreateDataRequestRequest Ask(string datasetId, params string[] fields) => new()
    {
        RequestId = Id(), DatasetIds = { datasetId }, Purpose = "credit_assessment", Fields = { fields },
    };

    private sealed record Fetched(IReadOnlyList<E.DeliveredRecord> Records, E.DeliverySummary Summary);

    private static async Task<Fetched> FetchAsync(E.DeliveryService.DeliveryServiceClient deliveries, string requestId)
    {
        var records = new List<E.DeliveredRecord>();
        E.DeliverySummary? summary = null;
        using var call = deliveries.FetchDelivery(new E.FetchDeliveryRequest { DataRequestId = requestId, PageSize = 4 });
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            if (message.Page is { } page)
            {
                records.AddRange(page.Records);
            }

            summary = message.Summary ?? summary;
        }

        return new Fetched(records, summary!);
    }

    private static async Task<StatusCode> FetchStatusAsync(E.DeliveryService.DeliveryServiceClient deliveries, string requestId)
    {
        try
        {
            await FetchAsync(deliveries, requestId);
            return StatusCode.OK;
        }
        catch (RpcException exception)
        {
            return exception.StatusCode;
        }
    }

    /// <summary>The alliance's activation crosses the bus: wait until a request would be decided under it.</summary>
    private static Task ExchangeKnowsAllianceAsync(E.DataRequestService.DataRequestServiceClient requests, string datasetId) =>
        Eventually.HoldsAsync(async () =>
        {
            var probe = (await requests.CreateDataRequestAsync(new E.CreateDataRequestRequest
            {
                RequestId = Id(), DatasetIds = { datasetId }, Purpose = "credit_assessment", Fields = { "amount" },
            })).DataRequest;
            return probe.State == E.DataRequestState.Approved;
        }, "Exchange knows the approved alliance");

    private C.GrantConsentRequest Grant(string subject) => new()
    {
        RequestId = $"grant-{subject}",
        SubjectId = subject,
        Terms = new C.ConsentTerms
        {
            RecipientId = Bureau,
            Purpose = "credit_assessment",
            DataCategories = { "user.financial.transactions" },
            ValidUntil = Timestamp.FromDateTimeOffset(_time.GetUtcNow().AddDays(90)),
            Mode = C.ConsentMode.Store,
            DataLife = Duration.FromTimeSpan(TimeSpan.FromDays(7)),
            Evidence = new C.ConsentEvidence
            {
                CollectionMethod = C.CollectionMethod.App, NoticeId = "privacy-notice", NoticeVersion = "2026-10", NoticeContentSha256 = new string('a', 64),
                CollectTime = Timestamp.FromDateTimeOffset(_time.GetUtcNow().AddMinutes(-1)), Language = "zh-CN", Jurisdiction = "CN", SeparateConsent = true,
            },
        },
    };
}
