using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
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
using Oversight.Contracts;
using Oversight.Contracts.Governance;
using Oversight.Exchange.Infrastructure;
using Oversight.Exchange.V1;
using Oversight.Testing;

namespace Oversight.Exchange.Tests;

/// <summary>
/// The Exchange module beside the real Consent module, as the embedded default runs them: one test
/// server, each module on its own port (5103, 5101), a real SQLite file each, the in-memory bus (or
/// RabbitMQ when a test asks), a movable clock, and real gRPC over HTTP/2 — Exchange's own calls to
/// Consent included, carried by the test server instead of sockets.
/// </summary>
public sealed class ExchangeTestHost : IAsyncDisposable
{
    public const string Shopwave = "shopwave";
    public const string Paylink = "paylink";
    public const string CreditBureau = "state-credit-bureau";
    public const string HealthAgency = "public-health-agency";
    public const string Regulator = "central-bank";

    private const string ExchangeAddress = "http://localhost:5103";
    private const string ConsentAddress = "http://localhost:5101";
    private static readonly System.Net.IPAddress Loopback = System.Net.IPAddress.Loopback;
    private readonly WebApplication _app;
    private readonly GrpcChannel _exchange;
    private readonly GrpcChannel _consent;
    private readonly TokenIssuer _tokens;

    private readonly bool _ownsDirectory;

    private ExchangeTestHost(WebApplication app, string dataDirectory, bool ownsDirectory, FakeTimeProvider time, (int Consent, int Exchange)? sockets)
    {
        _app = app;
        _ownsDirectory = ownsDirectory;
        DataDirectory = dataDirectory;
        Time = time;
        if (sockets is { } ports)
        {
            // Real HTTP/2 over loopback sockets, with its flow control, as a remote client sees the host.
            _exchange = GrpcChannel.ForAddress($"http://127.0.0.1:{ports.Exchange}");
            _consent = GrpcChannel.ForAddress($"http://127.0.0.1:{ports.Consent}");
        }
        else
        {
            var handler = app.GetTestServer().CreateHandler();
            _exchange = GrpcChannel.ForAddress(ExchangeAddress, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = false });
            _consent = GrpcChannel.ForAddress(ConsentAddress, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = false });
        }

        _tokens = new TokenIssuer(app.Services.GetRequiredService<AuthOptions>(), TimeProvider.System);
    }

    public string DataDirectory { get; }

    public FakeTimeProvider Time { get; }

    public IServiceProvider Services => _app.Services;

    public ExchangeDatabase Database => Services.GetRequiredService<ExchangeDatabase>();

    /// <summary>Exchange's link to Consent, to break on demand.</summary>
    public ConsentLinkFaults ConsentLink => Services.GetRequiredService<ConsentLinkFaults>();

    /// <param name="dataDirectory">A folder an earlier host used (a restart), kept when this one is disposed; null for a fresh one.</param>
    /// <param name="services">Registers more before the bus is built (probes, observers).</param>
    /// <param name="sockets">Serve on real Kestrel ports on 127.0.0.1 instead of the in-memory test server.</param>
    public static async Task<ExchangeTestHost> StartAsync(
        Action<IDictionary<string, string?>>? configure = null, string? dataDirectory = null, Action<IServiceCollection>? services = null, bool sockets = false)
    {
        (int Consent, int Exchange)? ports = sockets ? (FreePort(), FreePort()) : null;
        var ownsDirectory = dataDirectory is null;
        dataDirectory ??= NewDataDirectory();
        Directory.CreateDirectory(dataDirectory);
        var settings = new Dictionary<string, string?>
        {
            ["Oversight:Consent:ExpirySweepInterval"] = "01:00:00",
            ["Oversight:Outbox:PollInterval"] = "00:00:00.200",
            ["Oversight:AllowDevelopmentKeys"] = "true",
            ["Oversight:Consent:Port"] = $"{ports?.Consent ?? 5101}",
            ["Oversight:Exchange:Port"] = $"{ports?.Exchange ?? 5103}",
            ["Oversight:Exchange:Consent:Address"] = ports is { } bound ? $"http://127.0.0.1:{bound.Consent}" : ConsentAddress,
        };
        var seeds = new (string Id, string Kind)[]
        {
            (Shopwave, "platform"), (Paylink, "platform"), (CreditBureau, "institution"), (HealthAgency, "institution"), (Regulator, "regulator"),
        };
        for (var i = 0; i < seeds.Length; i++)
        {
            settings[$"Oversight:Consent:SeedOrganisations:{i}:Id"] = seeds[i].Id;
            settings[$"Oversight:Consent:SeedOrganisations:{i}:Kind"] = seeds[i].Kind;
            settings[$"Oversight:Consent:SeedOrganisations:{i}:Name"] = seeds[i].Id;
            settings[$"Oversight:Consent:SeedOrganisations:{i}:Jurisdiction"] = "CN";
        }

        configure?.Invoke(settings);

        var builder = WebApplication.CreateBuilder();
        if (ports is { } listen)
        {
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(Loopback, listen.Consent, endpoint => endpoint.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
                kestrel.Listen(Loopback, listen.Exchange, endpoint => endpoint.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
            });
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.AddOversightDefaults();
        builder.AddConsentModule(dataDirectory);
        builder.AddExchangeModule(dataDirectory);
        // Exchange's calls to Consent go through the test server, as the embedded default's go through 127.0.0.1:5101.
        builder.Services.AddSingleton(provider => new ConsentLinkFaults(
            provider.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>() is TestServer server
                ? server.CreateHandler()
                : new SocketsHttpHandler { EnableMultipleHttp2Connections = true }));
        builder.Services.AddSingleton(provider => new ConsentConnection(
            provider.GetRequiredService<IOptions<ExchangeOptions>>(), provider.GetRequiredService<AuthOptions>(), provider.GetRequiredService<ConsentLinkFaults>()));
        services?.Invoke(builder.Services);
        builder.Services.AddOversightBus(builder.Configuration);

        var app = builder.Build();
        app.MapOversightDefaults();
        app.MapConsentModule(ports?.Consent ?? 5101);
        app.MapExchangeModule(ports?.Exchange ?? 5103);
        await app.StartAsync();
        return new ExchangeTestHost(app, dataDirectory, ownsDirectory, time, ports);
    }

    private static int FreePort() => RealInfrastructure.FreePort();

    public static string NewDataDirectory() => Path.Combine(Path.GetTempPath(), "oversight-tests", Guid.NewGuid().ToString("N"));

    public CallInvoker Invoker(string organisationId, string kind, string? service = null) => Invoke(_exchange, organisationId, kind, service);

    public CallInvoker Anonymous => _exchange.CreateCallInvoker();

    public CatalogService.CatalogServiceClient Catalog(string organisationId = Shopwave, string kind = "platform") => new(Invoker(organisationId, kind));

    public VaultService.VaultServiceClient Vault(string organisationId = Shopwave, string kind = "platform") => new(Invoker(organisationId, kind));

    public DeliveryService.DeliveryServiceClient Deliveries(string organisationId = CreditBureau, string kind = "institution") => new(Invoker(organisationId, kind));

    public Consent.V1.SubjectService.SubjectServiceClient Subjects(string organisationId = Shopwave, string kind = "platform") =>
        new(Invoke(_consent, organisationId, kind, null));

    public DataRequestService.DataRequestServiceClient Requests(string organisationId = CreditBureau, string kind = "institution") => new(Invoker(organisationId, kind));

    public Audit.V1.AuditLogService.AuditLogServiceClient Audit(string organisationId = Regulator, string kind = "regulator") => new(Invoker(organisationId, kind));

    public Consent.V1.ConsentService.ConsentServiceClient Consent(string organisationId = Shopwave, string kind = "platform") =>
        new(Invoke(_consent, organisationId, kind, null));

    /// <summary>The refused calls on Exchange's audit log, oldest first, as the regulator reads them.</summary>
    public async Task<IReadOnlyList<Audit.V1.AuditEntry>> DenialsAsync() =>
        (await Audit().ListEntriesAsync(new Audit.V1.ListEntriesRequest { Action = "access.denied", PageSize = 100 })).Entries;

    public Task PublishAsync<T>(T message) where T : class => Services.GetRequiredService<IBus>().Publish(message);

    private long _governanceVersion;

    /// <summary>
    /// Announces an ACTIVE alliance as Governance does (its event over the bus) and waits until Exchange
    /// knows it. Defaults: credit assessment of financial data, the transactions dataset's fields, 30 days.
    /// </summary>
    public async Task<string> ActivateAllianceAsync(
        string institutionId = CreditBureau, string[]? purposes = null, string[]? categories = null, string[]? fields = null, bool identified = false,
        TimeSpan? maxRetention = null, string? allianceId = null)
    {
        allianceId ??= Guid.NewGuid().ToString("D");
        var now = Time.GetUtcNow();
        await PublishAsync(Stamp(new AllianceActivated
        {
            AllianceId = allianceId,
            InstitutionId = institutionId,
            Scope = new AllianceScopeTerms
            {
                Purposes = purposes ?? ["credit_assessment"],
                DataCategories = categories ?? ["user.financial"],
                Fields = fields ?? ["amount", "merchant", "paid_on"],
                IdentifiedData = identified,
                MaxRetentionSeconds = (long)(maxRetention ?? TimeSpan.FromDays(30)).TotalSeconds,
                ValidFrom = now.AddDays(-1),
                ValidUntil = now.AddDays(365),
            },
        }));
        await EventuallyAsync(async () => await AllianceStandingAsync(allianceId) == 1, $"Exchange knows alliance {allianceId} as active");
        return allianceId;
    }

    /// <summary>Announces a suspension as Governance does and waits until Exchange knows it.</summary>
    public async Task SuspendAllianceAsync(string allianceId, string institutionId = CreditBureau)
    {
        await PublishAsync(Stamp(new AllianceSuspended { AllianceId = allianceId, InstitutionId = institutionId, Reason = "regulator's order" }));
        await EventuallyAsync(async () => await AllianceStandingAsync(allianceId) == 2, $"Exchange knows alliance {allianceId} as suspended");
    }

    /// <summary>Announces a freeze (or its end) as Governance does and waits until Exchange knows it.</summary>
    public async Task SetFrozenAsync(bool frozen)
    {
        if (frozen)
        {
            await PublishAsync(Stamp(new ExchangeFrozen { OrderId = Guid.NewGuid().ToString("D"), Reason = "market turmoil", FrozenAt = Time.GetUtcNow() }));
        }
        else
        {
            await PublishAsync(Stamp(new ExchangeUnfrozen { OrderId = Guid.NewGuid().ToString("D"), UnfrozenAt = Time.GetUtcNow() }));
        }

        await EventuallyAsync(async () => await ScalarAsync<long>("SELECT frozen FROM exchange_standing") == (frozen ? 1 : 0), frozen ? "the freeze is known" : "the unfreeze is known");
    }

    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        return (await Dapper.SqlMapper.ExecuteScalarAsync<T>(connection, sql, parameters))!;
    }

    private Task<long> AllianceStandingAsync(string allianceId) =>
        ScalarAsync<long>("SELECT COALESCE(MAX(standing), 0) FROM known_alliance WHERE id = @Id", new { Id = allianceId });

    private T Stamp<T>(T message) where T : IntegrationEvent =>
        message with { EventId = Guid.NewGuid(), OccurredAt = Time.GetUtcNow(), Producer = Producers.Governance, Version = Interlocked.Increment(ref _governanceVersion) };

    public static Task EventuallyAsync(Func<Task<bool>> condition, string what, int timeoutMs = 15000) =>
        Eventually.HoldsAsync(condition, what, timeoutMs);

    private CallInvoker Invoke(GrpcChannel channel, string organisationId, string kind, string? service)
    {
        var token = _tokens.Mint(organisationId, kind, service);
        return channel.Intercept(metadata =>
        {
            metadata.Add("Authorization", $"Bearer {token}");
            return metadata;
        });
    }

    public async ValueTask DisposeAsync()
    {
        _exchange.Dispose();
        _consent.Dispose();
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
            // A file still held open; the temporary folder is cleaned by the OS in the end.
        }
    }
}
