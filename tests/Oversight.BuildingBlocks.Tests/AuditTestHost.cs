using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Oversight.Audit.V1;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Security;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>
/// A tiny module on ASP.NET Core's test server: a SQLite file in a fresh folder, its audit log
/// registered with <see cref="AuditLogRegistration.AddAuditLog{TDatabase}"/> and served with
/// <see cref="AuditLogRegistration.MapAuditLog{TDatabase}"/>, tokens signed with the development key,
/// a movable clock, and real gRPC clients over HTTP/2. The module's "actions" append entries.
/// </summary>
public sealed class AuditTestHost : IAsyncDisposable
{
    public const string Origin = "oversight.test/host";
    public const string Regulator = "central-bank";
    public static readonly TimeSpan CheckpointInterval = TimeSpan.FromMinutes(10);

    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;
    private readonly TokenIssuer _tokens;
    private readonly string _folder;

    private AuditTestHost(WebApplication app, string folder, FakeTimeProvider time)
    {
        _app = app;
        _folder = folder;
        Time = time;
        _channel = GrpcChannel.ForAddress(app.GetTestServer().BaseAddress, new GrpcChannelOptions { HttpHandler = app.GetTestServer().CreateHandler() });
        _tokens = new TokenIssuer(app.Services.GetRequiredService<AuthOptions>(), TimeProvider.System);
    }

    public FakeTimeProvider Time { get; }

    public ModuleAuditLog<AuditTestDatabase> Audit => _app.Services.GetRequiredService<ModuleAuditLog<AuditTestDatabase>>();

    public static async Task<AuditTestHost> StartAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "oversight-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [DevelopmentKeys.Setting] = "true",
            ["Oversight:AuditTest:AuditLog:Origin"] = Origin,
            ["Oversight:AuditTest:AuditLog:CheckpointInterval"] = CheckpointInterval.ToString(),
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.AddOversightDefaults();
        builder.Services.AddSingleton(new AuditTestDatabase(new DatabaseOptions { ConnectionString = $"Data Source={Path.Combine(folder, "audit-test.db")}" }));
        builder.Services.AddHostedService<ModuleDatabaseInitializer<AuditTestDatabase>>();
        builder.AddAuditLog<AuditTestDatabase>(builder.Configuration.GetSection("Oversight:AuditTest:AuditLog"), "oversight/audit-test", folder);

        var app = builder.Build();
        app.MapOversightDefaults();
        app.MapAuditLog<AuditTestDatabase>();
        await app.StartAsync();
        return new AuditTestHost(app, folder, time);
    }

    /// <summary>What a module does: a change and its entry in one transaction.</summary>
    public async Task<Audit.AuditEntry> ActAsync(string actor, string action = "consent.grant", string resource = "consents/1", string? subject = null)
    {
        await using var session = await Audit.Database.BeginAsync(CancellationToken.None);
        var entry = await Audit.Log.AppendAsync(session, new AuditRecord(actor, "platform", action, resource, AuditOutcomes.Succeeded, SubjectId: subject));
        await session.CommitAsync();
        Time.Advance(TimeSpan.FromSeconds(1));
        return entry;
    }

    public AuditLogService.AuditLogServiceClient Client(string organisationId = Regulator, string kind = "regulator")
    {
        var token = _tokens.Mint(organisationId, kind);
        return new AuditLogService.AuditLogServiceClient(_channel.Intercept(metadata =>
        {
            metadata.Add("Authorization", $"Bearer {token}");
            return metadata;
        }));
    }

    public AuditLogService.AuditLogServiceClient Anonymous => new(_channel.CreateCallInvoker());

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
