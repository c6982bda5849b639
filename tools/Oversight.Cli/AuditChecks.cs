namespace Oversight.Cli;

/// <summary>
/// What a verification checked, a line each as it goes — "ok" or "FAILED" and what — so a reader
/// sees exactly what was established and what was not. Any failure makes the exit code 3.
/// </summary>
internal sealed class AuditChecks(TextWriter report)
{
    /// <summary>The exit code of a verification that found a problem (1 is a call or a command line that failed).</summary>
    public const int FailedExitCode = 3;

    public bool Failed { get; private set; }

    public int ExitCode => Failed ? FailedExitCode : 0;

    /// <summary>Reports one check; <paramref name="failed"/> says what is wrong when it did not pass.</summary>
    public bool Check(bool passed, string checkedWhat, string failed)
    {
        report.WriteLine(passed ? $"ok      {checkedWhat}" : $"FAILED  {failed}");
        Failed |= !passed;
        return passed;
    }

    /// <summary>What the checks after it need (a file to read, a checkpoint sent): reported only when it is missing.</summary>
    public bool Require(bool present, string missing) => present || Check(false, "", missing);

    /// <summary>Reports a line that states a fact without checking it.</summary>
    public void Note(string text) => report.WriteLine($"        {text}");
}
