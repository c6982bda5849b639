using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Oversight.Suite.Tests;

/// <summary>
/// The README's Governance walkthrough, command for command, as real processes of the CLI against a
/// real host process, so the README stays true. Only the notice period, the voting window and the
/// tally interval are shorter.
/// </summary>
public sealed partial class CliWalkthroughTests
{
    private const string Operator = "--as operator --kind operator";
    private const string Regulator = "--as central-bank --kind regulator";

    private static string CliAssembly => typeof(CliWalkthroughTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "CliAssemblyPath").Value!;

    private string _governanceAddress = "";

    [Fact]
    public async Task The_walkthrough_founds_the_venture_and_puts_an_executive_voted_in_into_office()
    {
        var data = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));
        var (consentPort, governancePort, healthPort) = (HostProcessTests.FreePort(), HostProcessTests.FreePort(), HostProcessTests.FreePort());
        using var host = HostProcessTests.Start("--data", data, $"--Oversight:Consent:Port={consentPort}", $"--Oversight:Governance:Port={governancePort}",
            $"--Oversight:HealthPort={healthPort}", "--Oversight:Governance:Rulebook:NoticePeriod=00:00:02", "--Oversight:Governance:TallyInterval=00:00:01");
        _governanceAddress = $"http://127.0.0.1:{governancePort}";
        try
        {
            await HostProcessTests.ReadUntilAsync(host, line => line.StartsWith("data ", StringComparison.Ordinal));
            // Keep reading, so the host never blocks on a full pipe.
            _ = host.StandardOutput.ReadToEndAsync();
            _ = host.StandardError.ReadToEndAsync();

            await CliAsync($"""{Operator} org register central-bank regulator --name "Central Bank (regulator)" """);
            await CliAsync($"""{Operator} org register state-investor state_investor --name "State Investment Holdings" """);
            await CliAsync($"""{Operator} org register shopwave platform --name "ShopWave (e-commerce)" """);
            await CliAsync($"""{Operator} org register paylink platform --name "PayLink (payments)" """);
            await CliAsync($"""{Operator} org register dashfood platform --name "DashFood (delivery)" """);
            await CliAsync($"""{Operator} org register state-credit-bureau institution --name "State Credit Reference Bureau" """);
            var organisations = await CliAsync($"{Operator} org list");
            Assert.Equal(6, organisations.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

            var founded = await CliAsync($"{Operator} venture found --class ordinary:ordinary:1:1000000 --class management:management:0:1 "
                + "--allocate state-investor:ordinary:400000 --allocate state-investor:management:1 "
                + "--allocate shopwave:ordinary:300000 --allocate paylink:ordinary:300000");
            Assert.Equal(("400,000", "40.00%"), CapTableRow(founded, "state-investor"));
            AssertSumsToAHundredPercent(await CliAsync($"{Regulator} venture cap-table"));

            var requested = await CliAsync("--as shopwave --kind platform transfer request --buyer dashfood --quantity 100000");
            Assert.StartsWith("AWAITING_REGULATOR", Field(requested, "state"), StringComparison.Ordinal);
            var queue = await CliAsync($"{Regulator} transfer list --state awaiting_regulator");
            Assert.Matches($@"^{Field(requested, "transfer")}\s+AWAITING_REGULATOR\s+100,000 ordinary shopwave -> dashfood ", queue);
            Assert.Single(queue.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            var approved = await CliAsync($"""{Regulator} transfer approve {Field(requested, "transfer")} --reason "fit and proper" """);
            Assert.Equal("SETTLED", Field(approved, "state"));
            var table = await CliAsync("--as dashfood --kind platform venture cap-table");
            Assert.Equal(("100,000", "10.00%"), CapTableRow(table, "dashfood"));
            AssertSumsToAHundredPercent(table);

            var created = await CliAsync("""
                --as state-investor --kind state_investor proposal create --category ordinary
                --title "Appoint Li Wei as chief executive" --appoint-executive ceo --person "Li Wei"
                --open-in 4s --window 8s
                """);
            Assert.Equal("SCHEDULED", Field(created, "state"));
            var proposal = Field(created, "proposal");

            await ProposalStateAsync(proposal, "OPEN");
            await Task.WhenAll(
                CliAsync($"--as state-investor --kind state_investor proposal vote {proposal} for"),
                CliAsync($"--as shopwave --kind platform proposal vote {proposal} for"),
                CliAsync($"--as paylink --kind platform proposal vote {proposal} against"));

            var passed = await ProposalStateAsync(proposal, "PASSED");
            Assert.Equal("for 600,000, against 300,000, abstain 0 of 1,000,000 entitled", Field(passed, "tally"));

            // No --effective: in office from the approval (an earlier time is refused: no backdating).
            var approving = DateTimeOffset.UtcNow;
            var appointment = await CliAsync($"{Regulator} executive approve {Field(passed, "appointment")}");
            Assert.Equal("APPROVED", Field(appointment, "state"));
            var effective = DateTimeOffset.ParseExact(Field(appointment, "effective"), "u", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            Assert.InRange(effective, approving.AddSeconds(-1), DateTimeOffset.UtcNow);

            var inOffice = await CliAsync("--as dashfood --kind platform executive list");
            Assert.Matches($@"^ceo\s+Li Wei\s+since {Field(appointment, "effective")} ", inOffice);

            var audit = await CliAsync($"{Regulator} audit governance --page-size 5");
            Assert.Contains("executive.approved", audit, StringComparison.Ordinal);
            Assert.Contains("more: --page-token ", audit, StringComparison.Ordinal);
        }
        finally
        {
            host.Kill(entireProcessTree: true);
            await host.WaitForExitAsync();
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>Runs the CLI with a README command line (double quotes group words) against this test's host; it must succeed.</summary>
    private async Task<string> CliAsync(string commandLine)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(CliAssembly);
        foreach (Match word in Word().Matches(commandLine))
        {
            start.ArgumentList.Add(word.Groups["quoted"].Success ? word.Groups["quoted"].Value : word.Value);
        }

        start.Environment["OVERSIGHT_GOVERNANCE_ADDRESS"] = _governanceAddress;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"oversight-cli {commandLine.ReplaceLineEndings(" ")} exited {process.ExitCode}:\n{await output}{await error}");
        return await output;
    }

    /// <summary>Polls <c>proposal get</c> until the proposal is in the state; the tally runs on the host's clock, so no fixed sleep.</summary>
    private async Task<string> ProposalStateAsync(string proposal, string state)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var shown = await CliAsync($"--as paylink --kind platform proposal get {proposal}");
            if (Field(shown, "state") == state)
            {
                return shown;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"The proposal never became {state}:\n{shown}");
            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
    }

    /// <summary>The value of a "label   value" line, as the CLI prints fields and table rows.</summary>
    private static string Field(string output, string label)
    {
        var match = Regex.Match(output, $@"^{Regex.Escape(label)}\s+(.+?)\s*$", RegexOptions.Multiline);
        Assert.True(match.Success, $"No '{label}' in:\n{output}");
        return match.Groups[1].Value;
    }

    private static (string Ordinary, string Percent) CapTableRow(string table, string holder)
    {
        var columns = Field(table, holder).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (columns[0], columns[^1]);
    }

    private static void AssertSumsToAHundredPercent(string table)
    {
        var rows = table.Split('\n').SkipWhile(l => !l.StartsWith("holder ", StringComparison.Ordinal)).Skip(1).TakeWhile(l => !l.StartsWith("total ", StringComparison.Ordinal));
        var basisPoints = rows.Sum(row => int.Parse(row.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1].TrimEnd('%').Replace(".", "", StringComparison.Ordinal), CultureInfo.InvariantCulture));
        Assert.Equal(10_000, basisPoints);
        Assert.Equal("100.00%", CapTableRow(table, "total").Percent);
    }

    [GeneratedRegex("\"(?<quoted>[^\"]*)\"|\\S+")]
    private static partial Regex Word();
}
