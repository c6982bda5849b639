namespace Oversight.Benchmarks;

/// <summary>A target's verdict, printed: a measurement, not a test, so the exit code stays 0.</summary>
public static class Verdict
{
    public static void Print(string what, bool met) => Console.WriteLine($"{(met ? "PASS" : "FAIL")}: {what}");
}
