using System.Data.Common;
using System.Diagnostics;
using Grpc.Core;

namespace Oversight.Benchmarks;

/// <summary>What one scenario achieved in its measured window.</summary>
public sealed record Measurement(string Scenario, long Calls, long Items, long Failed, TimeSpan Elapsed, TimeSpan Cpu, TimeSpan P50, TimeSpan P99)
{
    public double CallsPerSecond => Calls / Elapsed.TotalSeconds;

    public double ItemsPerSecond => Items / Elapsed.TotalSeconds;

    /// <summary>Cores the whole process (client and server) kept busy: below the core count means something waits.</summary>
    public double CoresBusy => Cpu / Elapsed;

    /// <summary>Process CPU time per completed call, client and server together.</summary>
    public double CpuMicrosecondsPerCall => Cpu.TotalMicroseconds / Math.Max(Calls, 1);
}

/// <summary>
/// A closed-loop load: a fixed number of callers, each starting its next call when the last one
/// returns, for a warm-up window (discarded) and then a measured window.
/// </summary>
public sealed class ClosedLoop(int concurrency, TimeSpan warmup, TimeSpan duration)
{
    // A safety bound so no loop can run away even if the clock misbehaves.
    private const long MaxCallsPerCaller = 50_000_000;

    /// <param name="call">Makes one call; returns how many items (decisions, grants…) it completed.</param>
    public async Task<Measurement> MeasureAsync(string scenario, Func<Task<int>> call)
    {
        await RunAsync(warmup, call);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var (calls, items, failed, elapsed, latencies) = await RunAsync(duration, call);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        return new Measurement(scenario, calls, items, failed, elapsed, cpu, Percentile(latencies, 0.50), Percentile(latencies, 0.99));
    }

    private async Task<(long Calls, long Items, long Failed, TimeSpan Elapsed, long[] Latencies)> RunAsync(TimeSpan window, Func<Task<int>> call)
    {
        long calls = 0, items = 0, failed = 0;
        var clock = Stopwatch.StartNew();

        // Each caller keeps its own latencies (Stopwatch ticks of completed calls): no lock on the hot path.
        async Task<List<long>> CallerAsync()
        {
            var latencies = new List<long>();
            for (long n = 0; n < MaxCallsPerCaller && clock.Elapsed < window; n++)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var completed = await call();
                    latencies.Add(Stopwatch.GetTimestamp() - started);
                    Interlocked.Increment(ref calls);
                    Interlocked.Add(ref items, completed);
                }
                catch (Exception exception) when (exception is RpcException or DbException)
                {
                    // Counted, never passed off as throughput; the table shows them.
                    Interlocked.Increment(ref failed);
                }
            }

            return latencies;
        }

        var perCaller = await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(CallerAsync)));
        // Calls in flight at the deadline finish and count, so the window ends when the last one does.
        var elapsed = clock.Elapsed;
        var all = perCaller.SelectMany(l => l).ToArray();
        Array.Sort(all);
        return (calls, items, failed, elapsed, all);
    }

    // Nearest rank over the sorted latencies of completed calls.
    private static TimeSpan Percentile(long[] sorted, double fraction) => sorted.Length == 0
        ? TimeSpan.Zero
        : Stopwatch.GetElapsedTime(0, sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Length) - 1, 0, sorted.Length - 1)]);
}
