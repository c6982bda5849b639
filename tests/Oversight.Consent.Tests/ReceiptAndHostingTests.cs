using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Grpc.Health.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Oversight.BuildingBlocks.Data;
using Oversight.Consent.V1;

namespace Oversight.Consent.Tests;

public sealed class ReceiptAndHostingTests : IAsyncLifetime
{
    private ConsentTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await ConsentTestHost.StartAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task A_receipt_verifies_with_nothing_but_the_served_public_key()
    {
        var granted = await _host.Consent(ConsentTestHost.Shopwave).GrantConsentAsync(_host.NewGrant("alice"));
        // No token: the public keys are served to anyone, like a JWKS.
        var key = Assert.Single((await new ConsentReceiptKeyService.ConsentReceiptKeyServiceClient(_host.Anonymous).ListReceiptKeysAsync(new ListReceiptKeysRequest())).Keys);
        Assert.Equal(("EC", "P-256", "ES256"), (key.KeyType, key.Curve, key.Algorithm));

        // Only the JWK coordinates from the RPC: no server code involved in verifying.
        using var verifier = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64Url.DecodeFromChars(key.X), Y = Base64Url.DecodeFromChars(key.Y) },
        });
        var parts = granted.ReceiptJws.Split('.');
        Assert.Equal(3, parts.Length);
        Assert.True(verifier.VerifyData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), Base64Url.DecodeFromChars(parts[2]), HashAlgorithmName.SHA256));

        using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
        Assert.Equal("ES256", header.RootElement.GetProperty("alg").GetString());
        Assert.Equal(key.KeyId, header.RootElement.GetProperty("kid").GetString());

        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
        var receipt = payload.RootElement;
        Assert.Equal("KI-CR-v1.1.0", receipt.GetProperty("version").GetString());
        Assert.Equal(granted.Consent.Id, receipt.GetProperty("consentReceiptID").GetString());
        Assert.Equal("alice", receipt.GetProperty("piiPrincipalId").GetString());
        Assert.Equal("CN", receipt.GetProperty("jurisdiction").GetString());
        Assert.Equal("app", receipt.GetProperty("collectionMethod").GetString());
        Assert.True(receipt.GetProperty("sensitive").GetBoolean());
        var purpose = receipt.GetProperty("services")[0].GetProperty("purposes")[0];
        Assert.Equal("user.financial.transactions", purpose.GetProperty("piiCategory")[0].GetString());
        Assert.Equal(ConsentTestHost.CreditBureau, purpose.GetProperty("thirdPartyName").GetString());

        // A tampered payload does not verify.
        var forged = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1])).Replace("alice", "mallory", StringComparison.Ordinal)));
        Assert.False(verifier.VerifyData(Encoding.ASCII.GetBytes($"{parts[0]}.{forged}"), Base64Url.DecodeFromChars(parts[2]), HashAlgorithmName.SHA256));

        var stored = await _host.Consent(ConsentTestHost.CreditBureau, "institution").GetConsentReceiptAsync(new GetConsentReceiptRequest { ConsentId = granted.Consent.Id });
        Assert.Equal((granted.ReceiptJws, key.KeyId), (stored.ReceiptJws, stored.KeyId));
    }

    [Fact]
    public async Task The_signing_key_survives_a_restart()
    {
        var directory = Path.Combine(Path.GetTempPath(), "oversight-tests", Guid.NewGuid().ToString("N"));
        var keyFile = Path.Combine(directory, "consent-receipt-signing-key.pem");
        try
        {
            string before;
            await using (var first = await ConsentTestHost.StartAsync(dataDirectory: directory))
            {
                before = (await first.ReceiptKeys().ListReceiptKeysAsync(new ListReceiptKeysRequest())).Keys[0].KeyId;
            }

            var pem = await File.ReadAllTextAsync(keyFile);
            await using (var restarted = await ConsentTestHost.StartAsync(dataDirectory: directory))
            {
                Assert.Equal(before, (await restarted.ReceiptKeys().ListReceiptKeysAsync(new ListReceiptKeysRequest())).Keys[0].KeyId);
            }

            Assert.Equal(pem, await File.ReadAllTextAsync(keyFile));

            // The same key named by ReceiptSigningKeyPath from another data folder is the same signer.
            var moved = Path.Combine(Path.GetTempPath(), "oversight-tests", Guid.NewGuid().ToString("N") + ".pem");
            File.Move(keyFile, moved);
            await using var elsewhere = await ConsentTestHost.StartAsync(s => s["Oversight:Consent:ReceiptSigningKeyPath"] = moved);
            Assert.Equal(before, (await elsewhere.ReceiptKeys().ListReceiptKeysAsync(new ListReceiptKeysRequest())).Keys[0].KeyId);
            File.Delete(moved);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Health_is_serving_for_the_server_and_each_service()
    {
        var health = new Health.HealthClient(_host.Anonymous);
        foreach (var service in new[] { "", "oversight.consent.v1.ConsentService", "oversight.consent.v1.SubjectService" })
        {
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = service })).Status);
        }
    }

    [Fact]
    public async Task The_registry_lists_the_seeded_purposes_and_taxonomy()
    {
        var registry = _host.Registry();
        var purposes = await registry.ListPurposesAsync(new ListPurposesRequest());
        Assert.Contains(purposes.Purposes, p => p.Id == "credit_assessment");
        Assert.Contains(purposes.Purposes, p => p.Id == "public_health");

        var categories = new List<DataCategory>();
        var token = "";
        do
        {
            var page = await registry.ListDataCategoriesAsync(new ListDataCategoriesRequest { PageSize = 5, PageToken = token });
            categories.AddRange(page.DataCategories);
            token = page.NextPageToken;
        }
        while (token != "");

        Assert.True(categories.Single(c => c.Id == "user.location.precise").Sensitive);
        Assert.False(categories.Single(c => c.Id == "user.behavior.purchase_history").Sensitive);
        Assert.Equal("user.financial", categories.Single(c => c.Id == "user.financial.account").ParentId);
        Assert.Equal(categories.Count, categories.Select(c => c.Id).Distinct().Count());
    }

    [Fact]
    public async Task A_database_migrated_by_a_newer_build_is_refused()
    {
        await using (var connection = await _host.Database.OpenAsync(CancellationToken.None))
        {
            await Dapper.SqlMapper.ExecuteAsync(connection,
                "INSERT INTO SchemaVersions (ScriptName, Applied) VALUES ('Oversight.Consent.Infrastructure.Migrations.Sqlite.9999_future.sql', '2030-01-01')");
        }

        var exception = Assert.Throws<SchemaTooNewException>(() => DatabaseMigrator.Migrate(_host.Database, NullLogger.Instance));
        Assert.Contains("9999_future", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrating_twice_applies_nothing_new()
    {
        long scripts = DatabaseMigrator.Scripts(_host.Database).Count;
        Assert.Equal(scripts, await JournalledScriptsAsync());
        DatabaseMigrator.Migrate(_host.Database, NullLogger.Instance);
        Assert.Equal(scripts, await JournalledScriptsAsync());
    }

    /// <summary>The scripts DbUp's journal records as applied.</summary>
    private async Task<long> JournalledScriptsAsync()
    {
        await using var connection = await _host.Database.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM SchemaVersions";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
