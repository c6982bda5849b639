using System.Diagnostics;
using System.Runtime.InteropServices;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using MassTransit;
using Oversight.Benchmarks.V1;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Consent.V1;
using Oversight.Contracts;
using Oversight.Contracts.Governance;
using Oversight.Exchange.V1;

namespace Oversight.Benchmarks;

/// <summary>
/// The Exchange suite: an upload against a no-op client stream receiving the same messages, a
/// consent-filtered delivery against a no-op server stream sending the same pages from memory, and
/// the process's memory while each runs, at 100,000 records and at <c>--records</c>.
/// </summary>
public static class ExchangeSuite
{
    private const int Subjects = 1000;
    private const int Consenting = 900;
    private const int BatchSize = 1000;
    private const int PageSize = 1000;

    private sealed record Run(string Scenario, long Records, TimeSpan Elapsed, TimeSpan Cpu, long PeakWorkingSetAboveIdle, long PeakHeapAboveIdle)
    {
        public double RecordsPerSecond => Records / Elapsed.TotalSeconds;

        /// <summary>Cores the process kept busy: well below the core count means it waits (on the disk, the other side).</summary>
        public double CoresBusy => Cpu / Elapsed;

        public double CpuMicrosecondsPerRecord => Cpu.TotalMicroseconds / Math.Max(Records, 1);
    }

    public static async Task<int> RunAsync(int records)
    {
        if (records < BatchSize)
        {
            await Console.Error.WriteLineAsync($"Need --records ≥ {BatchSize}.");
            return 2;
        }

        await using var server = await BenchmarkServer.StartAsync(withExchange: true);
        using var exchangeChannel = GrpcChannel.ForAddress(server.ExchangeAddress!, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true } });
        using var consentChannel = GrpcChannel.ForAddress(server.Address);
        var platform = Grants.Bearer(server.Tokens.Mint(BenchmarkServer.Platform, "platform"));
        var institution = Grants.Bearer(server.Tokens.Mint(BenchmarkServer.Institution, "institution"));
        var catalog = new CatalogService.CatalogServiceClient(exchangeChannel);
        var vault = new VaultService.VaultServiceClient(exchangeChannel);
        var requests = new DataRequestService.DataRequestServiceClient(exchangeChannel);
        var deliveries = new DeliveryService.DeliveryServiceClient(exchangeChannel);
        var noop = new BenchmarkService.BenchmarkServiceClient(exchangeChannel);
        var consent = new ConsentService.ConsentServiceClient(consentChannel);

        Console.WriteLine($"Consent {server.Address}, Exchange {server.ExchangeAddress} (h2c), data {server.DataDirectory}");
        Console.WriteLine($"{Environment.ProcessorCount} logical CPUs shared by client and server; {RuntimeInformation.FrameworkDescription}; {RuntimeInformation.OSDescription}");

        // Consents for 90 % of the subjects, through the real RPC; the alliance as Governance announces it.
        await Parallel.ForEachAsync(Enumerable.Range(0, Consenting), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (s, cancellation) =>
            await consent.GrantConsentAsync(Grants.New(Subject(s), ["user.financial.transactions"]), platform, cancellationToken: cancellation));
        await server.Services.GetRequiredService<IBus>().Publish(Outbox.Stamp(new AllianceActivated
        {
            AllianceId = Guid.NewGuid().ToString("D"),
            InstitutionId = BenchmarkServer.Institution,
            Scope = new AllianceScopeTerms
            {
                Purposes = ["credit_assessment"], DataCategories = ["user.financial"], Fields = ["amount", "merchant"], IdentifiedData = false,
                MaxRetentionSeconds = 30 * 86400, ValidFrom = DateTimeOffset.UtcNow.AddDays(-1), ValidUntil = DateTimeOffset.UtcNow.AddDays(365),
            },
        }, Producers.Governance, DateTimeOffset.UtcNow, 1));

        async Task<string> PublishAsync(string name) => (await catalog.PublishDatasetAsync(new PublishDatasetRequest
        {
            RequestId = Guid.NewGuid().ToString("N"), Name = name, DataCategory = "user.financial.transactions",
            Fields =
            {
                new DatasetField { Name = "amount", Type = FieldType.Decimal, Sensitivity = FieldSensitivity.Sensitive, Required = true },
                new DatasetField { Name = "merchant", Type = FieldType.String, Sensitivity = FieldSensitivity.Ordinary, Required = true },
                new DatasetField { Name = "paid_on", Type = FieldType.Date, Sensitivity = FieldSensitivity.Ordinary },
            },
        }, platform)).Dataset.Id;

        async Task<long> UploadAsync(string datasetId, int size, string uploadId)
        {
            using var call = vault.UploadRecords(platform);
            foreach (var batch in Batches(datasetId, size, uploadId))
            {
                await call.RequestStream.WriteAsync(batch);
            }

            await call.RequestStream.CompleteAsync();
            return (await call.ResponseAsync).Upload.Accepted;
        }

        async Task<long> FetchAsync(string requestId)
        {
            var received = 0L;
            using var call = deliveries.FetchDelivery(new FetchDeliveryRequest { DataRequestId = requestId, PageSize = PageSize }, institution);
            await foreach (var message in call.ResponseStream.ReadAllAsync())
            {
                received += message.Page?.Records.Count ?? 0;
            }

            return received;
        }

        // A fresh process's first streams run while the JIT still tiers the gRPC pipeline up: one round of
        // each baseline, discarded, first (as the consent suite does for Ping).
        {
            using var warmUpload = noop.NoopUpload(platform);
            foreach (var batch in Batches(Guid.NewGuid().ToString("D"), 50_000, "warm-up"))
            {
                await warmUpload.RequestStream.WriteAsync(batch);
            }

            await warmUpload.RequestStream.CompleteAsync();
            await warmUpload.ResponseAsync;
            using var warmDelivery = noop.NoopDelivery(new NoopDeliveryRequest { Pages = 50, Page = SamplePage(Guid.NewGuid().ToString("D")) }, institution);
            await foreach (var _ in warmDelivery.ResponseStream.ReadAllAsync())
            {
            }
        }

        // The real paths too: the first upload and delivery of a process would otherwise run on code the JIT has not yet optimised.
        {
            var warmDataset = await PublishAsync("Benchmark warm-up");
            await UploadAsync(warmDataset, 20_000, "warm-up");
            await FetchAsync(await ApprovedRequestAsync(requests, warmDataset, institution));
        }

        var sizes = records > 100_000 ? new[] { 100_000, records } : [records];
        var runs = new List<(int Size, Run NoopUpload, Run Upload, Run NoopDelivery, Run Delivery)>();
        foreach (var size in sizes)
        {
            var datasetId = await PublishAsync($"Benchmark transactions ({size:N0})");

            var noopUpload = await MeasureAsync("no-op client stream (baseline)", size, async () =>
            {
                using var call = noop.NoopUpload(platform);
                foreach (var batch in Batches(datasetId, size, $"noop-{size}"))
                {
                    await call.RequestStream.WriteAsync(batch);
                }

                await call.RequestStream.CompleteAsync();
                return (await call.ResponseAsync).Records;
            });
            var upload = await MeasureAsync("UploadRecords", size, () => UploadAsync(datasetId, size, $"upload-{size}"));

            var request = await ApprovedRequestAsync(requests, datasetId, institution);
            var expected = (long)size / Subjects * Consenting;
            var page = SamplePage(datasetId);
            var noopDelivery = await MeasureAsync("no-op server stream (baseline)", expected, async () =>
            {
                var received = 0L;
                using var call = noop.NoopDelivery(new NoopDeliveryRequest { Pages = (int)(expected / PageSize), Page = page }, institution);
                await foreach (var message in call.ResponseStream.ReadAllAsync())
                {
                    received += message.Page.Records.Count;
                }

                return received;
            });
            var delivery = await MeasureAsync("FetchDelivery (decrypt, check, pseudonymise, minimise, audit)", expected, () => FetchAsync(request));
            runs.Add((size, noopUpload, upload, noopDelivery, delivery));
        }

        Console.WriteLine();
        Console.WriteLine("| records | scenario | records/s | ratio | CPU µs/record | cores busy | peak working set above idle | peak managed heap above idle |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (size, noopUpload, upload, noopDelivery, delivery) in runs)
        {
            foreach (var (run, baseline) in new[] { (noopUpload, noopUpload), (upload, noopUpload), (noopDelivery, noopDelivery), (delivery, noopDelivery) })
            {
                Console.WriteLine($"| {size:N0} | {run.Scenario} | {run.RecordsPerSecond:N0} | {run.RecordsPerSecond / baseline.RecordsPerSecond:N3}× | "
                    + $"{run.CpuMicrosecondsPerRecord:N1} | {run.CoresBusy:N2} | {run.PeakWorkingSetAboveIdle / 1048576.0:N0} MB | {run.PeakHeapAboveIdle / 1048576.0:N0} MB |");
            }
        }

        Console.WriteLine();
        foreach (var (size, noopUpload, upload, noopDelivery, delivery) in runs)
        {
            Verdict.Print($"{size:N0} records: upload records/s ≥ 0.3 × no-op client stream: {upload.RecordsPerSecond:N0} vs {0.3 * noopUpload.RecordsPerSecond:N0}",
                upload.RecordsPerSecond >= 0.3 * noopUpload.RecordsPerSecond);
            Verdict.Print($"{size:N0} records: delivery records/s ≥ 0.5 × no-op server stream: {delivery.RecordsPerSecond:N0} vs {0.5 * noopDelivery.RecordsPerSecond:N0}",
                delivery.RecordsPerSecond >= 0.5 * noopDelivery.RecordsPerSecond);
            var peak = Math.Max(upload.PeakWorkingSetAboveIdle, delivery.PeakWorkingSetAboveIdle);
            Verdict.Print($"{size:N0} records: peak memory < 200 MB above idle during upload and delivery: {peak / 1048576.0:N0} MB", peak < 200 * 1048576L);
        }

        return 0;
    }

    private static string Subject(int index) => $"bench-subject-{index:D6}";

    /// <summary>The upload's messages, made as they are sent: memory on the client's side stays one batch.</summary>
    private static IEnumerable<UploadRecordsRequest> Batches(string datasetId, int size, string uploadId)
    {
        var occurred = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 11, 30, 9, 15, 0, TimeSpan.Zero));
        for (var start = 0; start < size; start += BatchSize)
        {
            var batch = new UploadRecordsRequest { UploadId = uploadId, DatasetId = datasetId };
            for (var i = start; i < Math.Min(size, start + BatchSize); i++)
            {
                batch.Records.Add(new VaultRecord
                {
                    SubjectId = Subject(i % Subjects), RecordKey = $"payment-{i:D9}", OccurTime = occurred,
                    Fields = { ["amount"] = $"{i % 100_000}.{i % 100:D2}", ["merchant"] = $"Merchant {i % 997}", ["paid_on"] = "2026-11-30" },
                });
            }

            yield return batch;
        }
    }

    /// <summary>A page as a delivery sends it: pseudonymous subjects, the two fields asked for.</summary>
    private static RecordPage SamplePage(string datasetId)
    {
        var page = new RecordPage { PageNumber = 1, ResumeToken = new string('x', 80), AuditSequence = 1, RetentionDeadline = Timestamp.FromDateTime(DateTime.UtcNow) };
        for (var i = 0; i < PageSize; i++)
        {
            page.Records.Add(new DeliveredRecord
            {
                DatasetId = datasetId, Subject = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i))),
                RecordKey = $"payment-{i:D9}", OccurTime = Timestamp.FromDateTime(DateTime.UtcNow),
                Fields = { ["amount"] = $"{i}.{i % 100:D2}", ["merchant"] = $"Merchant {i % 997}" },
            });
        }

        page.Withheld.Add(new WithheldCount { Reason = "DENY_REASON_NO_CONSENT", Records = 111 });
        return page;
    }

    private static async Task<string> ApprovedRequestAsync(DataRequestService.DataRequestServiceClient requests, string datasetId, Metadata institution)
    {
        // The alliance's event crosses the bus: ask until a request is approved under it.
        for (var attempt = 0; ; attempt++)
        {
            var request = (await requests.CreateDataRequestAsync(new CreateDataRequestRequest
            {
                RequestId = Guid.NewGuid().ToString("N"), DatasetIds = { datasetId }, Purpose = "credit_assessment", Fields = { "amount", "merchant" },
            }, institution)).DataRequest;
            if (request.State == Exchange.V1.DataRequestState.Approved)
            {
                return request.Id;
            }

            if (attempt > 200)
            {
                throw new InvalidOperationException($"The request was never approved: {string.Join("; ", request.Rejections.Select(r => r.Message))}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Runs one scenario while sampling the process's working set and managed heap against their idle values.</summary>
    private static async Task<Run> MeasureAsync(string scenario, long expected, Func<Task<long>> work)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var idleWorkingSet = Environment.WorkingSet;
        var idleHeap = GC.GetTotalMemory(forceFullCollection: false);
        var (peakWorkingSet, peakHeap) = (idleWorkingSet, idleHeap);
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peakWorkingSet = Math.Max(peakWorkingSet, Environment.WorkingSet);
                peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(forceFullCollection: false));
                await Task.Delay(100, CancellationToken.None);
            }
        }, CancellationToken.None);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var count = await work();
        clock.Stop();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        await stop.CancelAsync();
        await sampler;
        if (count != expected)
        {
            throw new InvalidOperationException($"{scenario} moved {count:N0} records, not the {expected:N0} expected: the figures would not be what they claim.");
        }

        Console.WriteLine($"{scenario}: {count:N0} records in {clock.Elapsed.TotalSeconds:N1} s");
        return new Run(scenario, count, clock.Elapsed, cpu, peakWorkingSet - idleWorkingSet, peakHeap - idleHeap);
    }
}
