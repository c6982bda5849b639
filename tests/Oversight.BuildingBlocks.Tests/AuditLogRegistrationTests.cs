using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using NSec.Cryptography;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Security;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>The log's keys come from configuration; a development key is made only where development keys are allowed.</summary>
public sealed class AuditLogRegistrationTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "oversight-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public void Outside_development_a_missing_signing_key_stops_the_start_and_names_the_setting()
    {
        var missing = Assert.Throws<MissingKeyException>(() => Register(new() { ["Oversight:Test:AuditLog:SubjectKey"] = Convert.ToBase64String(new byte[32]) }, production: true));
        Assert.Contains("Oversight:Test:AuditLog:SigningKey", missing.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_folder) && Directory.EnumerateFiles(_folder).Any());
    }

    [Fact]
    public void Outside_development_the_public_development_subject_key_stops_the_start()
    {
        var missing = Assert.Throws<MissingKeyException>(() => Register(new()
        {
            ["Oversight:Test:AuditLog:SigningKey"] = Convert.ToBase64String(new byte[32]),
            ["Oversight:Test:AuditLog:SubjectKey"] = SubjectReference.DevelopmentKey,
        }, production: true));
        Assert.Contains("Oversight:Test:AuditLog:SubjectKey", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_configured_seed_is_the_key_checkpoints_are_signed_with()
    {
        var seed = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        var audit = Register(new()
        {
            ["Oversight:Test:AuditLog:Origin"] = "oversight.example/test",
            ["Oversight:Test:AuditLog:SigningKey"] = Convert.ToBase64String(seed),
            ["Oversight:Test:AuditLog:SubjectKey"] = Convert.ToBase64String(new byte[32]),
        }, production: true);

        using var key = Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey);
        Assert.Equal(NoteKey.Of("oversight.example/test", key).VerifierKey, audit.Signer.PublicKey.VerifierKey);
    }

    [Fact]
    public void A_development_key_is_created_once_and_kept_across_restarts()
    {
        var settings = new Dictionary<string, string?> { [DevelopmentKeys.Setting] = "true" };
        var first = Register(settings, production: true).Signer.PublicKey.VerifierKey;
        var second = Register(settings, production: true).Signer.PublicKey.VerifierKey;
        Assert.Equal(first, second);
        Assert.Single(Directory.GetFiles(_folder));
    }

    [Fact]
    public void A_peer_key_that_is_not_a_verifier_key_stops_the_start()
    {
        Assert.Throws<InvalidOperationException>(() => Register(new()
        {
            [DevelopmentKeys.Setting] = "true",
            ["Oversight:Test:AuditLog:PeerVerifierKeys:0"] = "not-a-key",
        }, production: true));
    }

    private ModuleAuditLog<AuditTestDatabase> Register(Dictionary<string, string?> settings, bool production)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = production ? "Production" : "Development" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(new AuditTestDatabase(new DatabaseOptions { ConnectionString = $"Data Source={Path.Combine(_folder, "unused.db")}" }));
        builder.AddAuditLog<AuditTestDatabase>(builder.Configuration.GetSection("Oversight:Test:AuditLog"), "oversight/test", _folder);
        return builder.Services.BuildServiceProvider().GetRequiredService<ModuleAuditLog<AuditTestDatabase>>();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
