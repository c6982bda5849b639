using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.V1;
using Oversight.Testing;

namespace Oversight.Governance.Tests;

/// <summary>
/// The Governance module on the test server with a real SQLite file (or the SQL Server a test names),
/// the in-memory bus (or RabbitMQ when a test asks), a movable clock, and real gRPC clients over HTTP/2.
/// </summary>
public sealed class GovernanceTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;
    private readonly TokenIssuer _tokens;
    private readonly string _dataDirectory;

    private GovernanceTestHost(WebApplication app, string dataDirectory, FakeTimeProvider time)
    {
        Time = time;
        _app = app;
        _dataDirectory = dataDirectory;
        _channel = GrpcChannel.ForAddress(app.GetTestServer().BaseAddress, new GrpcChannelOptions { HttpHandler = app.GetTestServer().CreateHandler() });
        _tokens = new TokenIssuer(app.Services.GetRequiredService<AuthOptions>(), TimeProvider.System);
    }

    public GovernanceDatabase Database => _app.Services.GetRequiredService<GovernanceDatabase>();

    public FakeTimeProvider Time { get; }

    public IServiceProvider Services => _app.Services;

    /// <param name="configure">Changes the settings before the host is built (RabbitMQ, SQL Server, …).</param>
    public static async Task<GovernanceTestHost> StartAsync(Action<IDictionary<string, string?>>? configure = null)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "oversight-tests", Guid.NewGuid().ToString("N"));
        var settings = new Dictionary<string, string?>
        {
            ["Oversight:Outbox:PollInterval"] = "00:00:00.200",
            ["Oversight:AllowDevelopmentKeys"] = "true",
            ["Oversight:Governance:TallyInterval"] = "01:00:00",
        };
        configure?.Invoke(settings);

        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.AddOversightDefaults();
        builder.AddGovernanceModule(dataDirectory);
        builder.Services.AddOversightBus(builder.Configuration);
        var app = builder.Build();
        app.MapOversightDefaults();
        app.MapGovernanceModule();
        await app.StartAsync();
        return new GovernanceTestHost(app, dataDirectory, time);
    }

    public OrganisationService.OrganisationServiceClient Organisations(string organisationId = "operator", string kind = "operator") =>
        new(Invoker(organisationId, kind));

    public RegulatorOrderService.RegulatorOrderServiceClient Orders(string organisationId = "central-bank", string kind = "regulator") =>
        new(Invoker(organisationId, kind));

    public ProposalService.ProposalServiceClient Proposals(string organisationId, string kind = "platform") => new(Invoker(organisationId, kind));

    public AllianceService.AllianceServiceClient Alliances(string organisationId = "central-bank", string kind = "regulator") => new(Invoker(organisationId, kind));

    public ExecutiveService.ExecutiveServiceClient Executives(string organisationId = "central-bank", string kind = "regulator") => new(Invoker(organisationId, kind));

    public ShareLedgerService.ShareLedgerServiceClient Shares(string organisationId = "operator", string kind = "operator") =>
        new(Invoker(organisationId, kind));

    public Oversight.Audit.V1.AuditLogService.AuditLogServiceClient Audit(string organisationId = "central-bank", string kind = "regulator") =>
        new(Invoker(organisationId, kind));

    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        return await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, sql);
    }

    /// <summary>Waits until the relay, which runs in the background, has published every event in the outbox.</summary>
    public async Task WaitForOutboxAsync(int timeoutMs = 15000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (await ScalarAsync("SELECT COUNT(*) FROM outbox_message WHERE sent_at_ms IS NULL") > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("Timed out waiting for the relay to publish every event in the outbox.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Polls until the condition holds (the relay and the bus work asynchronously).</summary>
    public static Task EventuallyAsync(Func<Task<bool>> condition, string what, int timeoutMs = 15000) =>
        Eventually.HoldsAsync(condition, what, timeoutMs);

    /// <summary>Calls without a token (health, reflection).</summary>
    public CallInvoker Anonymous => _channel.CreateCallInvoker();

    private CallInvoker Invoker(string organisationId, string kind)
    {
        var token = _tokens.Mint(organisationId, kind);
        return _channel.Intercept(metadata =>
        {
            metadata.Add("Authorization", $"Bearer {token}");
            return metadata;
        });
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
