using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Consent;
using Oversight.Governance;

namespace Oversight.Suite.Tests;

/// <summary>
/// Consent and Governance in one process on real Kestrel over HTTP/2 (h2c on a loopback port), so
/// HTTP/2's own limits apply to what the server sends — the test server has none. It records every
/// log entry at error level, so tests can tell what a caller made the server log.
/// </summary>
public sealed class HostileInputHost : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "oversight-hostile", Guid.NewGuid().ToString("N"));
    private WebApplication _app = null!;

    public GrpcChannel Channel { get; private set; } = null!;

    public IServiceProvider Services => _app.Services;

    public ConcurrentQueue<string> Errors { get; } = new();

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
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
        builder.Services.AddOversightBus(builder.Configuration);
        _app = builder.Build();
        _app.MapOversightDefaults();
        _app.MapConsentModule();
        _app.MapGovernanceModule();
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 16 * 1024 * 1024 });
    }

    public CallInvoker As(string organisation, string kind)
    {
        var token = _app.Services.GetRequiredService<TokenIssuer>().Mint(organisation, kind);
        return Channel.Intercept(metadata =>
        {
            metadata.Add("Authorization", $"Bearer {token}");
            return metadata;
        });
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
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
