using System.CommandLine;
using Oversight.Benchmarks;

// dotnet run -c Release --project tests/Oversight.Benchmarks [-- --suite consent --concurrency 16 --seconds 5 --warmup 2 --subjects 2000 --batch 500]
// dotnet run -c Release --project tests/Oversight.Benchmarks -- --suite audit [--log-entries 1000000 --seed-batch 10000]
// dotnet run -c Release --project tests/Oversight.Benchmarks -- --suite exchange [--records 1000000]

var suiteOption = new Option<string>("--suite")
{
    Description = "consent (checks and grants), audit (the Merkle audit log) or exchange (uploads, deliveries, memory).", DefaultValueFactory = _ => "consent",
};
var concurrencyOption = new Option<int>("--concurrency") { Description = "Concurrent callers in every scenario.", DefaultValueFactory = _ => 16 };
var secondsOption = new Option<double>("--seconds") { Description = "Measured seconds per scenario.", DefaultValueFactory = _ => 5 };
var warmupOption = new Option<double>("--warmup") { Description = "Warm-up seconds per scenario (not counted).", DefaultValueFactory = _ => 2 };
var subjectsOption = new Option<int>("--subjects") { Description = "Consent suite: subjects granted before the checks run.", DefaultValueFactory = _ => 2000 };
var batchOption = new Option<int>("--batch") { Description = "Consent suite: subjects per batch check (each checked for two categories).", DefaultValueFactory = _ => 500 };
var logEntriesOption = new Option<int>("--log-entries") { Description = "Audit suite: entries in the log the proofs and the verifier run on.", DefaultValueFactory = _ => 1_000_000 };
var seedBatchOption = new Option<int>("--seed-batch") { Description = "Audit suite: appends per transaction while seeding the log (seeding only).", DefaultValueFactory = _ => 10_000 };
var recordsOption = new Option<int>("--records") { Description = "Exchange suite: records uploaded and delivered (also measured at 100,000 first).", DefaultValueFactory = _ => 1_000_000 };
suiteOption.AcceptOnlyFromAmong("consent", "audit", "exchange");
var root = new RootCommand("Measures the services and the audit log on the embedded default against baselines measured in the same run.")
{
    suiteOption, concurrencyOption, secondsOption, warmupOption, subjectsOption, batchOption, logEntriesOption, seedBatchOption, recordsOption,
};
root.SetAction((parse, _) => parse.GetValue(suiteOption) switch
{
    "audit" => AuditSuite.RunAsync(
        parse.GetValue(concurrencyOption), parse.GetValue(secondsOption), parse.GetValue(warmupOption),
        parse.GetValue(logEntriesOption), parse.GetValue(seedBatchOption)),
    "exchange" => ExchangeSuite.RunAsync(parse.GetValue(recordsOption)),
    _ => ConsentSuite.RunAsync(
        parse.GetValue(concurrencyOption), parse.GetValue(secondsOption), parse.GetValue(warmupOption),
        parse.GetValue(subjectsOption), parse.GetValue(batchOption)),
});
return await root.Parse(args).InvokeAsync();
