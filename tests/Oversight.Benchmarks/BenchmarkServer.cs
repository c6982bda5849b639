using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Data.Sqlite;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Benchmarks.V1;
using Oversight.Consent;
using Oversight.Consent.Application;
using Oversight.Exchange;

namespace Oversight.Benchmarks;

/// <summary>
/// The Consent module as the host runs it on the embedded default — real Kestrel on loopback,
/// HTTP/2 cleartext only, SQLite in a fresh data folder, in-memory bus — plus the no-op
/// <see cref="PingService"/> that the baseline calls.
/// </summary>
public sealed class BenchmarkServer : IAsyncDisposable
{
    public const string Platform = "shopwave";
    public const string Institution = "state-credit-bureau";

    private readonly WebApplication _app;

    private BenchmarkServer(WebApplication app, string dataDirectory, Uri address, Uri? exchangeAddress = null)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Address = address;
        ExchangeAddress = exchangeAddress;
    }

    public string DataDirectory { get; }

    /// <summary>Consent's address (and the baselines', when Exchange is not hosted).</summary>
    public Uri Address { get; }

    /// <summary>With Exchange hosted: its address, where the baselines are too.</summary>
    public Uri? ExchangeAddress { get; }

    public TokenIssuer Tokens => _app.Services.GetRequiredService<TokenIssuer>();

    /// <summary>The host's services, for what a scenario does in process (the audit log, its database).</summary>
    public IServiceProvider Services => _app.Services;

    /// <param name="extraSettings">Configuration on top of the defaults (the audit suite sets its checkpoint interval).</param>
    /// <param name="withExchange">Host Exchange too, each module on a loopback port of its own as the embedded default runs them.</param>
    public static async Task<BenchmarkServer> StartAsync(IReadOnlyDictionary<string, string?>? extraSettings = null, bool withExchange = false)
    {
        var ports = withExchange ? (Consent: FreePort(), Exchange: FreePort()) : (Consent: 0, Exchange: 0);
        var dataDirectory = Path.Combine(Path.GetTempPath(), "oversight-benchmark", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        var settings = new Dictionary<string, string?> { ["Oversight:AllowDevelopmentKeys"] = "true" };
        (string Id, string Kind)[] seeds = [(Platform, "platform"), (Institution, "institution")];
        for (var i = 0; i < seeds.Length; i++)
        {
            settings[$"Oversight:Consent:SeedOrganisations:{i}:Id"] = seeds[i].Id;
            settings[$"Oversight:Consent:SeedOrganisations:{i}:Kind"] = seeds[i].Kind;
            settings[$"Oversight:Consent:SeedOrganisations:{i}:Name"] = seeds[i].Id;
            settings[$"Oversight:Consent:SeedOrganisations:{i}:Jurisdiction"] = "CN";
        }

        if (withExchange)
        {
            settings["Oversight:Consent:Port"] = $"{ports.Consent}";
            settings["Oversight:Exchange:Port"] = $"{ports.Exchange}";
            settings["Oversight:Exchange:Consent:Address"] = $"http://127.0.0.1:{ports.Consent}";
        }

        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        // Port 0: the OS picks a free one. Http2 only, as the host's gRPC ports (h2c, prior knowledge).
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, ports.Consent, endpoint => endpoint.Protocols = HttpProtocols.Http2);
            if (withExchange)
            {
                kestrel.Listen(IPAddress.Loopback, ports.Exchange, endpoint => endpoint.Protocols = HttpProtocols.Http2);
            }
        });
        builder.AddOversightDefaults();
        // After the defaults, which add the console logger: a log line per request would be measured too.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddConsentModule(dataDirectory);
        builder.Services.AddSingleton<SwitchableConsentAudit>();
        builder.Services.AddSingleton<ConsentAudit>(services => services.GetRequiredService<SwitchableConsentAudit>());
        if (withExchange)
        {
            builder.AddExchangeModule(dataDirectory);
        }

        builder.Services.AddOversightBus(builder.Configuration);

        var app = builder.Build();
        app.MapOversightDefaults();
        // No AllowAnonymous: the baselines pass the same JWT fallback policy and interceptors as the real RPCs.
        if (withExchange)
        {
            app.MapConsentModule(ports.Consent);
            app.MapExchangeModule(ports.Exchange);
            app.MapGrpcService<PingService>().OnPort(ports.Exchange);
            await app.StartAsync();
            return new BenchmarkServer(app, dataDirectory, new Uri($"http://127.0.0.1:{ports.Consent}"), new Uri($"http://127.0.0.1:{ports.Exchange}"));
        }

        app.MapConsentModule();
        app.MapGrpcService<PingService>();
        await app.StartAsync();

        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new BenchmarkServer(app, dataDirectory, new Uri(bound));
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; the numbers are already printed.
        }
    }
}

/// <summary>The baselines: RPCs that do nothing but travel.</summary>
public sealed class PingService : BenchmarkService.BenchmarkServiceBase
{
    private static readonly Task<PingResponse> Pong = Task.FromResult(new PingResponse());

    public override Task<PingResponse> Ping(PingRequest request, ServerCallContext context) => Pong;

    public override async Task<NoopUploadResponse> NoopUpload(IAsyncStreamReader<Oversight.Exchange.V1.UploadRecordsRequest> requestStream, ServerCallContext context)
    {
        var records = 0L;
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            records += requestStream.Current.Records.Count;
        }

        return new NoopUploadResponse { Records = records };
    }

    public override async Task NoopDelivery(NoopDeliveryRequest request, IServerStreamWriter<Oversight.Exchange.V1.FetchDeliveryResponse> responseStream, ServerCallContext context)
    {
        var message = new Oversight.Exchange.V1.FetchDeliveryResponse { Page = request.Page };
        for (var page = 0; page < request.Pages; page++)
        {
            await responseStream.WriteAsync(message, context.CancellationToken);
        }
    }
}
