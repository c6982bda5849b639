using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.V1;
using Oversight.Testing;

namespace Oversight.Consent.Tests;

/// <summary>
/// The Consent module on ASP.NET Core's test server with a real SQLite file in a fresh folder, the
/// in-memory bus (or RabbitMQ when a test asks), a movable clock, and real gRPC clients over HTTP/2.
/// </summary>
public sealed class ConsentTestHost : IAsyncDisposable
{
    public const string Shopwave = "shopwave";
    public const string Paylink = "paylink";
    public const string CreditBureau = "state-credit-bureau";
    public const string HealthAgency = "public-health-agency";
    public const string ForeignBank = "harbour-bank";
    public const string Regulator = "central-bank";

    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;
    private readonly TokenIssuer _tokens;

    private readonly bool _ownsDirectory;

    private ConsentTestHost(WebApplication app, string dataDirectory, bool ownsDirectory, FakeTimeProvider time)
    {
        _app = app;
        _ownsDirectory = ownsDirectory;
        DataDirectory = dataDirectory;
        Time = time;
        _channel = GrpcChannel.ForAddress(app.GetTestServer().BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = app.GetTestServer().CreateHandler(),
        });
        _tokens = new TokenIssuer(app.Services.GetRequiredService<AuthOptions>(), TimeProvider.System);
    }

    public string DataDirectory { get; }

    public FakeTimeProvider Time { get; }

    public IServiceProvider Services => _app.Services;

    public ConsentDatabase Database => Services.GetRequiredService<ConsentDatabase>();

    public static async Task<ConsentTestHost> StartAsync(
        Action<IDictionary<string, string?>>? configure = null, string? dataDirectory = null, Action<IServiceCollection>? services = null)
    {
        var ownsDirectory = dataDirectory is null;
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "oversight-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        var settings = new Dictionary<string, string?>
        {
            ["Oversight:Consent:ExpirySweepInterval"] = "01:00:00",
            ["Oversight:Outbox:PollInterval"] = "00:00:00.200",
            ["Oversight:AllowDevelopmentKeys"] = "true",
        };
        var seeds = new (string Id, string Kind, string Jurisdiction)[]
        {
            (Shopwave, "platform", "CN"), (Paylink, "platform", "CN"), (CreditBureau, "institution", "CN"),
            (HealthAgency, "institution", "CN"), (ForeignBank, "institution", "SG"), (Regulator, "regulator", "CN"),
        };
        for (var i = 0; i < seeds.Length; i++)
        {
            settings[$"Oversight:Consent:SeedOrganisations:{i}:Id"] = seeds[i].Id;
            settings[$"Oversight:Consent:SeedOrganisations:{i}:Kind"] = seeds[i].Kind;
            settings[$"Oversight:Consent:SeedOrganisations:{i}:Name"] = seeds[i].Id;
            settings[$"Oversight:Consent:SeedOrganisations:{i}:Jurisdiction"] = seeds[i].Jurisdiction;
        }

        configure?.Invoke(settings);

        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.AddOversightDefaults();
        builder.AddConsentModule(dataDirectory);
        services?.Invoke(builder.Services);
        builder.Services.AddOversightBus(builder.Configuration);

        var app = builder.Build();
        app.MapOversightDefaults();
        app.MapConsentModule();
        await app.StartAsync();
        return new ConsentTestHost(app, dataDirectory, ownsDirectory, time);
    }

    public string Token(string organisationId, string kind, string? service = null) => _tokens.Mint(organisationId, kind, service);

    public CallInvoker Invoker(string organisationId, string kind, string? service = null)
    {
        var token = Token(organisationId, kind, service);
        return _channel.Intercept(metadata =>
        {
            metadata.Add("Authorization", $"Bearer {token}");
            return metadata;
        });
    }

    public CallInvoker Anonymous => _channel.CreateCallInvoker();

    /// <summary>Plain HTTP to the test server (<c>/healthz</c>, <c>/alive</c>).</summary>
    public HttpClient Http() => _app.GetTestServer().CreateClient();

    public ConsentService.ConsentServiceClient Consent(string organisationId, string kind = "platform", string? service = null) =>
        new(Invoker(organisationId, kind, service));

    public ConsentService.ConsentServiceClient Regulator_ => Consent(Regulator, "regulator");

    public SubjectService.SubjectServiceClient Subjects(string organisationId, string kind = "platform") => new(Invoker(organisationId, kind));

    public ConsentRegistryService.ConsentRegistryServiceClient Registry(string organisationId = Shopwave, string kind = "platform") => new(Invoker(organisationId, kind));

    public Oversight.Audit.V1.AuditLogService.AuditLogServiceClient Audit(string organisationId = Regulator, string kind = "regulator") => new(Invoker(organisationId, kind));

    /// <summary>The refused calls on the module's audit log, oldest first, as the regulator reads them.</summary>
    public async Task<IReadOnlyList<Oversight.Audit.V1.AuditEntry>> DenialsAsync() =>
        (await Audit().ListEntriesAsync(new Oversight.Audit.V1.ListEntriesRequest { Action = "access.denied", PageSize = 100 })).Entries;

    public ConsentReceiptKeyService.ConsentReceiptKeyServiceClient ReceiptKeys(string organisationId = CreditBureau, string kind = "institution") => new(Invoker(organisationId, kind));

    public Task PublishAsync<T>(T message) where T : class => Services.GetRequiredService<IBus>().Publish(message);

    /// <summary>A grant a platform could send as it is: sensitive category with separate consent, 30 days, VIEW.</summary>
    public GrantConsentRequest NewGrant(string subjectId = "subject-1", string? requestId = null, string recipient = CreditBureau,
        string purpose = "credit_assessment", params string[] categories)
    {
        var now = Time.GetUtcNow();
        return new GrantConsentRequest
        {
            RequestId = requestId ?? Guid.NewGuid().ToString("N"),
            SubjectId = subjectId,
            Terms = new ConsentTerms
            {
                RecipientId = recipient,
                Purpose = purpose,
                DataCategories = { categories.Length == 0 ? ["user.financial.transactions"] : categories },
                ValidUntil = Timestamp.FromDateTimeOffset(now.AddDays(30)),
                Mode = ConsentMode.View,
                Evidence = new ConsentEvidence
                {
                    CollectionMethod = CollectionMethod.App,
                    NoticeId = "privacy-notice",
                    NoticeVersion = "2026-10",
                    NoticeContentSha256 = new string('a', 64),
                    CollectTime = Timestamp.FromDateTimeOffset(now.AddMinutes(-1)),
                    Language = "zh-CN",
                    Jurisdiction = "CN",
                    SeparateConsent = true,
                },
            },
        };
    }

    public async Task<Consent.V1.Consent> GrantAsync(string subjectId = "subject-1", string controller = Shopwave, params string[] categories)
    {
        var response = await Consent(controller).GrantConsentAsync(NewGrant(subjectId, categories: categories));
        return response.Consent;
    }

    public Task<CheckConsentResponse> CheckAsync(string subjectId, string category = "user.financial.transactions", string purpose = "credit_assessment",
        string controller = Shopwave, string recipient = CreditBureau, string token = "") =>
        Consent(recipient, "institution").CheckConsentAsync(new CheckConsentRequest
        {
            SubjectId = subjectId,
            ControllerId = controller,
            RecipientId = recipient,
            Purpose = purpose,
            DataCategory = category,
            ConsistencyToken = token,
        }).ResponseAsync;

    /// <summary>Polls until the condition holds (events cross the bus asynchronously).</summary>
    public static Task EventuallyAsync(Func<Task<bool>> condition, string what, int timeoutMs = 15000) =>
        Eventually.HoldsAsync(condition, what, timeoutMs);

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (!_ownsDirectory)
        {
            return;
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
