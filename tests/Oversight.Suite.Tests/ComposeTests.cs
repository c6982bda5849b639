using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Oversight.Testing;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Oversight.Suite.Tests;

/// <summary>
/// The Compose deployment, as far as this machine can try it (no container engine: CI validates the
/// file with <c>docker-compose config</c>): the file's structure, and the secrets script's output
/// started on for real — the host in Production with exactly the environment the file gives the
/// services (SQLite and the in-memory bus in place of the servers), and RabbitMQ's definitions
/// letting their user in with the password from <c>.env</c>.
/// </summary>
public sealed partial class ComposeTests
{
    private static readonly string[] Services = ["consent", "governance", "exchange"];

    private static string ComposeFile => Path.Combine(HostProcessTests.RepositoryRoot, "docker-compose.yml");

    [Fact]
    public void Every_service_is_health_checked_waits_for_healthy_dependencies_reads_its_secrets_from_the_environment_and_keeps_its_data_in_a_volume()
    {
        var services = Map(Compose()["services"]);
        foreach (var (name, value) in services)
        {
            var service = Map(value);
            Assert.True(service.ContainsKey("healthcheck"), $"{name} has no health check");
            if (service.TryGetValue("depends_on", out var dependsOn))
            {
                foreach (var (dependency, condition) in Map(dependsOn))
                {
                    Assert.Contains(Map(condition)["condition"], new[] { "service_healthy", "service_completed_successfully" });
                    Assert.True(services.ContainsKey(dependency), $"{name} depends on {dependency}, which is not a service");
                }
            }
        }

        foreach (var name in Services.Concat(["sqlserver", "rabbitmq"]))
        {
            Assert.True(Map(services[name]).ContainsKey("volumes"), $"{name} keeps no data in a volume");
        }

        foreach (var name in Services)
        {
            var service = Map(services[name]);
            Assert.Equal(["--services", name], List(service["command"]));
            Assert.Contains("sqlserver-init", Map(service["depends_on"]).Keys);
            Assert.Contains("rabbitmq", Map(service["depends_on"]).Keys);
            var environment = Map(service["environment"]);
            Assert.Equal("Production", environment["ASPNETCORE_ENVIRONMENT"]);
            foreach (var (setting, text) in environment.Where(e => e.Key.EndsWith("Key", StringComparison.Ordinal) || e.Key.Contains("Password", StringComparison.Ordinal)
                         || e.Key.EndsWith("ConnectionString", StringComparison.Ordinal) || e.Key.EndsWith("RabbitMq", StringComparison.Ordinal)))
            {
                Assert.Matches(Variable(), (string)text);
                Assert.DoesNotContain("development", (string)text, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    [Fact]
    public async Task The_secrets_script_makes_every_key_the_services_start_on_outside_development_and_never_overwrites_them()
    {
        var folder = Path.Combine(Path.GetTempPath(), "oversight-compose-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            Assert.Equal(0, await RunAsync("bash", Path.Combine(HostProcessTests.RepositoryRoot, "deploy", "make-secrets.sh"), folder));
            Assert.NotEqual(0, await RunAsync("bash", Path.Combine(HostProcessTests.RepositoryRoot, "deploy", "make-secrets.sh"), folder));
            var env = File.ReadAllLines(Path.Combine(folder, ".env")).Where(l => l.Length > 0 && !l.StartsWith('#'))
                .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

            // Every variable the compose file reads is made, and the example names the same ones.
            var used = Variable().Matches(File.ReadAllText(ComposeFile)).Select(m => m.Groups[1].Value).ToHashSet();
            Assert.Empty(used.Except(env.Keys));
            var example = File.ReadAllLines(Path.Combine(HostProcessTests.RepositoryRoot, ".env.example"))
                .Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split('=', 2)[0]).ToHashSet();
            Assert.Equal(env.Keys.Order(), example.Order());
            foreach (var key in env.Where(e => e.Key.EndsWith("_KEY", StringComparison.Ordinal) && e.Key != "OVERSIGHT_AUTH_SIGNING_KEY"))
            {
                Assert.Equal(32, Convert.FromBase64String(key.Value).Length);
            }

            using var receiptKey = ECDsa.Create();
            receiptKey.ImportFromPem(await File.ReadAllTextAsync(Path.Combine(folder, "secrets", "consent-receipt-key.pem")));
            Assert.Equal(256, receiptKey.KeySize);

            // The services' environment as the file gives it, with SQLite and the in-memory bus in place of the servers.
            var services = Map(Compose()["services"]);
            var environment = new Dictionary<string, string>();
            foreach (var name in Services)
            {
                foreach (var (setting, value) in Map(Map(services[name])["environment"]))
                {
                    environment[setting] = Variable().Replace((string)value, m => env[m.Groups[1].Value]);
                }
            }

            foreach (var server in environment.Keys.Where(k => k.Contains("__Database__", StringComparison.Ordinal) || k == "Oversight__Bus__RabbitMq").ToList())
            {
                environment.Remove(server);
            }

            var (consentPort, healthPort) = (HostProcessTests.FreePort(), HostProcessTests.FreePort());
            environment["Oversight__Consent__ReceiptSigningKeyPath"] = Path.Combine(folder, "secrets", "consent-receipt-key.pem");
            environment["Oversight__Exchange__Consent__Address"] = $"http://127.0.0.1:{consentPort}";
            using var host = StartHost(environment, "--services", string.Join(',', Services), "--data", Path.Combine(folder, "data"),
                $"--Oversight:Consent:Port={consentPort}", $"--Oversight:Governance:Port={HostProcessTests.FreePort()}",
                $"--Oversight:Exchange:Port={HostProcessTests.FreePort()}", $"--Oversight:HealthPort={healthPort}");
            try
            {
                var lines = await HostProcessTests.ReadUntilAsync(host, line => line.StartsWith("data ", StringComparison.Ordinal));
                Assert.DoesNotContain(lines, l => l.Contains("DEVELOPMENT", StringComparison.Ordinal));
                await Eventually.HoldsAsync(async () =>
                {
                    using var http = new HttpClient();
                    return await http.GetStringAsync($"http://127.0.0.1:{healthPort}/healthz") == "Healthy";
                }, "the host started on the script's keys answers Healthy");
            }
            finally
            {
                host.Kill(entireProcessTree: true);
                await host.WaitForExitAsync();
            }

            // Without them, outside development, it refuses to start and names the setting.
            using var bare = StartHost(new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" },
                "--services", "consent", "--data", Path.Combine(folder, "bare"), $"--Oversight:Consent:Port={HostProcessTests.FreePort()}",
                $"--Oversight:HealthPort={HostProcessTests.FreePort()}");
            var error = await bare.StandardError.ReadToEndAsync();
            await bare.WaitForExitAsync();
            Assert.Equal(2, bare.ExitCode);
            Assert.Contains("Oversight:Auth:SigningKey", error, StringComparison.Ordinal);

            await RabbitMqTakesTheDefinitionsAsync(Path.Combine(folder, "secrets", "rabbitmq-definitions.json"), env["RABBITMQ_PASSWORD"]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// The definitions' hashed password lets their user in with the password from .env: imported into
    /// the test broker under a name of this run's own, then removed. Skipped without a broker.
    /// </summary>
    private static async Task RabbitMqTakesTheDefinitionsAsync(string definitionsFile, string password)
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OVERSIGHT_RABBITMQ")))
        {
            return;
        }

        var run = Guid.NewGuid().ToString("N")[..12];
        var (user, vhost) = ($"compose-test-{run}", $"compose-test-{run}");
        var definitions = JsonDocument.Parse(await File.ReadAllTextAsync(definitionsFile)).RootElement;
        // Outside the secrets folder (only its owner may enter it): Debian's rabbitmqctl reads the file as the rabbitmq user.
        var renamed = Path.Combine(Path.GetTempPath(), $"oversight-definitions-{run}.json");
        await File.WriteAllTextAsync(renamed, JsonSerializer.Serialize(new
        {
            users = new[] { new { name = user, password_hash = definitions.GetProperty("users")[0].GetProperty("password_hash").GetString(), hashing_algorithm = "rabbit_password_hashing_sha256", tags = Array.Empty<string>() } },
            vhosts = new[] { new { name = vhost } },
            permissions = new[] { new { user, vhost, configure = ".*", write = ".*", read = ".*" } },
        }));
        try
        {
            Assert.Equal(0, await RunAsync("rabbitmqctl", "-q", "import_definitions", renamed));
            await Eventually.HoldsAsync(async () => await RunAsync("rabbitmqctl", "-q", "authenticate_user", user, password) == 0,
                "the broker lets the definitions' user in with the password from .env");
            Assert.NotEqual(0, await RunAsync("rabbitmqctl", "-q", "authenticate_user", user, password + "x"));
        }
        finally
        {
            File.Delete(renamed);
            await RunAsync("rabbitmqctl", "-q", "delete_user", user);
            await RunAsync("rabbitmqctl", "-q", "delete_vhost", vhost);
        }
    }

    private static Dictionary<object, object> Compose()
    {
        var deserializer = new DeserializerBuilder().Build();
        using var reader = new StringReader(File.ReadAllText(ComposeFile));
        return deserializer.Deserialize<Dictionary<object, object>>(new MergingParser(new Parser(reader)));
    }

    private static Dictionary<string, object> Map(object value) =>
        ((Dictionary<object, object>)value).ToDictionary(e => (string)e.Key, e => e.Value);

    private static List<string> List(object value) => ((List<object>)value).Cast<string>().ToList();

    private static Process StartHost(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var host = typeof(HostProcessTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "HostAssemblyPath").Value!;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment.Remove("DOTNET_ENVIRONMENT");
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add(host);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    private static async Task<int> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        await Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    /// <summary>A value taken from .env: <c>${NAME:?…}</c>.</summary>
    [GeneratedRegex(@"\$\{([A-Z0-9_]+):\?[^}]*\}")]
    private static partial Regex Variable();
}
