using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Dapper;
using Grpc.Core;
using Grpc.Net.Client;
using Oversight.Audit.V1;
using Oversight.Benchmarks.V1;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.V1;

namespace Oversight.Benchmarks;

/// <summary>
/// The audit suite: the Consent module's Merkle log against baselines in the same run — grants with
/// and without their entry, a million-entry log verified against SHA-256 over its bytes, inclusion
/// proofs over gRPC against Ping, and appends against inserts into a plain table.
/// </summary>
public static class AuditSuite
{
    public static async Task<int> RunAsync(int concurrency, double seconds, double warmupSeconds, int logEntries, int seedBatch)
    {
        if (concurrency < 1 || seconds <= 0 || warmupSeconds < 0 || logEntries < 2 || seedBatch < 1)
        {
            await Console.Error.WriteLineAsync("Need --concurrency ≥ 1, --seconds > 0, --warmup ≥ 0, --log-entries ≥ 2 and --seed-batch ≥ 1.");
            return 2;
        }

        string[] categories = ["user.financial.transactions", "user.financial.credit"];
        // No background checkpoint while measuring: the suite signs the one the proofs use itself.
        await using var server = await BenchmarkServer.StartAsync(new Dictionary<string, string?>
        {
            ["Oversight:Consent:AuditLog:CheckpointInterval"] = "12:00:00",
        });
        var audit = server.Services.GetRequiredService<ModuleAuditLog<ConsentDatabase>>();
        var database = audit.Database;
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        });
        var platformHeaders = Grants.Bearer(server.Tokens.Mint(BenchmarkServer.Platform, "platform"));
        var institutionHeaders = Grants.Bearer(server.Tokens.Mint(BenchmarkServer.Institution, "institution"));
        var ping = new BenchmarkService.BenchmarkServiceClient(channel);
        var consent = new ConsentService.ConsentServiceClient(channel);
        var auditClient = new AuditLogService.AuditLogServiceClient(channel);
        CallOptions As(Metadata headers) => new(headers, DateTime.UtcNow.AddSeconds(30));

        Console.WriteLine($"Server {server.Address} (h2c), data {server.DataDirectory}");
        Console.WriteLine($"{Environment.ProcessorCount} logical CPUs shared by client and server; {RuntimeInformation.FrameworkDescription}; {RuntimeInformation.OSDescription}");
        var loop = new ClosedLoop(concurrency, TimeSpan.FromSeconds(warmupSeconds), TimeSpan.FromSeconds(seconds));
        Console.WriteLine($"Each scenario: {concurrency} concurrent callers, {warmupSeconds:0.#} s warm-up, {seconds:0.#} s measured.");

        // 4. Grants with their entry, without it, and with it again (drift on the machine shows as a gap between the two "with"),
        // each by one caller (latency without lock waits) and by --concurrency callers (throughput).
        var single = new ClosedLoop(1, TimeSpan.FromSeconds(warmupSeconds), TimeSpan.FromSeconds(seconds));
        var grantNumber = 0;
        async Task<(Measurement One, Measurement Many)> GrantsAsync(string variant)
        {
            async Task<int> GrantAsync()
            {
                await consent.GrantConsentAsync(Grants.New($"bench-grant-{Interlocked.Increment(ref grantNumber):D8}", categories), As(platformHeaders));
                return 1;
            }

            return (await single.MeasureAsync($"GrantConsent, {variant}, 1 caller", GrantAsync),
                await loop.MeasureAsync($"GrantConsent, {variant}, {concurrency} callers", GrantAsync));
        }

        await GrantsAsync("warming up, not reported"); // the fresh host's first work is not a fair "with"
        var grantWith = await GrantsAsync("audited");
        var sizeBefore = await audit.Reader.SizeAsync(CancellationToken.None);
        var switchable = server.Services.GetRequiredService<SwitchableConsentAudit>();
        switchable.WithoutEntries = true;
        var grantWithout = await GrantsAsync("entry not written");
        switchable.WithoutEntries = false;
        var sizeAfter = await audit.Reader.SizeAsync(CancellationToken.None);
        if (sizeAfter != sizeBefore)
        {
            await Console.Error.WriteLineAsync($"The entryless variant changed the log ({sizeBefore} → {sizeAfter} entries); its figures are not what they claim.");
            return 1;
        }

        var grantAgain = await GrantsAsync("audited again");

        // The million-entry log: the real AppendAsync, but many appends per transaction (seeding only).
        var seeding = Stopwatch.StartNew();
        var firstSeeded = await audit.Reader.SizeAsync(CancellationToken.None);
        for (var size = firstSeeded; size < logEntries;)
        {
            await using var session = await database.BeginAsync(CancellationToken.None);
            var count = (int)Math.Min(seedBatch, logEntries - size);
            for (var i = 0; i < count; i++)
            {
                await audit.Log.AppendAsync(session, SeedRecord(size + i));
            }

            await session.CommitAsync();
            size += count;
        }

        Console.WriteLine($"Seeded entries {firstSeeded:N0} to {logEntries - 1:N0} in {seeding.Elapsed.TotalSeconds:N1} s ({seedBatch:N0} appends per transaction, seeding only).");
        var checkpoint = await audit.Signer.SignAsync(CancellationToken.None);
        if (checkpoint.TreeSize != logEntries)
        {
            await Console.Error.WriteLineAsync($"The checkpoint covers {checkpoint.TreeSize:N0} entries, not {logEntries:N0}.");
            return 1;
        }

        // 3. Verifying the whole log, against SHA-256 over the same canonical bytes in a loop on one
        // thread. The verifier reads on one thread and hashes on another; its CPU time says how busy both were.
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var report = await audit.Verifier.VerifyAsync([], CancellationToken.None);
        var verifyElapsed = clock.Elapsed;
        var verifyCores = (Process.GetCurrentProcess().TotalProcessorTime - cpu) / verifyElapsed;
        var canonical = await CanonicalBytesAsync(database);
        var readElapsed = await ReadPagesAsync(database, report.TreeSize);
        clock.Restart();
        Span<byte> digest = stackalloc byte[32];
        foreach (var bytes in canonical)
        {
            SHA256.HashData(bytes, digest);
        }

        var hashElapsed = clock.Elapsed;
        var verifyRate = report.EntriesChecked / verifyElapsed.TotalSeconds;
        var hashRate = canonical.Count / hashElapsed.TotalSeconds;
        var readRate = canonical.Count / readElapsed.TotalSeconds;

        // 2. An inclusion proof over gRPC on the million-entry log, against Ping.
        var baseline = await loop.MeasureAsync("Ping (baseline, no-op)", async () =>
        {
            await ping.PingAsync(new PingRequest(), As(institutionHeaders));
            return 1;
        });
        var proofs = await loop.MeasureAsync($"GetEntry + inclusion proof at {logEntries:N0}", async () =>
        {
            // tree_size 0: the latest checkpoint (the one signed above); the institution is the seeded entries' actor.
            var response = await auditClient.GetEntryAsync(new GetEntryRequest { Sequence = Random.Shared.NextInt64(firstSeeded, logEntries) }, As(institutionHeaders));
            return response.InclusionPath.Count > 0 ? 1 : 0;
        });

        // Where a proof's time goes: the same reads GetEntry makes, in process, without gRPC.
        var reads = await loop.MeasureAsync("for reference: GetEntry's reads in process", async () =>
        {
            var entry = await audit.Reader.EntryAsync(Random.Shared.NextInt64(firstSeeded, logEntries), CancellationToken.None);
            var latest = await audit.Reader.LatestCheckpointAsync(CancellationToken.None);
            var proof = await audit.Reader.InclusionProofAsync(entry!.Sequence, latest!.TreeSize, CancellationToken.None);
            return proof.Path.Count > 0 ? 1 : 0;
        });

        // 1. One append per transaction, against inserting the same row into a plain table with the same columns and indexes.
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync(PlainEntry.Create);
        }

        var template = SeedRecord(0);
        var sample = CanonicalSample(audit, template);
        long plainSequence = 0;
        var plain = await loop.MeasureAsync("INSERT into a plain table (baseline)", async () =>
        {
            await using var session = await database.BeginAsync(CancellationToken.None);
            await session.ExecuteAsync(PlainEntry.Insert, sample with { Sequence = Interlocked.Increment(ref plainSequence) });
            await session.CommitAsync();
            return 1;
        });
        var appendNumber = 0L;
        var appends = await loop.MeasureAsync("AuditLog.AppendAsync", async () =>
        {
            await using var session = await database.BeginAsync(CancellationToken.None);
            await audit.Log.AppendAsync(session, SeedRecord(Interlocked.Increment(ref appendNumber)));
            await session.CommitAsync();
            return 1;
        });

        Console.WriteLine();
        Console.WriteLine("| scenario | calls/s | ratio | p50 ms | p99 ms | failed calls | CPU µs/call | cores busy |");
        Console.WriteLine("|---|---:|---|---:|---:|---:|---:|---:|");
        void Row(Measurement m, Measurement against) => Console.WriteLine(
            $"| {m.Scenario} | {m.CallsPerSecond:N0} | {m.CallsPerSecond / against.CallsPerSecond:N3}× {against.Scenario} | {m.P50.TotalMilliseconds:N2} | {m.P99.TotalMilliseconds:N2} | {m.Failed:N0} | {m.CpuMicrosecondsPerCall:N0} | {m.CoresBusy:N2} |");
        Row(plain, plain);
        Row(appends, plain);
        Row(baseline, baseline);
        Row(proofs, baseline);
        Row(reads, baseline);
        foreach (var (without, with, again) in new[] { (grantWithout.One, grantWith.One, grantAgain.One), (grantWithout.Many, grantWith.Many, grantAgain.Many) })
        {
            Row(without, without);
            Row(with, without);
            Row(again, without);
        }

        Console.WriteLine();
        Console.WriteLine("| verification of the log | entries | seconds | entries/s | ratio to SHA-256 loop |");
        Console.WriteLine("|---|---:|---:|---:|---|");
        Console.WriteLine($"| SHA-256 over the canonical bytes, in memory, one thread (baseline) | {canonical.Count:N0} | {hashElapsed.TotalSeconds:N2} | {hashRate:N0} | 1.000× |");
        Console.WriteLine($"| AuditLogVerifier.VerifyAsync (reading and hashing on two threads; {verifyCores:N2} cores busy) | {report.EntriesChecked:N0} | {verifyElapsed.TotalSeconds:N2} | {verifyRate:N0} | {verifyRate / hashRate:N3}× |");
        Console.WriteLine($"| for reference: reading the same pages (the verifier's statement, every column, one thread) | {canonical.Count:N0} | {readElapsed.TotalSeconds:N2} | {readRate:N0} | {readRate / hashRate:N3}× |");
        Console.WriteLine($"Verifier: {(report.Intact ? "intact" : $"{report.Problems.Count} problem(s): " + string.Join("; ", report.Problems.Select(p => p.Description)))}, "
            + $"size {report.TreeSize:N0}, {report.CheckpointsChecked} checkpoint(s) checked.");

        Console.WriteLine();
        Verdict.Print($"appends ≥ 0.5 × plain inserts (transactions/s): {appends.CallsPerSecond:N0} vs {0.5 * plain.CallsPerSecond:N0}",
            appends.CallsPerSecond >= 0.5 * plain.CallsPerSecond);
        Verdict.Print($"inclusion proofs at {logEntries:N0} ≥ 0.5 × Ping calls/s: {proofs.CallsPerSecond:N0} vs {0.5 * baseline.CallsPerSecond:N0}",
            proofs.CallsPerSecond >= 0.5 * baseline.CallsPerSecond);
        Verdict.Print($"verifier entries/s ≥ 0.5 × SHA-256 loop: {verifyRate:N0} vs {0.5 * hashRate:N0}", verifyRate >= 0.5 * hashRate);
        foreach (var (without, with, again) in new[] { (grantWithout.One, grantWith.One, grantAgain.One), (grantWithout.Many, grantWith.Many, grantAgain.Many) })
        {
            Console.WriteLine($"{with.Scenario}: {with.CallsPerSecond / without.CallsPerSecond:N3}× (again {again.CallsPerSecond / without.CallsPerSecond:N3}×) "
                + $"the calls/s without its entry; p50 {with.P50.TotalMilliseconds:N2} / {again.P50.TotalMilliseconds:N2} ms vs {without.P50.TotalMilliseconds:N2} ms, "
                + $"p99 {with.P99.TotalMilliseconds:N2} / {again.P99.TotalMilliseconds:N2} ms vs {without.P99.TotalMilliseconds:N2} ms.");
        }
        return report.Intact ? 0 : 1;
    }

    // Like Consent's own entries: an institution acting on a subject's consent, organisation and purpose ids in the detail.
    private static AuditRecord SeedRecord(long n) => new(
        BenchmarkServer.Institution, "institution", "consent.granted", $"consent/bench-{n:D10}", AuditOutcomes.Succeeded, "",
        SubjectId: $"bench-subject-{n % 100_000:D6}",
        Detail: new Dictionary<string, string>
        {
            ["controller_id"] = BenchmarkServer.Platform,
            ["recipient_id"] = BenchmarkServer.Institution,
            ["purpose"] = "credit_assessment",
            ["version"] = "1",
        });

    /// <summary>The columns of one entry as the log would store them, for the plain table to insert as they are.</summary>
    private static PlainEntry.Row CanonicalSample(ModuleAuditLog<ConsentDatabase> audit, AuditRecord record)
    {
        var subjectRef = audit.Subjects.For(record.SubjectId!);
        var detail = new SortedDictionary<string, string>(record.Detail!.ToDictionary(), StringComparer.Ordinal);
        var recordedAt = DateTimeOffset.UtcNow;
        var canonical = CanonicalEntry.Encode(0, recordedAt, record.ActorId, record.ActorKind, record.Action, record.Resource,
            record.Outcome, record.Reason, subjectRef, detail);
        return new PlainEntry.Row(0, recordedAt.ToUnixTimeMilliseconds(), record.ActorId, record.ActorKind, record.Action, record.Resource,
            record.Outcome, record.Reason, subjectRef, System.Text.Json.JsonSerializer.Serialize(detail), canonical, MerkleHashing.HashLeaf(canonical));
    }

    private static async Task<List<byte[]>> CanonicalBytesAsync(ModuleDatabase database)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        return (await connection.QueryAsync<byte[]>("SELECT canonical FROM audit_entry ORDER BY sequence;")).ToList();
    }

    /// <summary>
    /// Reads every entry as the verifier does (its statement, pages of 4,096 sequences, one command
    /// reused, every column taken from the reader), doing nothing with them: the reading's share of its time.
    /// </summary>
    private static async Task<TimeSpan> ReadPagesAsync(ModuleDatabase database, long size)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = AuditSql.EntriesBetween;
        var from = command.CreateParameter();
        from.ParameterName = "@From";
        var to = command.CreateParameter();
        to.ParameterName = "@To";
        command.Parameters.Add(from);
        command.Parameters.Add(to);
        var clock = Stopwatch.StartNew();
        var touched = 0L;
        for (var first = 0L; first < size; first += 4096)
        {
            (from.Value, to.Value) = (first, Math.Min(first + 4096, size));
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                touched += reader.GetInt64(0) + reader.GetInt64(1);
                for (var column = 2; column <= 9; column++)
                {
                    touched += reader.IsDBNull(column) ? 0 : reader.GetString(column).Length;
                }

                touched += reader.GetFieldValue<byte[]>(10).Length + reader.GetFieldValue<byte[]>(11).Length;
            }
        }

        GC.KeepAlive(touched);
        return clock.Elapsed;
    }
}
