using System.CommandLine;
using System.Runtime.InteropServices;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Oversight.Benchmarks;
using Oversight.Benchmarks.V1;
using Oversight.Consent.V1;

// dotnet run -c Release --project tests/Oversight.Benchmarks [-- --concurrency 16 --seconds 5 --warmup 2 --subjects 2000 --batch 500]

var concurrencyOption = new Option<int>("--concurrency") { Description = "Concurrent callers in every scenario.", DefaultValueFactory = _ => 16 };
var secondsOption = new Option<double>("--seconds") { Description = "Measured seconds per scenario.", DefaultValueFactory = _ => 5 };
var warmupOption = new Option<double>("--warmup") { Description = "Warm-up seconds per scenario (not counted).", DefaultValueFactory = _ => 2 };
var subjectsOption = new Option<int>("--subjects") { Description = "Subjects granted before the checks run.", DefaultValueFactory = _ => 2000 };
var batchOption = new Option<int>("--batch") { Description = "Subjects per batch check (each checked for two categories).", DefaultValueFactory = _ => 500 };
var root = new RootCommand("Measures the Consent service on the embedded default against a no-op gRPC baseline.")
{
    concurrencyOption, secondsOption, warmupOption, subjectsOption, batchOption,
};
root.SetAction((parse, _) => RunAsync(
    parse.GetValue(concurrencyOption), parse.GetValue(secondsOption), parse.GetValue(warmupOption),
    parse.GetValue(subjectsOption), parse.GetValue(batchOption)));
return await root.Parse(args).InvokeAsync();

static async Task<int> RunAsync(int concurrency, double seconds, double warmupSeconds, int subjectCount, int batchSize)
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
    var platformHeaders = Bearer(server.Tokens.Mint(BenchmarkServer.Platform, "platform"));
    var institutionHeaders = Bearer(server.Tokens.Mint(BenchmarkServer.Institution, "institution"));
    var ping = new BenchmarkService.BenchmarkServiceClient(channel);
    var consent = new ConsentService.ConsentServiceClient(channel);
    CallOptions As(Metadata headers) => new(headers, DateTime.UtcNow.AddSeconds(30));

    Console.WriteLine($"Server {server.Address} (h2c), data {server.DataDirectory}");
    Console.WriteLine($"{Environment.ProcessorCount} logical CPUs shared by client and server; {RuntimeInformation.FrameworkDescription}; {RuntimeInformation.OSDescription}");

    // Data for the checks to read, written through the real GrantConsent RPC.
    var subjects = Enumerable.Range(0, subjectCount).Select(i => $"bench-subject-{i:D6}").ToArray();
    var seeding = System.Diagnostics.Stopwatch.StartNew();
    await Parallel.ForEachAsync(subjects, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (subject, _) =>
        await consent.GrantConsentAsync(NewGrant(subject, categories), As(platformHeaders)));
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

    var baseline = await loop.MeasureAsync("Ping (baseline, no-op)", async () =>
    {
        await ping.PingAsync(new PingRequest(), As(institutionHeaders));
        return 1;
    });
    var check = await loop.MeasureAsync("CheckConsent", async () =>
    {
        await consent.CheckConsentAsync(NewCheck(), As(institutionHeaders));
        return 1;
    });
    var batch = await loop.MeasureAsync($"BatchCheckConsent ({batchSize} × {categories.Length})", async () =>
    {
        var response = await consent.BatchCheckConsentAsync(NewBatch(), As(institutionHeaders));
        return response.Decisions.Count;
    });
    // Last, so the grants it adds do not change what the checks read.
    var grantNumber = 0;
    var grant = await loop.MeasureAsync("GrantConsent", async () =>
    {
        await consent.GrantConsentAsync(NewGrant($"bench-grant-{Interlocked.Increment(ref grantNumber):D8}", categories), As(platformHeaders));
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
    Target($"unary check calls/s ≥ 0.5 × baseline calls/s: {check.CallsPerSecond:N0} vs {0.5 * baseline.CallsPerSecond:N0}",
        check.CallsPerSecond >= 0.5 * baseline.CallsPerSecond);
    Target($"batch check items/s ≥ 10 × unary check calls/s: {batch.ItemsPerSecond:N0} vs {10 * check.CallsPerSecond:N0}",
        batch.ItemsPerSecond >= 10 * check.CallsPerSecond);
    // A measurement, not a test: the verdicts are printed, the exit code stays 0.
    return 0;
}

static void Target(string what, bool met) => Console.WriteLine($"{(met ? "PASS" : "FAIL")}: {what}");

static Metadata Bearer(string token) => new() { { "Authorization", $"Bearer {token}" } };

// A grant a platform could send as it is (as the Consent tests build it): sensitive categories
// with separate consent, 30 days, VIEW.
static GrantConsentRequest NewGrant(string subjectId, string[] categories)
{
    var now = DateTimeOffset.UtcNow;
    return new GrantConsentRequest
    {
        RequestId = Guid.NewGuid().ToString("N"),
        SubjectId = subjectId,
        Terms = new ConsentTerms
        {
            RecipientId = BenchmarkServer.Institution,
            Purpose = "credit_assessment",
            DataCategories = { categories },
            ValidUntil = Timestamp.FromDateTimeOffset(now.AddDays(30)),
            Mode = ConsentMode.View,
            Evidence = new ConsentEvidence
            {
                CollectionMethod = CollectionMethod.App,
                NoticeId = "privacy-notice",
                NoticeVersion = "2026-10",
                NoticeContentSha256 = new string('a', 64),
                CollectTime = Timestamp.FromDateTimeOffset(now.AddMinutes(-1)),
                Language = "zh-CN",
                Jurisdiction = "CN",
                SeparateConsent = true,
            },
        },
    };
}
