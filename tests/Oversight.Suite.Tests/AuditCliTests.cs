using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using NSec.Cryptography;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.Testing;

namespace Oversight.Suite.Tests;

/// <summary>
/// The CLI's audit commands against a real host process, and the tampering they catch: whoever runs
/// the database changes the module's SQLite file under the running host, and the CLI — verifying the
/// proofs itself, with a key it saved — says what is wrong.
/// </summary>
public sealed class AuditCliTests
{
    private const string Origin = "oversight/governance";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_audit_command_verifies_an_intact_log_and_verify_update_moves_the_saved_checkpoint_on()
    {
        await using var host = await AuditHost.StartAsync();
        await host.RegisterAsync("shopwave", "paylink", "dashfood");
        var refused = await host.CliAsync("--as", "shopwave", "--kind", "platform", "org", "register", "x", "platform", "--name", "X");
        Assert.Equal(1, refused.ExitCode);

        var listed = await host.RegulatorAsync("audit", "list", "--service", "governance");
        Assert.Equal(0, listed.ExitCode);
        Assert.Matches(@"(?m)^#0 .* operator \(operator\)  organisation\.registered  organisation/shopwave  succeeded", listed.Output);
        Assert.Matches(@"(?m)^#3 .* shopwave \(platform\)  access\.denied  organisation/x  refused", listed.Output);
        var page = await host.RegulatorAsync("audit", "list", "--service", "governance", "--action", "organisation.registered", "--page-size", "2");
        Assert.DoesNotContain("access.denied", page.Output, StringComparison.Ordinal);
        var token = Assert.Single(page.Output.Split('\n'), l => l.StartsWith("more: --page-token ", StringComparison.Ordinal))["more: --page-token ".Length..];
        var next = await host.RegulatorAsync("audit", "list", "--service", "governance", "--action", "organisation.registered", "--page-token", token, "--json");
        var entries = JsonDocument.Parse(next.Output).RootElement.GetProperty("entries");
        Assert.Equal("organisation/dashfood", Assert.Single(entries.EnumerateArray()).GetProperty("resource").GetString());
        // Anyone else reads only the entries it is the actor of.
        var own = await host.CliAsync("--as", "shopwave", "--kind", "platform", "audit", "list", "--service", "governance");
        Assert.Equal(["#3"], own.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]));

        var saved = host.File("governance-checkpoint.json");
        var save = await host.RegulatorAsync("audit", "checkpoint", "save", "--service", "governance", "--file", saved);
        Assert.True(save.ExitCode == 0, save.Output + save.Error);
        Assert.Contains($"saved the checkpoint of 4 entries and the key {Origin}+", save.Output, StringComparison.Ordinal);
        Assert.Equal(4, SavedSize(saved));
        // The save signed the checkpoint of 4, so it is the latest an entry is proved in.
        var entry = await host.RegulatorAsync("audit", "entry", "2", "--service", "governance");
        Assert.True(entry.ExitCode == 0, entry.Output + entry.Error);
        Assert.Contains("ok      the proof is for the checkpoint's signed tree size, 4", entry.Output, StringComparison.Ordinal);
        Assert.Contains("ok      the leaf hash recomputed from the entry's canonical bytes is the stored one", entry.Output, StringComparison.Ordinal);
        Assert.Contains("ok      the inclusion proof (2 hashes) leads from that leaf to the checkpoint's root", entry.Output, StringComparison.Ordinal);
        Assert.Contains("verified: entry 2 is in the log of 4 entries that oversight/governance signed", entry.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("FAILED", entry.Output, StringComparison.Ordinal);

        var atFour = await host.RegulatorAsync("audit", "entry", "0", "--tree-size", "4", "--service", "governance", "--file", saved);
        Assert.True(atFour.ExitCode == 0, atFour.Output);
        Assert.Contains($"ok      the saved key {Origin}+", atFour.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("as served", atFour.Output, StringComparison.Ordinal);

        await host.RegisterAsync("chatterbox");
        var verify = await host.RegulatorAsync("audit", "verify", "--service", "governance", "--file", saved, "--update");
        Assert.True(verify.ExitCode == 0, verify.Output + verify.Error);
        Assert.Contains("ok      the log grew from 4 to 5 entries", verify.Output, StringComparison.Ordinal);
        Assert.Contains("ok      the consistency proof", verify.Output, StringComparison.Ordinal);
        Assert.Contains("shows the log of 5 entries extends the saved one of 4, only appended to", verify.Output, StringComparison.Ordinal);
        Assert.Equal(5, SavedSize(saved));

        var verifyLog = await host.RegulatorAsync("audit", "verify-log", "--service", "governance", "--checkpoint-file", saved);
        Assert.True(verifyLog.ExitCode == 0, verifyLog.Output + verifyLog.Error);
        Assert.StartsWith("verified 5 entries", verifyLog.Output, StringComparison.Ordinal);
        Assert.Equal(0, (await host.RegulatorAsync("audit", "verify-log", "--service", "consent")).ExitCode);

        // Consent keeps the checkpoints Governance published (one process, one in-memory bus).
        await Eventually.HoldsAsync(async () => (await host.RegulatorAsync("audit", "witnessed", "--service", "consent", "--origin", Origin))
            .Output.Split('\n').Any(l => l.StartsWith($"{Origin}  5 entries", StringComparison.Ordinal)), "Consent witnessed Governance's checkpoint of 5");
    }

    [Fact]
    public async Task An_entry_whose_stored_bytes_were_changed_is_named_by_verify_log_and_fails_its_own_check()
    {
        await using var host = await AuditHost.StartAsync();
        await host.RegisterAsync("shopwave", "paylink", "dashfood");

        await host.TamperAsync("UPDATE audit_entry SET canonical = CAST('forged' AS BLOB) WHERE sequence = 1");

        var verifyLog = await host.RegulatorAsync("audit", "verify-log", "--service", "governance");
        Assert.Equal(3, verifyLog.ExitCode);
        Assert.Contains("PROBLEM ENTRY_HASH_MISMATCH at 1:", verifyLog.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("verified", verifyLog.Output, StringComparison.Ordinal);
        var entry = await host.RegulatorAsync("audit", "entry", "1", "--service", "governance");
        Assert.Equal(3, entry.ExitCode);
        Assert.Contains("FAILED  the entry's canonical bytes hash to", entry.Output, StringComparison.Ordinal);
        Assert.Contains("NOT VERIFIED", entry.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_history_rewritten_with_every_hash_recomputed_passes_verify_log_but_not_a_checkpoint_saved_before()
    {
        await using var host = await AuditHost.StartAsync();
        await host.RegisterAsync("shopwave", "paylink", "dashfood");
        var saved = host.File("before.json");
        Assert.Equal(0, (await host.RegulatorAsync("audit", "checkpoint", "save", "--service", "governance", "--file", saved)).ExitCode);

        await Eventually.HoldsAsync(async () => (await host.RegulatorAsync("audit", "witnessed", "--service", "consent", "--origin", Origin))
            .Output.Split('\n').Any(l => l.StartsWith($"{Origin}  3 entries", StringComparison.Ordinal)), "Consent witnessed Governance's checkpoint of 3");

        // From entry 1 on another past, every leaf, subtree and the head recomputed, the service's own checkpoints gone.
        await host.RewriteHistoryFromAsync(1, newEntries: 4);

        var alone = await host.RegulatorAsync("audit", "verify-log", "--service", "governance");
        Assert.True(alone.ExitCode == 0, "Without a checkpoint held elsewhere, the rewrite is a consistent log:\n" + alone.Output);
        var entry = await host.RegulatorAsync("audit", "entry", "2", "--service", "governance");
        Assert.True(entry.ExitCode == 0, "A rewritten log proves its own entries:\n" + entry.Output);

        var verify = await host.RegulatorAsync("audit", "verify", "--service", "governance", "--file", saved, "--update");
        Assert.Equal(3, verify.ExitCode);
        Assert.Contains("ok      the latest checkpoint (5 entries", verify.Output, StringComparison.Ordinal);
        Assert.Contains("FAILED  the logs are inconsistent: the log of 5 entries does not extend the saved checkpoint of 3", verify.Output, StringComparison.Ordinal);
        Assert.Equal(3, SavedSize(saved));
        var held = await host.RegulatorAsync("audit", "verify-log", "--service", "governance", "--checkpoint-file", saved);
        Assert.Equal(3, held.ExitCode);
        Assert.Contains("PROBLEM CHECKPOINT_INCONSISTENT at 3:", held.Output, StringComparison.Ordinal);
        // Without the regulator's file: the checkpoint Consent kept when Governance published it.
        var witnessed = await host.RegulatorAsync("audit", "verify-log", "--service", "governance", "--witnessed-by", "consent");
        Assert.Equal(3, witnessed.ExitCode);
        Assert.Contains("consent keeps", witnessed.Output, StringComparison.Ordinal);
        Assert.Contains("PROBLEM CHECKPOINT_INCONSISTENT at 3:", witnessed.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_service_signing_with_another_key_than_the_saved_one_fails_verify_naming_both_keys()
    {
        var data = AuditHost.NewDataFolder();
        var saved = Path.Combine(data, "saved.json");
        string savedKey;
        await using (var host = await AuditHost.StartAsync(data))
        {
            await host.RegisterAsync("shopwave", "paylink");
            Assert.Equal(0, (await host.RegulatorAsync("audit", "checkpoint", "save", "--service", "governance", "--file", saved)).ExitCode);
            savedKey = NoteKey.ParseVerifierKey(JsonDocument.Parse(await File.ReadAllTextAsync(saved, Cancel)).RootElement.GetProperty("verifier_key").GetString()!)!.KeyIdHex;
        }

        var seed = RandomNumberGenerator.GetBytes(32);
        using var otherKey = Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey);
        var otherKeyId = NoteKey.Of(Origin, otherKey).KeyIdHex;
        await using (var host = await AuditHost.StartAsync(data, deleteOnDispose: true, $"--Oversight:Governance:AuditLog:SigningKey={Convert.ToBase64String(seed)}"))
        {
            await host.RegisterAsync("dashfood");
            var verify = await host.RegulatorAsync("audit", "verify", "--service", "governance", "--file", saved);
            Assert.Equal(3, verify.ExitCode);
            Assert.Contains($"FAILED  the latest checkpoint is not signed by the key {Origin}+{savedKey}: its origin is {Origin}, its signatures are by {Origin}+{otherKeyId}",
                verify.Output, StringComparison.Ordinal);
            Assert.Contains($"the service now serves the key {Origin}+{otherKeyId}; the saved key is {Origin}+{savedKey}", verify.Output, StringComparison.Ordinal);

            // An entry proved against the served key passes; against the saved one, the new key is caught.
            Assert.Equal(0, (await host.RegulatorAsync("audit", "entry", "0", "--service", "governance")).ExitCode);
            var entry = await host.RegulatorAsync("audit", "entry", "0", "--service", "governance", "--file", saved);
            Assert.Equal(3, entry.ExitCode);
            Assert.Contains($"ok      the saved key {Origin}+{savedKey}", entry.Output, StringComparison.Ordinal);
            Assert.Contains($"FAILED  the checkpoint is not signed by the key {Origin}+{savedKey}", entry.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Audit_without_a_service_is_refused_before_any_call()
    {
        var (exitCode, _, error) = await AuditHost.RunCliAsync(null, "--as", "central-bank", "--kind", "regulator", "--address", "http://127.0.0.1:1", "audit", "verify-log");
        Assert.Equal(1, exitCode);
        Assert.Contains("--service", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unavailable", error, StringComparison.Ordinal);
    }

    private static long SavedSize(string file)
    {
        var note = JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("checkpoint_note").GetString()!;
        return Checkpoint.ParseNote(note)!.TreeSize;
    }

    /// <summary>The host on its embedded default, on free ports and a data folder of its own, with the CLI pointed at it.</summary>
    internal sealed class AuditHost : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _data;
        private readonly bool _deleteOnDispose;
        private readonly Dictionary<string, string> _addresses;

        private AuditHost(Process process, string data, bool deleteOnDispose, Dictionary<string, string> addresses) =>
            (_process, _data, _deleteOnDispose, _addresses) = (process, data, deleteOnDispose, addresses);

        private static string CliAssembly => typeof(AuditCliTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "CliAssemblyPath").Value!;

        public static string NewDataFolder() => Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));

        public static Task<AuditHost> StartAsync() => StartAsync(NewDataFolder(), deleteOnDispose: true);

        public static Task<AuditHost> StartAsync(string data) => StartAsync(data, deleteOnDispose: false);

        public static async Task<AuditHost> StartAsync(string data, bool deleteOnDispose, params string[] arguments)
        {
            var (consentPort, governancePort, healthPort) = (HostProcessTests.FreePort(), HostProcessTests.FreePort(), HostProcessTests.FreePort());
            var process = HostProcessTests.Start(
                ["--data", data, $"--Oversight:Consent:Port={consentPort}", $"--Oversight:Governance:Port={governancePort}", $"--Oversight:Exchange:Port={HostProcessTests.FreePort()}", $"--Oversight:HealthPort={healthPort}", .. arguments]);
            await HostProcessTests.ReadUntilAsync(process, line => line.StartsWith("data ", StringComparison.Ordinal));
            // Keep reading, so the host never blocks on a full pipe.
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            return new AuditHost(process, data, deleteOnDispose, new()
            {
                ["OVERSIGHT_CONSENT_ADDRESS"] = $"http://127.0.0.1:{consentPort}",
                ["OVERSIGHT_GOVERNANCE_ADDRESS"] = $"http://127.0.0.1:{governancePort}",
            });
        }

        public string File(string name) => Path.Combine(_data, name);

        public Task<(int ExitCode, string Output, string Error)> CliAsync(params string[] arguments) => RunCliAsync(_addresses, arguments);

        public Task<(int ExitCode, string Output, string Error)> RegulatorAsync(params string[] arguments) =>
            CliAsync(["--as", "central-bank", "--kind", "regulator", .. arguments]);

        /// <summary>The operator registers platforms: one audit entry each.</summary>
        public async Task RegisterAsync(params string[] platforms)
        {
            foreach (var platform in platforms)
            {
                var (exitCode, output, error) = await CliAsync("--as", "operator", "--kind", "operator", "org", "register", platform, "platform", "--name", platform);
                Assert.True(exitCode == 0, output + error);
            }
        }

        /// <summary>Runs a statement on Governance's SQLite file behind the running host, as whoever runs the database could.</summary>
        public async Task TamperAsync(string sql)
        {
            await using var session = await Database().BeginAsync(Cancel);
            await session.ExecuteAsync(sql);
            await session.CommitAsync();
        }

        /// <summary>
        /// Replaces the log from <paramref name="from"/> on with other entries, appended by the building
        /// block itself so every leaf, subtree and the head agree, and deletes the service's own
        /// checkpoints: in one transaction, so the running host never signs a half-rewritten log.
        /// </summary>
        public async Task RewriteHistoryFromAsync(long from, int newEntries)
        {
            await using var session = await Database().BeginAsync(Cancel);
            await session.ExecuteAsync("DELETE FROM audit_entry WHERE sequence >= @From", new { From = from });
            await session.ExecuteAsync("DELETE FROM audit_tree_node WHERE (node_index + 1) * (1 << level) > @From", new { From = from });
            await session.ExecuteAsync("UPDATE audit_log_head SET size = @From", new { From = from });
            await session.ExecuteAsync("DELETE FROM audit_checkpoint");
            var log = new AuditLog(new SubjectReference(Convert.FromBase64String(SubjectReference.DevelopmentKey)), TimeProvider.System);
            for (var i = 0; i < newEntries; i++)
            {
                await log.AppendAsync(session, new AuditRecord("operator", "operator", "organisation.registered", $"organisation/forged-{i}", AuditOutcomes.Succeeded));
            }

            await session.CommitAsync();
        }

        private GovernanceFile Database() =>
            new(new DatabaseOptions { ConnectionString = $"Data Source={Path.Combine(_data, "governance.db")}" });

        public static async Task<(int ExitCode, string Output, string Error)> RunCliAsync(Dictionary<string, string>? environment, params string[] arguments)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(CliAssembly);
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment.Remove("OVERSIGHT_TOKEN");
            foreach (var (name, value) in environment ?? [])
            {
                start.Environment[name] = value;
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync(Cancel);
            var error = process.StandardError.ReadToEndAsync(Cancel);
            await process.WaitForExitAsync(Cancel);
            return (process.ExitCode, (await output).ReplaceLineEndings("\n"), (await error).ReplaceLineEndings("\n"));
        }

        public async ValueTask DisposeAsync()
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            _process.Dispose();
            SqliteConnection.ClearAllPools();
            if (_deleteOnDispose)
            {
                Directory.Delete(_data, recursive: true);
            }
        }
    }

    /// <summary>Governance's database file opened from outside its host (no migrations, nothing of the module).</summary>
    private sealed class GovernanceFile(DatabaseOptions options) : ModuleDatabase("governance", options);
}
