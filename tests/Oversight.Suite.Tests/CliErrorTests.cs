using System.Diagnostics;
using System.Reflection;

namespace Oversight.Suite.Tests;

/// <summary>The CLI's own refusals: a mistake on the command line is named in a line or two, before any call.</summary>
public sealed class CliErrorTests
{
    private static string CliAssembly => typeof(CliErrorTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "CliAssemblyPath").Value!;

    // Nothing listens on port 1: a command that got as far as calling would fail with UNAVAILABLE instead.
    private const string Nowhere = "--address http://127.0.0.1:1";

    [Fact]
    public async Task As_without_kind_says_so_without_burying_it_under_the_help()
    {
        var (exitCode, error) = await CliAsync($"--as shopwave {Nowhere} consent list --subject alice");
        Assert.Equal(1, exitCode);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["error: --as needs --kind.", "  options: oversight-cli consent list --help"], lines);
    }

    [Fact]
    public async Task An_unknown_kind_is_refused_before_calling_with_the_valid_kinds()
    {
        var (exitCode, error) = await CliAsync($"--as shopwave --kind platfrom {Nowhere} consent list --subject alice");
        Assert.Equal(1, exitCode);
        Assert.Contains("--kind 'platfrom' is not an organisation kind; the kinds are platform, institution, regulator, state_investor, operator.", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unavailable", error, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Error)> CliAsync(string commandLine)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(CliAssembly);
        foreach (var word in commandLine.Split(' '))
        {
            start.ArgumentList.Add(word);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        await output;
        return (process.ExitCode, (await error).ReplaceLineEndings("\n"));
    }
}
