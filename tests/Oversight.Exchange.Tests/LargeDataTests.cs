using System.Diagnostics;
using Grpc.Core;
using Oversight.Exchange.V1;
using static Oversight.Exchange.Tests.ExchangeTestHost;

namespace Oversight.Exchange.Tests;

/// <summary>
/// Volume and back-pressure over real HTTP/2 sockets. The slow reader runs always; the million-record
/// upload and delivery take minutes, so they run when <c>OVERSIGHT_EXCHANGE_LARGE</c> names how many
/// records to move (for example 1000000).
/// </summary>
public sealed class LargeDataTests
{
    [Fact]
    public async Task A_slow_reader_holds_the_server_back_instead_of_making_it_buffer_the_delivery()
    {
        const int Subjects = 40;
        const int PerSubject = 100;
        const int PageSize = 100;
        const int Pages = Subjects * PerSubject / PageSize;
        await using var host = await StartAsync(sockets: true);
        var requestId = await SeedAsync(host, Subjects, PerSubject, consenting: Subjects);

        using var call = host.Deliveries().FetchDelivery(new FetchDeliveryRequest { DataRequestId = requestId, PageSize = PageSize });
        var stream = call.ResponseStream;
        Assert.True(await stream.MoveNext(CancellationToken.None));
        var deliveryId = stream.Current.Started.DeliveryId;

        // Read nothing more until the server stops getting ahead: it may fill HTTP/2's windows, no more.
        var ahead = await PlateauAsync(() => host.ScalarAsync<long>("SELECT COUNT(*) FROM delivery_page WHERE delivery_id = @Id", new { Id = deliveryId }));
        TestContext.Current.TestOutputHelper?.WriteLine($"{ahead} of {Pages} pages were recorded ahead of a reader that read none");
        Assert.True(ahead < Pages, $"the server recorded {ahead} of {Pages} pages for a reader that read none: it is buffering the delivery");

        var records = 0;
        while (await stream.MoveNext(CancellationToken.None))
        {
            records += stream.Current.Page?.Records.Count ?? 0;
        }

        Assert.Equal(Subjects * PerSubject, records);
    }

    [Fact]
    public async Task A_million_records_upload_and_deliver_in_flat_memory()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable("OVERSIGHT_EXCHANGE_LARGE"), out var total) || total <= 0)
        {
            Assert.Skip("Set OVERSIGHT_EXCHANGE_LARGE=1000000 to upload and deliver that many records and measure the memory.");
        }

        const int Subjects = 1000;
        await using var host = await StartAsync(sockets: true);
        var output = TestContext.Current.TestOutputHelper;
        var idle = LiveHeap();

        var uploadClock = Stopwatch.StartNew();
        var (requestId, uploadPeak) = await MeasureAsync(() => SeedAsync(host, Subjects, total / Subjects, consenting: Subjects * 9 / 10));
        uploadClock.Stop();
        output?.WriteLine($"uploaded {total:N0} records in {uploadClock.Elapsed.TotalSeconds:F0} s; live heap idle {idle / 1048576} MB, peak {uploadPeak / 1048576} MB");

        var deliverClock = Stopwatch.StartNew();
        var (delivered, deliveryPeak) = await MeasureAsync(async () =>
        {
            var count = 0L;
            using var call = host.Deliveries().FetchDelivery(new FetchDeliveryRequest { DataRequestId = requestId, PageSize = 1000 });
            await foreach (var message in call.ResponseStream.ReadAllAsync())
            {
                count += message.Page?.Records.Count ?? 0;
            }

            return count;
        });
        deliverClock.Stop();
        output?.WriteLine($"delivered {delivered:N0} records in {deliverClock.Elapsed.TotalSeconds:F0} s; live heap peak {deliveryPeak / 1048576} MB");

        Assert.Equal(total / Subjects * (Subjects * 9 / 10), delivered);
        // The records alone are hundreds of MB; a batch or a page and the caches are a few.
        Assert.True(uploadPeak - idle < 64 * 1048576, $"the live heap grew by {(uploadPeak - idle) / 1048576} MB during the upload");
        Assert.True(deliveryPeak - idle < 64 * 1048576, $"the live heap grew by {(deliveryPeak - idle) / 1048576} MB during the delivery");
    }

    /// <summary>Publishes a dataset, streams the records in batches of 1,000 (made as they are sent), grants the consents and returns an approved request.</summary>
    private static async Task<string> SeedAsync(ExchangeTestHost host, int subjects, int perSubject, int consenting)
    {
        var datasetId = await VaultUploadTests.PublishAsync(host);
        using (var call = host.Vault().UploadRecords())
        {
            var total = subjects * perSubject;
            for (var start = 0; start < total; start += 1000)
            {
                var batch = new UploadRecordsRequest { UploadId = "large", DatasetId = datasetId };
                for (var i = start; i < Math.Min(total, start + 1000); i++)
                {
                    batch.Records.Add(VaultUploadTests.NewRecord($"r{i:D9}", $"s{i % subjects}", amount: $"{i % 10_000}.00"));
                }

                await call.RequestStream.WriteAsync(batch);
            }

            await call.RequestStream.CompleteAsync();
            Assert.Equal(total, (await call.ResponseAsync).Upload.Accepted);
        }

        for (var s = 0; s < consenting; s++)
        {
            await host.Consent().GrantConsentAsync(DeliveryGrants.For(host, $"s{s}"));
        }

        await host.ActivateAllianceAsync();
        return (await host.Requests().CreateDataRequestAsync(new CreateDataRequestRequest
        {
            RequestId = Guid.NewGuid().ToString("N"), DatasetIds = { datasetId }, Purpose = "credit_assessment", Fields = { "amount", "merchant" },
        })).DataRequest.Id;
    }

    /// <summary>Runs the work while sampling the live heap (what a full collection leaves); returns its result and the peak.</summary>
    private static async Task<(T Result, long Peak)> MeasureAsync<T>(Func<Task<T>> work)
    {
        var peak = LiveHeap();
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, LiveHeap());
                await Task.Delay(250, CancellationToken.None);
            }
        }, CancellationToken.None);
        var result = await work();
        await stop.CancelAsync();
        await sampler;
        return (result, Math.Max(peak, LiveHeap()));
    }

    private static long LiveHeap() => GC.GetTotalMemory(forceFullCollection: true);

    /// <summary>Polls a count until it has not moved for a few seconds, and returns it.</summary>
    private static async Task<long> PlateauAsync(Func<Task<long>> count)
    {
        var last = -1L;
        var still = 0;
        while (still < 12)
        {
            var now = await count();
            still = now == last ? still + 1 : 0;
            last = now;
            await Task.Delay(250);
        }

        return last;
    }
}
