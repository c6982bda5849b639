using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Oversight.Consent.V1;

namespace Oversight.Suite.Tests;

/// <summary>The host executable as a newcomer runs it: a real process, real ports, real HTTP/2.</summary>
public sealed partial class HostProcessTests
{
    private static string HostAssembly => typeof(HostProcessTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "HostAssemblyPath").Value!;

    [Fact]
    public async Task With_no_services_named_it_runs_every_module_on_the_embedded_default()
    {
        var data = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));
        var (consentPort, governancePort, healthPort) = (FreePort(), FreePort(), FreePort());
        using var host = Start("--data", data, $"--Oversight:Consent:Port={consentPort}", $"--Oversight:Governance:Port={governancePort}", $"--Oversight:Exchange:Port={HostProcessTests.FreePort()}", $"--Oversight:HealthPort={healthPort}");
        try
        {
            var lines = await ReadUntilAsync(host, line => line.StartsWith("data ", StringComparison.Ordinal));
            Assert.Contains(lines, l => ServiceLine().Match(l) is { Success: true } m && m.Groups[1].Value == "consent" && m.Groups[2].Value == consentPort.ToString());
            Assert.Contains(lines, l => ServiceLine().Match(l) is { Success: true } m && m.Groups[1].Value == "governance" && m.Groups[2].Value == governancePort.ToString());
            Assert.Contains(lines, l => l.Contains("in-memory bus", StringComparison.Ordinal));
            Assert.True(File.Exists(Path.Combine(data, "consent.db")));

            using var http = new HttpClient();
            Assert.Equal("Healthy", await http.GetStringAsync($"http://127.0.0.1:{healthPort}/healthz"));
            // A container's health check: the image has no curl, so the host asks itself.
            Assert.Equal("Healthy", (await RunToCompletionAsync("probe", "--port", healthPort.ToString())).Trim());
            Assert.Equal("Healthy", (await RunToCompletionAsync("probe", "--port", healthPort.ToString(), "--live")).Trim());
            using (var nobody = Start("probe", "--port", FreePort().ToString()))
            {
                await nobody.WaitForExitAsync();
                Assert.Equal(1, nobody.ExitCode);
            }

            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{consentPort}");
            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = "oversight.consent.v1.ConsentService" });
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

            var token = await RunToCompletionAsync("token", "--org", "shopwave", "--kind", "platform");
            var consent = new ConsentService.ConsentServiceClient(channel);
            var headers = new Metadata { { "Authorization", $"Bearer {token.Trim()}" } };
            var purposes = await new ConsentRegistryService.ConsentRegistryServiceClient(channel).ListPurposesAsync(new ListPurposesRequest(), headers);
            Assert.Contains(purposes.Purposes, p => p.Id == "credit_assessment");
            var missing = await Assert.ThrowsAsync<RpcException>(() => consent.GetConsentAsync(new GetConsentRequest { ConsentId = Guid.NewGuid().ToString() }, headers).ResponseAsync);
            Assert.Equal(StatusCode.NotFound, missing.StatusCode);

            // Each module answers on its own port only.
            using var governanceChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{governancePort}");
            var wrongPort = await Assert.ThrowsAsync<RpcException>(() => new ConsentRegistryService.ConsentRegistryServiceClient(governanceChannel)
                .ListPurposesAsync(new ListPurposesRequest(), headers).ResponseAsync);
            Assert.Equal(StatusCode.Unimplemented, wrongPort.StatusCode);
            var operatorToken = (await RunToCompletionAsync("token", "--org", "operator", "--kind", "operator")).Trim();
            var registered = await new Governance.V1.OrganisationService.OrganisationServiceClient(governanceChannel).RegisterOrganisationAsync(
                new Governance.V1.RegisterOrganisationRequest
                {
                    RequestId = "r1", OrganisationId = "harbour-bank", Kind = Governance.V1.OrganisationKind.Institution, Name = "Harbour Bank", Jurisdiction = "CN",
                },
                new Metadata { { "Authorization", $"Bearer {operatorToken}" } });
            Assert.Equal(1, registered.Organisation.Version);
        }
        finally
        {
            host.Kill(entireProcessTree: true);
            await host.WaitForExitAsync();
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>
    /// The demo founds the venture, votes in an alliance with the credit bureau and has ShopWave publish a
    /// dataset with records and consents; run again on the same data, it makes nothing twice.
    /// </summary>
    [Fact]
    public async Task The_demo_flag_seeds_a_founded_venture_an_active_alliance_and_a_consented_dataset_through_the_rpcs_and_may_run_again()
    {
        var data = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));
        try
        {
            for (var run = 0; run < 2; run++)
            {
                var (consentPort, governancePort, exchangePort, healthPort) = (FreePort(), FreePort(), FreePort(), FreePort());
                using var host = Start("--demo", "--data", data, $"--Oversight:Consent:Port={consentPort}",
                    $"--Oversight:Governance:Port={governancePort}", $"--Oversight:Exchange:Port={exchangePort}", $"--Oversight:HealthPort={healthPort}");
                try
                {
                    var lines = await ReadUntilAsync(host, line => line.StartsWith("data ", StringComparison.Ordinal));
                    var demo = Assert.Single(lines, l => l.StartsWith("demo venture:", StringComparison.Ordinal));
                    Assert.Contains("with state-credit-bureau ACTIVE", demo, StringComparison.Ordinal);
                    Assert.Contains("with 300 records of 100 customers", demo, StringComparison.Ordinal);
                    Assert.Contains("90 of them with an active consent", demo, StringComparison.Ordinal);

                    using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{governancePort}");
                    var regulator = new Metadata { { "Authorization", $"Bearer {(await RunToCompletionAsync("token", "--org", "central-bank", "--kind", "regulator")).Trim()}" } };
                    var organisations = await new Governance.V1.OrganisationService.OrganisationServiceClient(channel)
                        .ListOrganisationsAsync(new Governance.V1.ListOrganisationsRequest(), regulator);
                    Assert.Equal(8, organisations.Organisations.Count);
                    var table = (await new Governance.V1.ShareLedgerService.ShareLedgerServiceClient(channel)
                        .GetCapTableAsync(new Governance.V1.GetCapTableRequest(), regulator)).CapTable;
                    Assert.Equal((1_000_000L, 5), (table.OrdinaryOutstanding, table.Holdings.Count));
                    Assert.Equal(("state-investor", 3000), (table.Holdings[0].HolderId, table.Holdings[0].OrdinaryBasisPoints));

                    // One alliance, voted in by a special proposal and approved by the regulator.
                    var alliance = Assert.Single((await new Governance.V1.AllianceService.AllianceServiceClient(channel)
                        .ListAlliancesAsync(new Governance.V1.ListAlliancesRequest(), regulator)).Alliances);
                    Assert.Equal(("state-credit-bureau", Governance.V1.AllianceState.Active), (alliance.InstitutionId, alliance.State));
                    Assert.Equal(["credit_assessment"], alliance.Scope.Purposes);
                    Assert.False(alliance.Scope.IdentifiedData);
                    var proposal = (await new Governance.V1.ProposalService.ProposalServiceClient(channel)
                        .GetProposalAsync(new Governance.V1.GetProposalRequest { ProposalId = alliance.ProposalId }, regulator)).Proposal;
                    Assert.Equal((Governance.V1.ProposalCategory.Special, Governance.V1.ProposalState.Passed), (proposal.Category, proposal.State));

                    // One dataset of ShopWave's with its records, and the consents of nine customers in ten.
                    using var exchange = GrpcChannel.ForAddress($"http://127.0.0.1:{exchangePort}");
                    var dataset = Assert.Single((await new Exchange.V1.CatalogService.CatalogServiceClient(exchange)
                        .ListDatasetsAsync(new Exchange.V1.ListDatasetsRequest(), regulator)).Datasets);
                    Assert.Equal(("shopwave", "user.financial.transactions", 300L), (dataset.OwnerId, dataset.DataCategory, dataset.RecordCount));
                    using var consentChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{consentPort}");
                    var shopwave = new Metadata { { "Authorization", $"Bearer {(await RunToCompletionAsync("token", "--org", "shopwave", "--kind", "platform")).Trim()}" } };
                    var consents = await new ConsentService.ConsentServiceClient(consentChannel)
                        .ListConsentsAsync(new ListConsentsRequest { ControllerId = "shopwave", PageSize = 500 }, shopwave);
                    Assert.Equal(90, consents.Consents.Count);
                    Assert.All(consents.Consents, c => Assert.Equal(("state-credit-bureau", ConsentState.Active), (c.Terms.RecipientId, c.State)));
                    Assert.DoesNotContain(consents.Consents, c => c.SubjectId == "customer-010");
                }
                finally
                {
                    host.Kill(entireProcessTree: true);
                    await host.WaitForExitAsync();
                }
            }
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task An_unknown_service_name_is_refused()
    {
        using var host = Start("--services", "consent,astrology", "--data", Path.GetTempPath());
        await host.WaitForExitAsync();
        Assert.Equal(2, host.ExitCode);
        Assert.Contains("astrology", await host.StandardError.ReadToEndAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_named_service_without_a_signing_key_refuses_to_start_and_names_the_setting()
    {
        using var host = Start("--services", "governance", "--data", Path.GetTempPath(), $"--Oversight:Governance:Port={FreePort()}", $"--Oversight:HealthPort={FreePort()}");
        var (exitCode, error) = await RefusalAsync(host);
        Assert.Equal(2, exitCode);
        Assert.Contains("Oversight:Auth:SigningKey", error, StringComparison.Ordinal);
    }

    /// <summary>The audit log's keys are configuration outside development: the signing key first, then the subject key, each named.</summary>
    [Fact]
    public async Task A_service_without_its_audit_log_keys_refuses_to_start_outside_development_and_names_each()
    {
        var data = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));
        string[] arguments = ["--services", "governance", "--data", data, "--Oversight:Auth:SigningKey=" + new string('k', 40)];
        try
        {
            using (var refused = Start([.. arguments, $"--Oversight:Governance:Port={FreePort()}", $"--Oversight:HealthPort={FreePort()}"]))
            {
                var (exitCode, error) = await RefusalAsync(refused);
                Assert.Equal(2, exitCode);
                Assert.Contains("Oversight:Governance:AuditLog:SigningKey", error, StringComparison.Ordinal);
            }

            var seed = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            using (var refused = Start([.. arguments, $"--Oversight:Governance:AuditLog:SigningKey={seed}",
                       $"--Oversight:Governance:Port={FreePort()}", $"--Oversight:HealthPort={FreePort()}"]))
            {
                var (exitCode, error) = await RefusalAsync(refused);
                Assert.Equal(2, exitCode);
                Assert.Contains("Oversight:Governance:AuditLog:SubjectKey", error, StringComparison.Ordinal);
            }

            // No key file was created on the way: only development creates one.
            Assert.False(Directory.Exists(data) && Directory.EnumerateFiles(data, "*audit-log-key*").Any());
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Consent_without_its_receipt_key_refuses_to_start_outside_development_and_creates_one_in_development()
    {
        var data = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));
        string[] arguments = ["--services", "consent", "--data", data, "--Oversight:Auth:SigningKey=" + new string('k', 40)];
        try
        {
            using (var refused = Start([.. arguments, $"--Oversight:Consent:Port={FreePort()}", $"--Oversight:HealthPort={FreePort()}"]))
            {
                var (exitCode, error) = await RefusalAsync(refused);
                Assert.Equal(2, exitCode);
                Assert.Contains("Oversight:Consent:ReceiptSigningKeyPath", error, StringComparison.Ordinal);
                Assert.False(File.Exists(Path.Combine(data, "consent-receipt-signing-key.pem")));
            }

            var consentPort = FreePort();
            using var development = Start([.. arguments, $"--Oversight:Consent:Port={consentPort}", $"--Oversight:HealthPort={FreePort()}", "--environment", "Development"]);
            try
            {
                await ReadUntilAsync(development, line => line.StartsWith("data ", StringComparison.Ordinal));
                Assert.True(File.Exists(Path.Combine(data, "consent-receipt-signing-key.pem")));

                // The public keys need no token, like any JWKS.
                using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{consentPort}");
                var keys = await new ConsentReceiptKeyService.ConsentReceiptKeyServiceClient(channel).ListReceiptKeysAsync(new ListReceiptKeysRequest());
                Assert.Equal("ES256", Assert.Single(keys.Keys).Algorithm);
            }
            finally
            {
                development.Kill(entireProcessTree: true);
                await development.WaitForExitAsync();
            }
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>Waits for a host that must refuse to start; one that starts instead fails the test (and is stopped).</summary>
    private static async Task<(int ExitCode, string Error)> RefusalAsync(Process host)
    {
        var error = host.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await host.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            host.Kill(entireProcessTree: true);
            Assert.Fail("The host started instead of refusing to.");
        }

        return (host.ExitCode, await error);
    }

    [Fact]
    public async Task Dotnet_run_puts_the_data_folder_under_the_folder_it_was_run_from()
    {
        var folder = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var configuration = typeof(HostProcessTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        using var host = StartProcess(folder,
            "run", "--no-build", "--configuration", configuration, "--project", Path.Combine(RepositoryRoot, "services", "Oversight.Host"), "--",
            $"--Oversight:Consent:Port={FreePort()}", $"--Oversight:Governance:Port={FreePort()}", $"--Oversight:Exchange:Port={FreePort()}", $"--Oversight:HealthPort={FreePort()}");
        try
        {
            var lines = await ReadUntilAsync(host, line => line.StartsWith("data ", StringComparison.Ordinal));
            Assert.StartsWith($"data {Path.Combine(folder, "data")};", lines[^1], StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(folder, "data", "consent.db")));
        }
        finally
        {
            host.Kill(entireProcessTree: true);
            await host.WaitForExitAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    internal static string RepositoryRoot => Path.GetFullPath(typeof(HostProcessTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!);

    /// <summary>Starts the host executable.</summary>
    internal static Process Start(params string[] arguments) => StartProcess(null, [HostAssembly, .. arguments]);

    /// <summary>Starts dotnet outside the Development environment, whatever the test runner's is.</summary>
    private static Process StartProcess(string? workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        start.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        start.Environment.Remove("DOTNET_ENVIRONMENT");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    private static async Task<string> RunToCompletionAsync(params string[] arguments)
    {
        using var process = Start(arguments);
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
        return output;
    }

    internal static async Task<List<string>> ReadUntilAsync(Process process, Func<string, bool> last)
    {
        var lines = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            lines.Add(line);
            if (last(line))
            {
                return lines;
            }
        }

        Assert.Fail("The host exited before it was ready:\n" + string.Join('\n', lines) + await process.StandardError.ReadToEndAsync());
        return lines;
    }

    internal static int FreePort() => Oversight.Testing.RealInfrastructure.FreePort();

    [GeneratedRegex(@"^(\w+)\s+http://127\.0\.0\.1:(\d+)$")]
    private static partial Regex ServiceLine();
}
