using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Consent;
using Oversight.Exchange;
using Oversight.Governance;

namespace Oversight.Suite.Tests;

/// <summary>
/// Consent, Governance and Exchange in one process on real Kestrel over HTTP/2 (h2c, each module on
/// its own loopback port), so HTTP/2's own limits apply to what the server sends — the test server
/// has none. Exchange calls Consent over gRPC on Consent's port, as in the embedded default. It
/// records every log entry at error level, so tests can tell what a caller made the server log.
/// </summary>
public sealed class HostileInputHost : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oversight-hostile", Guid.NewGuid().ToString("N"));
    private WebApplication _app = null!;

    /// <summary>Consent's port; every service but Governance's and Exchange's is called here (the audit log too: Consent's).</summary>
    public GrpcChannel Channel { get; private set; } = null!;

    /// <summary>Governance's port: each module answers on its own, as in the host, since each serves the audit log.</summary>
    public GrpcChannel GovernanceChannel { get; private set; } = null!;

    /// <summary>Exchange's port.</summary>
    public GrpcChannel ExchangeChannel { get; private set; } = null!;

    public IServiceProvider Services => _app.Services;

    public ConcurrentQueue<string> Errors { get; } = new();

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        var (consentPort, governancePort, exchangePort) = (HostProcessTests.FreePort(), HostProcessTests.FreePort(), HostProcessTests.FreePort());
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, consentPort, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Listen(IPAddress.Loopback, governancePort, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Listen(IPAddress.Loopback, exchangePort, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Oversight:Consent:Port"] = consentPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Oversight:Governance:Port"] = governancePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Oversight:Exchange:Port"] = exchangePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Exchange asks Consent (its registry, its checks) over gRPC, on Consent's own port.
            ["Oversight:Exchange:Consent:Address"] = $"http://127.0.0.1:{consentPort}",
            ["Oversight:Outbox:PollInterval"] = "00:00:00.200",
            ["Oversight:AllowDevelopmentKeys"] = "true",
            // Consent knows these before Governance announces any, so grants and checks pass its rules.
            ["Oversight:Consent:SeedOrganisations:0:Id"] = "shopwave",
            ["Oversight:Consent:SeedOrganisations:0:Kind"] = "platform",
            ["Oversight:Consent:SeedOrganisations:0:Name"] = "ShopWave",
            ["Oversight:Consent:SeedOrganisations:0:Jurisdiction"] = "CN",
            ["Oversight:Consent:SeedOrganisations:1:Id"] = "state-credit-bureau",
            ["Oversight:Consent:SeedOrganisations:1:Kind"] = "institution",
            ["Oversight:Consent:SeedOrganisations:1:Name"] = "State Credit Bureau",
            ["Oversight:Consent:SeedOrganisations:1:Jurisdiction"] = "CN",
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ErrorRecorder(Errors));
        builder.AddOversightDefaults();
        builder.AddConsentModule(_data);
        builder.AddGovernanceModule(_data);
        builder.AddExchangeModule(_data);
        builder.Services.AddOversightBus(builder.Configuration);
        _app = builder.Build();
        _app.MapOversightDefaults();
        _app.MapConsentModule(consentPort);
        _app.MapGovernanceModule(governancePort);
        _app.MapExchangeModule(exchangePort);
        await _app.StartAsync();
        var options = new GrpcChannelOptions { MaxReceiveMessageSize = 16 * 1024 * 1024 };
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{consentPort}", options);
        GovernanceChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{governancePort}", options);
        ExchangeChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{exchangePort}", options);
    }

    public CallInvoker As(string organisation, string kind)
    {
        var token = _app.Services.GetRequiredService<TokenIssuer>().Mint(organisation, kind);
        return new ModuleRouting(Channel.CreateCallInvoker(), GovernanceChannel.CreateCallInvoker(), ExchangeChannel.CreateCallInvoker()).Intercept(metadata =>
        {
            metadata.Add("Authorization", $"Bearer {token}");
            return metadata;
        });
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        GovernanceChannel.Dispose();
        ExchangeChannel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }

    private sealed class ErrorRecorder(ConcurrentQueue<string> errors) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Recorder(categoryName, errors);

        public void Dispose()
        {
        }

        private sealed class Recorder(string category, ConcurrentQueue<string> errors) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    errors.Enqueue($"{category}: {formatter(state, exception)} {exception?.GetType().Name}");
                }
            }
        }
    }
}

/// <summary>
/// Sends a call to the port of the module that serves it: Governance's services to Governance,
/// Exchange's to Exchange, the rest (the audit log too) to Consent.
/// </summary>
internal sealed class ModuleRouting(CallInvoker consent, CallInvoker governance, CallInvoker exchange) : CallInvoker
{
    private CallInvoker For<TRequest, TResponse>(Method<TRequest, TResponse> method) =>
        method.ServiceName.StartsWith("oversight.governance.", StringComparison.Ordinal) ? governance
        : method.ServiceName.StartsWith("oversight.exchange.", StringComparison.Ordinal) ? exchange
        : consent;

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        For(method).BlockingUnaryCall(method, host, options, request);

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        For(method).AsyncUnaryCall(method, host, options, request);

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        For(method).AsyncServerStreamingCall(method, host, options, request);

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        For(method).AsyncClientStreamingCall(method, host, options);

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        For(method).AsyncDuplexStreamingCall(method, host, options);
}
