using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace Oversight.Suite.Tests;

/// <summary>
/// The README's walkthroughs as a reader pastes them: its bash blocks, read from README.md and run
/// as they stand by bash against a real host process, with <c>cli</c> defined to the built CLI
/// instead of <c>dotnet run</c>, so the README stays true. Every command must succeed, except a
/// block whose expected output is an error, which must fail with it.
/// </summary>
public sealed partial class CliWalkthroughTests
{
    private static string CliAssembly => typeof(CliWalkthroughTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "CliAssemblyPath").Value!;

    [Fact]
    public async Task The_consent_walkthrough_grants_checks_revokes_and_is_refused_bad_input()
    {
        var output = await RunSectionAsync("Try it");

        Assert.Matches(Line(@"decision\s+ALLOW"), output);
        Assert.Matches(Line(@"state\s+REVOKED"), output);
        Assert.Matches(Line(@"decision\s+DENY"), output);
        Assert.Matches(Line(@"reason\s+REVOKED"), output);
        Assert.Contains("error: InvalidArgument: 2 fields are invalid", output, StringComparison.Ordinal);
        Assert.Contains("'user.financial.nope' is not a known data category; ListDataCategories lists the known ones (cli registry categories)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_governance_walkthrough_founds_the_venture_and_puts_an_executive_voted_in_into_office()
    {
        var output = await RunSectionAsync("Try Governance");

        Assert.Matches(Line(@"state-investor\s+400,000\s+1\s+400,000\s+40\.00%"), output);
        Assert.Matches(Line(@"dashfood\s+100,000\s+0\s+100,000\s+10\.00%"), output);
        Assert.Matches(Line(@"state\s+SETTLED"), output);
        Assert.Matches(Line(@"state\s+PASSED"), output);
        Assert.Contains("for 600,000, against 300,000, abstain 0 of 1,000,000 entitled", output, StringComparison.Ordinal);
        Assert.Matches(Line(@"state\s+APPROVED"), output);
        Assert.Matches(Line(@"ceo\s+Li Wei\s+since "), output);
        Assert.Contains("executive.approved", output, StringComparison.Ordinal);
        Assert.Contains("more: --page-token ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_audit_walkthrough_verifies_a_log_keeps_a_checkpoint_checks_it_later_and_finds_a_subjects_entries()
    {
        var output = await RunSectionAsync("The audit log");

        Assert.Matches(Line(@"verified 1 entry and 0 checkpoints: root [0-9a-f]{64} of 1 entry"), output);
        Assert.Matches(Line(@"\s+saved the checkpoint of 1 entry and the key oversight/consent\+[0-9a-f]{8} to "), output);
        Assert.Contains("verified: entry 0 is in the log of 1 entry that oversight/consent signed", output, StringComparison.Ordinal);
        Assert.Contains("ok      the consistency proof (1 hash) shows the log of 2 entries extends the saved one of 1, only appended to", output, StringComparison.Ordinal);
        Assert.Contains("verified: the log of oversight/consent only grew since the saved checkpoint", output, StringComparison.Ordinal);
        Assert.Matches(Line(@"#1 .* shopwave \(platform\)  consent\.\w+  consent/\S+  succeeded  withdrawn in the app"), output);
        Assert.DoesNotContain("FAILED", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_exchange_walkthrough_fetches_only_consented_pseudonymised_minimised_records_and_follows_a_revoke_and_an_erasure()
    {
        var output = await RunSectionAsync("Try Exchange");

        Assert.Matches(Line(@"[0-9a-f-]{36}  PUBLISHED shopwave\s+user\.financial\.transactions\s+300 records  ShopWave card payments$"), output);
        Assert.Matches(Line(@"state\s+REJECTED$"), output);
        Assert.Contains("PURPOSE_NOT_COVERED: No active alliance of 'state-credit-bureau' covers the purpose 'anti_fraud'.", output, StringComparison.Ordinal);
        Assert.Matches(Line(@"state\s+APPROVED under alliance [0-9a-f-]{36} \(version \d+\); subjects pseudonymised$"), output);

        // The first fetch: the ten customers who never consented are withheld; only the fields asked for, under pseudonyms.
        Assert.Matches(Line(@"pages\s+3$"), output);
        Assert.Matches(Line(@"delivered\s+270 records, written to .*/first\.csv$"), output);
        Assert.Matches(Line(@"withheld\s+30 NO_CONSENT$"), output);
        Assert.Matches(Line("dataset_id,subject,record_key,occur_time,amount,merchant_category$"), output);
        Assert.Matches(Line(@"[0-9a-f-]{36},[0-9a-f]{64},txn-001-1,2026-10-\d\dT[\d:]+Z,\d+\.\d\d,[a-z]+$"), output);
        Assert.DoesNotContain(output.Split('\n'), line => line.Contains(",txn-", StringComparison.Ordinal) && line.Contains("customer-", StringComparison.Ordinal));

        // After the revoke: that customer's three records are withheld too, and its pseudonym is the one gone.
        Assert.Matches(Line(@"delivered\s+267 records$"), output);
        Assert.Matches(Line(@"withheld\s+30 NO_CONSENT, 3 REVOKED$"), output);
        Assert.Matches(Line("[0-9a-f]{64}$"), output);

        // The erasure is confirmed with the count, and the dataset lost those records.
        Assert.Matches(Line(@"state\s+COMPLETED$"), output);
        Assert.Matches(Line(@"confirmed\s+.*: 3 record\(s\) erased$"), output);
        Assert.Matches(Line(@"records\s+297$"), output);

        // A delivery page's entry, proved against the signed checkpoint; then the purge is attested.
        Assert.Matches(Line(@"action\s+delivery\.page delivery/[0-9a-f-]{36}: succeeded, page 1: 267 record\(s\) delivered, 33 withheld$"), output);
        Assert.Matches(Line(@"\s+verified: entry \d+ is in the log of \d+ entries that oversight/exchange signed$"), output);
        Assert.Matches(Line(@"purge\s+purged .*: deleted from the scoring store$"), output);

        // An upload from a CSV file (a quoted comma included): one new, one replacing, one refused; then the same file again.
        Assert.Matches(Line(@"accepted\s+2 \(of which 1 replaced a stored record\)$"), output);
        Assert.Matches(Line(@"  txn-006-4  amount: must be a decimal number such as 1234\.50$"), output);
        Assert.Matches(Line(@"unchanged\s+2$"), output);
        Assert.DoesNotContain("FAILED", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs the bash blocks of one README section in one bash process (so shell variables carry from
    /// block to block) against a fresh host. A block that starts the host gives its configuration
    /// arguments (and <c>--demo</c>) to the test's host instead, which listens on free ports and a data folder of its own.
    /// </summary>
    private static async Task<string> RunSectionAsync(string heading)
    {
        var blocks = BashBlocks(heading);
        Assert.NotEmpty(blocks);
        var hostBlocks = blocks.Where(b => b.Contains("--project services/Oversight.Host", StringComparison.Ordinal)).ToList();
        var hostArguments = hostBlocks.SelectMany(b => HostArgument().Matches(b).Select(m => m.Value)).ToArray();

        var script = new StringBuilder("set -eu\n");
        script.AppendLine($"cli() {{ dotnet '{CliAssembly}' \"$@\"; }}");
        foreach (var block in blocks.Except(hostBlocks))
        {
            // The README's own definition of cli (dotnet run) gives way to the one above.
            var body = string.Join('\n', block.Split('\n').Where(line => !CliDefinition().IsMatch(line)));
            if (block.Contains("\n#   error:", StringComparison.Ordinal))
            {
                script.AppendLine($"if (\n{body}\n) 2>&1; then echo 'a README block that shows an error succeeded' >&2; exit 97; fi");
            }
            else
            {
                script.AppendLine(body);
            }
        }

        var data = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));
        var (consentPort, governancePort, exchangePort, healthPort) = (HostProcessTests.FreePort(), HostProcessTests.FreePort(), HostProcessTests.FreePort(), HostProcessTests.FreePort());
        using var host = HostProcessTests.Start(
            ["--data", data, $"--Oversight:Consent:Port={consentPort}", $"--Oversight:Governance:Port={governancePort}", $"--Oversight:Exchange:Port={exchangePort}", $"--Oversight:HealthPort={healthPort}", .. hostArguments]);
        var scriptFile = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N") + ".sh");
        try
        {
            await HostProcessTests.ReadUntilAsync(host, line => line.StartsWith("data ", StringComparison.Ordinal));
            // Keep reading, so the host never blocks on a full pipe.
            _ = host.StandardOutput.ReadToEndAsync();
            _ = host.StandardError.ReadToEndAsync();

            await File.WriteAllTextAsync(scriptFile, script.ToString());
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(scriptFile);
            start.WorkingDirectory = HostProcessTests.RepositoryRoot;
            start.Environment["OVERSIGHT_CONSENT_ADDRESS"] = $"http://127.0.0.1:{consentPort}";
            start.Environment["OVERSIGHT_GOVERNANCE_ADDRESS"] = $"http://127.0.0.1:{governancePort}";
            start.Environment["OVERSIGHT_EXCHANGE_ADDRESS"] = $"http://127.0.0.1:{exchangePort}";
            start.Environment.Remove("OVERSIGHT_TOKEN");
            using var bash = Process.Start(start)!;
            var output = bash.StandardOutput.ReadToEndAsync();
            var error = bash.StandardError.ReadToEndAsync();
            // A generous bound for a walkthrough that waits for a vote to open and close; not a speed test.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            try
            {
                await bash.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                bash.Kill(entireProcessTree: true);
                Assert.Fail($"The README's '{heading}' blocks did not finish:\n{await output}{await error}");
            }

            Assert.True(bash.ExitCode == 0, $"The README's '{heading}' blocks failed ({bash.ExitCode}):\n{await output}{await error}\n--- script:\n{script}");
            return await output;
        }
        finally
        {
            host.Kill(entireProcessTree: true);
            await host.WaitForExitAsync();
            Directory.Delete(data, recursive: true);
            File.Delete(scriptFile);
        }
    }

    /// <summary>The bodies of the bash blocks between a "## HEADING…" line and the next level-2 heading.</summary>
    private static List<string> BashBlocks(string heading)
    {
        var readme = File.ReadAllText(Path.Combine(HostProcessTests.RepositoryRoot, "README.md")).ReplaceLineEndings("\n");
        var start = readme.IndexOf($"\n## {heading}", StringComparison.Ordinal);
        Assert.True(start >= 0, $"README.md has no section '## {heading}'.");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = end < 0 ? readme[start..] : readme[start..end];
        return BashBlock().Matches(section).Select(m => m.Groups["body"].Value).ToList();
    }

    private static Regex Line(string pattern) => new($"^{pattern}", RegexOptions.Multiline);

    [GeneratedRegex(@"^```bash\n(?<body>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex BashBlock();

    [GeneratedRegex(@"^cli\(\)\s*\{.*\}\s*$")]
    private static partial Regex CliDefinition();

    /// <summary>What a README block that starts the host gives it besides the ports and the data folder: settings, and --demo.</summary>
    [GeneratedRegex(@"--Oversight:\S+=\S+|--demo\b")]
    private static partial Regex HostArgument();
}
