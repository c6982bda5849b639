using System.Runtime.InteropServices;
using Grpc.Core;
using Grpc.Net.Client;
using Oversight.Benchmarks.V1;
using Oversight.Consent.V1;

namespace Oversight.Benchmarks;

/// <summary>
/// The Consent suite (the default): unary and batch checks against the no-op Ping, then grants.
/// </summary>
public static class ConsentSuite
{
    public static async Task<int> RunAsync(int concurrency, double seconds, double warmupSeconds, int subjectCount, int batchSize)
    {
        if (concurrency < 1 || seconds <= 0 || warmupSeconds < 0 || subjectCount < 1 || batchSize < 2 || batchSize > subjectCount)
        {
            await Console.Error.WriteLineAsync("Need --concurrency ≥ 1, --seconds > 0, --warmup ≥ 0, --subjects ≥ 1 and 2 ≤ --batch ≤ --subjects.");
            return 2;
        }

        string[] categories = ["user.financial.transactions", "user.financial.credit"];
        const string Purpose = "credit_assessment";

        await using var server = await BenchmarkServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions
        {
            // One channel; more than one HTTP/2 connection once a connection's stream limit is reached.
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        });
        var platformHeaders = Grants.Bearer(server.Tokens.Mint(BenchmarkServer.Platform, "platform"));
        var institutionHeaders = Grants.Bearer(server.Tokens.Mint(BenchmarkServer.Institution, "institution"));
        var ping = new BenchmarkService.BenchmarkServiceClient(channel);
        var consent = new ConsentService.ConsentServiceClient(channel);
        CallOptions As(Metadata headers) => new(headers, DateTime.UtcNow.AddSeconds(30));

        Console.WriteLine($"Server {server.Address} (h2c), data {server.DataDirectory}");
        Console.WriteLine($"{Environment.ProcessorCount} logical CPUs shared by client and server; {RuntimeInformation.FrameworkDescription}; {RuntimeInformation.OSDescription}");

        // Data for the checks to read, written through the real GrantConsent RPC.
        var subjects = Enumerable.Range(0, subjectCount).Select(i => $"bench-subject-{i:D6}").ToArray();
        var seeding = System.Diagnostics.Stopwatch.StartNew();
        await Parallel.ForEachAsync(subjects, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (subject, _) =>
            await consent.GrantConsentAsync(Grants.New(subject, categories), As(platformHeaders)));
        Console.WriteLine($"Granted {subjectCount:N0} subjects in {seeding.Elapsed.TotalSeconds:N1} s.");

        CheckConsentRequest NewCheck() => new()
        {
            SubjectId = subjects[Random.Shared.Next(subjects.Length)],
            ControllerId = BenchmarkServer.Platform,
            RecipientId = BenchmarkServer.Institution,
            Purpose = Purpose,
            DataCategory = categories[Random.Shared.Next(categories.Length)],
        };

        BatchCheckConsentRequest NewBatch()
        {
            // A run of consecutive subjects from a random start: distinct, and different each call.
            var start = Random.Shared.Next(subjects.Length);
            var request = new BatchCheckConsentRequest { ControllerId = BenchmarkServer.Platform, RecipientId = BenchmarkServer.Institution, Purpose = Purpose };
            request.SubjectIds.AddRange(Enumerable.Range(0, batchSize).Select(k => subjects[(start + k) % subjects.Length]));
            request.DataCategories.AddRange(categories);
            return request;
        }

        // A benchmark of denials would measure the wrong path: make sure the seeded data allows.
        var probe = await consent.BatchCheckConsentAsync(NewBatch(), As(institutionHeaders));
        if (probe.Decisions.Count != batchSize * categories.Length || probe.Decisions.Any(d => d.Decision != Decision.Allow))
        {
            await Console.Error.WriteLineAsync("The seeded consents do not allow the checks; the measurement would be meaningless.");
            return 1;
        }

        var loop = new ClosedLoop(concurrency, TimeSpan.FromSeconds(warmupSeconds), TimeSpan.FromSeconds(seconds));
        Console.WriteLine($"Each scenario: {concurrency} concurrent callers, {warmupSeconds:0.#} s warm-up, {seconds:0.#} s measured.");

        async Task<int> PingAsync()
        {
            await ping.PingAsync(new PingRequest(), As(institutionHeaders));
            return 1;
        }

        async Task<int> CheckAsync()
        {
            await consent.CheckConsentAsync(NewCheck(), As(institutionHeaders));
            return 1;
        }

        // A fresh process's first calls run while the JIT still tiers the shared gRPC pipeline up: a
        // baseline measured first ran at a quarter of its later rate. One round of each, discarded, first.
        await loop.MeasureAsync("warming up, not reported", PingAsync);
        await loop.MeasureAsync("warming up, not reported", CheckAsync);
        var baseline = await loop.MeasureAsync("Ping (baseline, no-op)", PingAsync);
        var check = await loop.MeasureAsync("CheckConsent", CheckAsync);
        var batch = await loop.MeasureAsync($"BatchCheckConsent ({batchSize} × {categories.Length})", async () =>
        {
            var response = await consent.BatchCheckConsentAsync(NewBatch(), As(institutionHeaders));
            return response.Decisions.Count;
        });
        // Last, so the grants it adds do not change what the checks read.
        var grantNumber = 0;
        var grant = await loop.MeasureAsync("GrantConsent", async () =>
        {
            await consent.GrantConsentAsync(Grants.New($"bench-grant-{Interlocked.Increment(ref grantNumber):D8}", categories), As(platformHeaders));
            return 1;
        });

        Console.WriteLine();
        Console.WriteLine("| scenario | calls/s | items/s | ratio to baseline | failed calls | CPU µs/call | cores busy |");
        Console.WriteLine("|---|---:|---:|---|---:|---:|---:|");
        foreach (var m in new[] { baseline, check, batch, grant })
        {
            var ratio = $"{m.CallsPerSecond / baseline.CallsPerSecond:N3}× calls";
            if (m == batch)
            {
                ratio += $"; items/s = {batch.ItemsPerSecond / check.CallsPerSecond:N1}× unary check calls/s";
            }

            Console.WriteLine($"| {m.Scenario} | {m.CallsPerSecond:N0} | {m.ItemsPerSecond:N0} | {ratio} | {m.Failed:N0} | {m.CpuMicrosecondsPerCall:N0} | {m.CoresBusy:N2} |");
        }

        Console.WriteLine();
        Verdict.Print($"unary check calls/s ≥ 0.5 × baseline calls/s: {check.CallsPerSecond:N0} vs {0.5 * baseline.CallsPerSecond:N0}",
            check.CallsPerSecond >= 0.5 * baseline.CallsPerSecond);
        Verdict.Print($"batch check items/s ≥ 10 × unary check calls/s: {batch.ItemsPerSecond:N0} vs {10 * check.CallsPerSecond:N0}",
            batch.ItemsPerSecond >= 10 * check.CallsPerSecond);
        // A measurement, not a test: the verdicts are printed, the exit code stays 0.
        return 0;
    }
}
