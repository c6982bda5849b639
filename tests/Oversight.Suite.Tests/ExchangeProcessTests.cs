using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using MassTransit;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts;
using Oversight.Contracts.Governance;
using Oversight.Testing;
using RabbitMQ.Client;
using C = Oversight.Consent.V1;
using E = Oversight.Exchange.V1;

namespace Oversight.Suite.Tests;

/// <summary>
/// Consent and Exchange as the separate processes a deployment runs (`--services consent`,
/// `--services exchange`) on a real broker, each killed in the middle of its work: Consent under a
/// delivery, Exchange under a delivery, and one of two Exchange replicas under uploads, deliveries
/// and an erasure at once. Whatever was cut carries on — after a restart, or at the other replica —
/// and every allowed record arrives exactly once.
/// </summary>
[Collection("RabbitMQ")]
public sealed class ExchangeProcessTests
{
    private const string Platform = "shopwave";
    private const string Bureau = "state-credit-bureau";

    [Fact]
    public async Task Consent_killed_mid_delivery_stops_it_and_the_resumed_delivery_sends_every_allowed_record_once()
    {
        await using var pair = await Pair.StartAsync();
        var (_, requestId) = await ArrangeAsync(pair);

        // Two pages read, then Consent is killed: the stream ends UNAVAILABLE, the delivery is stopped.
        var (received, lastToken, deliveryId, failure) = await pair.FetchUntilKilledAsync(requestId, () => pair.Consent);
        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        Assert.True(received.Count < 100, "the whole delivery left although Consent was killed");
        var stopped = (await pair.First.Deliveries.GetDeliveryAsync(new E.GetDeliveryRequest { DeliveryId = deliveryId }, pair.Bureau)).Delivery;
        Assert.Equal(E.DeliveryState.Stopped, stopped.State);

        // Consent back on its data: the delivery resumes after the last page received.
        await pair.StartConsentAsync();
        received.AddRange(await pair.ResumeAsync(lastToken, "the delivery resumes once Consent answers again"));

        Assert.Equal(100, received.Count);
        Assert.Equal(100, received.Select(r => r.RecordKey).Distinct().Count());
        Assert.All(received, r => Assert.NotEqual("person-10", r.Subject));
        Assert.All(received, r => Assert.NotEqual("person-11", r.Subject));
    }

    /// <summary>
    /// Exchange itself killed in the middle of a delivery stream: restarted on its data, the delivery
    /// resumes from the last token received, every allowed record has arrived exactly once, and
    /// Exchange's audit log, which recorded the delivery's pages up to the kill, still verifies.
    /// </summary>
    [Fact]
    public async Task Exchange_killed_mid_delivery_resumes_from_the_token_and_its_audit_log_still_verifies()
    {
        await using var pair = await Pair.StartAsync();
        var (_, requestId) = await ArrangeAsync(pair);

        var (received, lastToken, _, _) = await pair.FetchUntilKilledAsync(requestId, () => pair.Exchange);
        Assert.True(received.Count < 100, "the whole delivery left before Exchange was killed");

        await pair.StartExchangeAsync();
        received.AddRange(await pair.ResumeAsync(lastToken, "the delivery resumes once Exchange is back"));

        Assert.Equal(100, received.Count);
        Assert.Equal(100, received.Select(r => r.RecordKey).Distinct().Count());
        var (exitCode, output, error) = await AuditCliTests.AuditHost.RunCliAsync(
            new() { ["OVERSIGHT_EXCHANGE_ADDRESS"] = $"http://127.0.0.1:{pair.ExchangePort}" },
            "--as", "central-bank", "--kind", "regulator", "audit", "verify-log", "--service", "exchange");
        Assert.True(exitCode == 0, $"Exchange's log does not verify:\n{output}{error}");
    }

    /// <summary>
    /// Two replicas of Exchange on one database, one Consent and one broker, working at once through
    /// both: four uploads, four deliveries and a subject's erasure. The first replica is SIGKILLed with
    /// its uploads half sent, a delivery two pages in and the erasure on its way; the clients go on at
    /// the survivor, sending the cut uploads again under their upload ids and resuming the cut
    /// deliveries from their tokens. Nothing is lost and nothing counted twice: every upload stored
    /// once, every delivery complete with each allowed record once, the erasure applied once, every
    /// event either replica wrote applied by Consent, and the audit log both appended to verifies.
    /// </summary>
    [Fact]
    public async Task Two_replicas_of_Exchange_with_one_killed_mid_upload_mid_delivery_and_mid_erasure_lose_nothing_and_count_nothing_twice()
    {
        await using var pair = await Pair.StartAsync();
        var (delivered, firstRequest) = await ArrangeAsync(pair, records: 600);
        var survivor = await pair.StartExchangeReplicaAsync();
        var (first, platform, bureau) = (pair.First, pair.Platform, pair.Bureau);
        var requests = new List<string> { firstRequest };
        foreach (var replica in new[] { survivor, first, survivor })
        {
            var request = await RequestAsync(replica, bureau, delivered);
            Assert.Equal(E.DataRequestState.Approved, request.State);
            requests.Add(request.Id);
        }

        // Four uploads of 200 records into a second dataset, two through each replica; each sends half and waits.
        var uploaded = await PublishAsync(survivor, platform, "Card refunds");
        var restOfTheUploads = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var uploads = Enumerable.Range(0, 4).Select(u => UploadAcrossAsync(
            u % 2 == 0 ? first : survivor, survivor, platform, $"refunds-{u}", uploaded, u, restOfTheUploads.Task)).ToList();
        await Eventually.HoldsAsync(async () => await ScalarAsync(pair.ExchangeDatabase,
            "SELECT COUNT(*) FROM vault_upload WHERE upload_id IN ('refunds-0', 'refunds-2') AND batches > 0") == 2,
            "the first replica has committed batches of both its uploads", 60000);

        // Four deliveries, two through each replica. The first of the first replica's to reach its second
        // page asks for an erasure and kills that replica; the others wait at their second page for the kill.
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var killing = 0;
        string erasureId = "";
        async Task AtSecondPageAsync(ExchangeClients replica)
        {
            if (replica == first && Interlocked.Exchange(ref killing, 1) == 0)
            {
                erasureId = (await pair.Subjects.RequestErasureAsync(new C.RequestErasureRequest { RequestId = "erase-person-11", SubjectId = "person-11" }, platform))
                    .ErasureRequest.Id;
                pair.Exchange.Kill(entireProcessTree: true);
                await pair.Exchange.WaitForExitAsync();
                killed.SetResult();
                restOfTheUploads.SetResult();
            }

            await killed.Task;
        }

        var fetches = requests.Select((request, i) => FetchAcrossAsync(pair, i % 2 == 0 ? first : survivor, survivor, request, AtSecondPageAsync)).ToList();
        var fetched = await Task.WhenAll(fetches);
        var accounts = await Task.WhenAll(uploads);

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"resumed at the survivor: {fetched.Count(f => f.Resumed)} of 4 deliveries; unchanged when sent again: {string.Join(", ", accounts.Select(a => a.Unchanged))}");
        // Every delivery complete, each allowed record once; at least one was cut by the kill and resumed at the survivor.
        Assert.Contains(fetched, f => f.Resumed);
        foreach (var (received, deliveryId, _) in fetched)
        {
            Assert.Equal(500, received.Count);
            Assert.Equal(500, received.Select(r => r.RecordKey).Distinct().Count());
            var delivery = (await survivor.Deliveries.GetDeliveryAsync(new E.GetDeliveryRequest { DeliveryId = deliveryId }, bureau)).Delivery;
            Assert.Equal(E.DeliveryState.Completed, delivery.State);
            Assert.Equal(500, delivery.DeliveredRecords);
        }

        // Every upload stored once: the cut ones went on where they were cut (what had committed is unchanged the second time).
        foreach (var (account, u) in accounts.Select((account, u) => (account, u)))
        {
            Assert.Equal(E.UploadState.Completed, account.State);
            Assert.Equal(200, account.Accepted);
            Assert.Equal(0, account.Replaced + account.Rejected);
            Assert.True(u % 2 == 1 || account.Unchanged > 0, $"refunds-{u} started over instead of going on from what the killed replica had committed");
        }

        Assert.Equal(800, await ScalarAsync(pair.ExchangeDatabase, $"SELECT COUNT(*) FROM vault_record WHERE dataset_id = '{uploaded}'"));
        Assert.Equal(800, await ScalarAsync(pair.ExchangeDatabase, $"SELECT record_count FROM dataset WHERE id = '{uploaded}'"));

        // The erasure, applied once by one of the replicas: person-11's 50 records, and Consent told so.
        C.ErasureRequest erasure = null!;
        await Eventually.HoldsAsync(async () =>
        {
            erasure = (await pair.Subjects.GetErasureRequestAsync(new C.GetErasureRequestRequest { ErasureRequestId = erasureId }, platform)).ErasureRequest;
            return erasure.State == C.ErasureState.Completed;
        }, "Exchange confirms the erasure to Consent", 60000);
        Assert.Equal(50, erasure.ErasedRecordCount);
        Assert.Equal(550, await ScalarAsync(pair.ExchangeDatabase, $"SELECT record_count FROM dataset WHERE id = '{delivered}'"));
        Assert.Equal(1, await ScalarAsync(pair.ExchangeDatabase, "SELECT COUNT(*) FROM audit_entry WHERE action = 'vault.subject_erased'"));

        // Every event either replica wrote was published (the survivor's relay took the killed one's turn) and applied by Consent.
        await Eventually.HoldsAsync(async () => await ScalarAsync(pair.ExchangeDatabase, "SELECT COUNT(*) FROM outbox_message WHERE sent_at_ms IS NULL") == 0,
            "Exchange's outbox is drained", 60000);
        var disclosures = await ScalarAsync(pair.ExchangeDatabase, "SELECT COUNT(*) FROM outbox_message WHERE message_type LIKE '%.DataDisclosed'");
        await Eventually.HoldsAsync(async () => await ScalarAsync(pair.ConsentDatabase,
            "SELECT COUNT(*) FROM inbox_message WHERE consumer = 'DataDisclosedConsumer'") == disclosures,
            "Consent has applied every DataDisclosed event", 60000);

        var (exitCode, output, error) = await AuditCliTests.AuditHost.RunCliAsync(
            new() { ["OVERSIGHT_EXCHANGE_ADDRESS"] = $"http://127.0.0.1:{survivor.Port}" },
            "--as", "central-bank", "--kind", "regulator", "audit", "verify-log", "--service", "exchange");
        Assert.True(exitCode == 0, $"Exchange's log does not verify:\n{output}{error}");
    }

    /// <summary>
    /// Fetches the request's delivery at <paramref name="start"/>, ten records a page, calling
    /// <paramref name="atSecondPage"/> once two pages are in; if <paramref name="start"/> dies under it,
    /// resumes at <paramref name="fallback"/> from the last page received (or, cut before its first page,
    /// fetches the request again there). What arrived, the delivery, and whether it was resumed.
    /// </summary>
    private static async Task<(List<E.DeliveredRecord> Received, string DeliveryId, bool Resumed)> FetchAcrossAsync(
        Pair pair, ExchangeClients start, ExchangeClients fallback, string requestId, Func<ExchangeClients, Task> atSecondPage)
    {
        var received = new List<E.DeliveredRecord>();
        var (deliveryId, token, pages) = ("", "", 0);
        try
        {
            using var call = start.Deliveries.FetchDelivery(new E.FetchDeliveryRequest { DataRequestId = requestId, PageSize = 10 }, pair.Bureau);
            await foreach (var message in call.ResponseStream.ReadAllAsync())
            {
                deliveryId = message.Started?.DeliveryId ?? deliveryId;
                if (message.Page is { } page)
                {
                    received.AddRange(page.Records);
                    token = page.ResumeToken;
                    if (++pages == 2)
                    {
                        await atSecondPage(start);
                    }
                }
            }

            return (received, deliveryId, false);
        }
        catch (RpcException) when (start != fallback)
        {
            if (pages == 0)
            {
                // Cut before its first page: nothing to resume from, so the request is fetched again at the survivor.
                return await FetchAcrossAsync(pair, fallback, fallback, requestId, _ => Task.CompletedTask);
            }

            received.AddRange(await pair.ResumeAsync(token, "the cut delivery resumes at the surviving replica", fallback));
            return (received, deliveryId, true);
        }
    }

    /// <summary>
    /// Upload <paramref name="u"/>: 200 records sent at <paramref name="start"/> ten at a time, half before
    /// <paramref name="rest"/> and half after; if <paramref name="start"/> dies under it, all of them sent
    /// again at <paramref name="fallback"/> under the same upload id. The upload's account.
    /// </summary>
    private static async Task<E.Upload> UploadAcrossAsync(
        ExchangeClients start, ExchangeClients fallback, Metadata platform, string uploadId, string datasetId, int u, Task rest)
    {
        var occurred = Timestamp.FromDateTime(DateTime.UtcNow);
        var batches = Enumerable.Range(0, 200).Select(i => new E.VaultRecord
        {
            SubjectId = $"customer-{i % 7}", RecordKey = $"refund-{u}-{i:D3}", OccurTime = occurred, Fields = { ["amount"] = $"{u}.{i:D2}" },
        }).Chunk(10).ToList();

        async Task<E.Upload> SendAsync(ExchangeClients replica, Task before)
        {
            using var upload = replica.Vault.UploadRecords(platform);
            for (var b = 0; b < batches.Count; b++)
            {
                if (b == batches.Count / 2)
                {
                    await before;
                }

                await upload.RequestStream.WriteAsync(new E.UploadRecordsRequest { UploadId = uploadId, DatasetId = datasetId, Records = { batches[b] } });
            }

            await upload.RequestStream.CompleteAsync();
            return (await upload.ResponseAsync).Upload;
        }

        try
        {
            return await SendAsync(start, rest);
        }
        catch (Exception exception) when (start != fallback && exception is RpcException or IOException or InvalidOperationException)
        {
            return await SendAsync(fallback, Task.CompletedTask);
        }
    }

    private static async Task<long> ScalarAsync(string database, string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        return await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, sql);
    }

    /// <summary>Consent and Exchange as two processes on the broker, each on a data folder of its own, and a bus standing in for Governance.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private readonly string _root = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));
        private readonly int _consentPort = HostProcessTests.FreePort();
        private readonly TokenIssuer _tokens = new(new AuthOptions(), TimeProvider.System);
        private GrpcChannel _consentChannel = null!;
        private GrpcChannel _exchangeChannel = null!;
        private readonly List<Process> _replicas = [];
        private readonly List<GrpcChannel> _replicaChannels = [];

        private Pair(string broker, IBusControl bus) => (Broker, Bus) = (broker, bus);

        public string Broker { get; }

        public IBusControl Bus { get; }

        public int ExchangePort { get; } = HostProcessTests.FreePort();

        public Process Consent { get; private set; } = null!;

        public Process Exchange { get; private set; } = null!;

        public Metadata Platform => Bearer(ExchangeProcessTests.Platform, "platform");

        public Metadata Bureau => Bearer(ExchangeProcessTests.Bureau, "institution");

        public C.ConsentService.ConsentServiceClient Consents => new(_consentChannel);

        public C.SubjectService.SubjectServiceClient Subjects => new(_consentChannel);

        /// <summary>The clients of the first Exchange process (the one <see cref="StartExchangeAsync"/> starts).</summary>
        public ExchangeClients First { get; private set; } = null!;

        /// <summary>Exchange's database, which every replica shares.</summary>
        public string ExchangeDatabase => Path.Combine(_root, "exchange", "exchange.db");

        public string ConsentDatabase => Path.Combine(_root, "consent", "consent.db");

        public static async Task<Pair> StartAsync()
        {
            var broker = RealInfrastructure.RabbitMq();
            var bus = MassTransit.Bus.Factory.CreateUsingRabbitMq(rabbit =>
                rabbit.Host(new UriBuilder(new Uri(broker)) { Scheme = "rabbitmq", UserName = "", Password = "" }.Uri, host =>
                {
                    host.Username("guest");
                    host.Password("guest");
                }));
            await bus.StartAsync();
            var pair = new Pair(broker, bus);
            await pair.StartConsentAsync();
            await pair.StartExchangeAsync();
            pair._consentChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{pair._consentPort}");
            pair._exchangeChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{pair.ExchangePort}");
            pair.First = new ExchangeClients(pair._exchangeChannel) { Port = pair.ExchangePort };
            return pair;
        }

        /// <summary>Starts Consent, again on its data once it was killed.</summary>
        public async Task StartConsentAsync()
        {
            Consent?.Dispose();
            Consent = await ExchangeProcessTests.StartAsync(
            [
                "--services", "consent", "--data", Path.Combine(_root, "consent"), $"--Oversight:Bus:RabbitMq={Broker}", "--Oversight:AllowDevelopmentKeys=true",
                $"--Oversight:Consent:Port={_consentPort}", $"--Oversight:HealthPort={HostProcessTests.FreePort()}",
                $"--Oversight:Consent:SeedOrganisations:0:Id={ExchangeProcessTests.Platform}", "--Oversight:Consent:SeedOrganisations:0:Kind=platform",
                $"--Oversight:Consent:SeedOrganisations:0:Name={ExchangeProcessTests.Platform}", "--Oversight:Consent:SeedOrganisations:0:Jurisdiction=CN",
                $"--Oversight:Consent:SeedOrganisations:1:Id={ExchangeProcessTests.Bureau}", "--Oversight:Consent:SeedOrganisations:1:Kind=institution",
                $"--Oversight:Consent:SeedOrganisations:1:Name={ExchangeProcessTests.Bureau}", "--Oversight:Consent:SeedOrganisations:1:Jurisdiction=CN",
            ]);
        }

        /// <summary>Starts Exchange, again on its data once it was killed.</summary>
        public async Task StartExchangeAsync()
        {
            Exchange?.Dispose();
            Exchange = await StartExchangeOnAsync(ExchangePort);
        }

        /// <summary>A second replica of Exchange on the same database, Consent and broker: its clients.</summary>
        public async Task<ExchangeClients> StartExchangeReplicaAsync()
        {
            var port = HostProcessTests.FreePort();
            _replicas.Add(await StartExchangeOnAsync(port));
            var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            _replicaChannels.Add(channel);
            return new ExchangeClients(channel) { Port = port };
        }

        private Task<Process> StartExchangeOnAsync(int port) => ExchangeProcessTests.StartAsync(
        [
            "--services", "exchange", "--data", Path.Combine(_root, "exchange"), $"--Oversight:Bus:RabbitMq={Broker}", "--Oversight:AllowDevelopmentKeys=true",
            $"--Oversight:Exchange:Port={port}", $"--Oversight:HealthPort={HostProcessTests.FreePort()}",
            $"--Oversight:Exchange:Consent:Address=http://127.0.0.1:{_consentPort}", "--Oversight:Exchange:Consent:CheckDeadline=00:00:03",
        ]);

        /// <summary>Fetches the request's delivery two pages at a time and kills <paramref name="victim"/> after the second; what arrived, and how the stream ended.</summary>
        public async Task<(List<E.DeliveredRecord> Received, string LastToken, string DeliveryId, RpcException Failure)> FetchUntilKilledAsync(string requestId, Func<Process> victim)
        {
            var received = new List<E.DeliveredRecord>();
            var lastToken = "";
            var deliveryId = "";
            var failure = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                using var call = First.Deliveries.FetchDelivery(new E.FetchDeliveryRequest { DataRequestId = requestId, PageSize = 10 }, Bureau);
                var pages = 0;
                await foreach (var message in call.ResponseStream.ReadAllAsync())
                {
                    if (message.Started is { } started)
                    {
                        deliveryId = started.DeliveryId;
                    }

                    if (message.Page is { } page)
                    {
                        received.AddRange(page.Records);
                        lastToken = page.ResumeToken;
                        if (++pages == 2)
                        {
                            var process = victim();
                            process.Kill(entireProcessTree: true);
                            await process.WaitForExitAsync();
                        }
                    }
                }
            });
            return (received, lastToken, deliveryId, failure);
        }

        /// <summary>Resumes the delivery from <paramref name="token"/> until it answers (at the first Exchange, unless told another); the records that came.</summary>
        public async Task<List<E.DeliveredRecord>> ResumeAsync(string token, string what, ExchangeClients? at = null)
        {
            var deliveries = (at ?? First).Deliveries;
            var rest = new List<E.DeliveredRecord>();
            await Eventually.HoldsAsync(async () =>
            {
                rest.Clear();
                try
                {
                    using var call = deliveries.FetchDelivery(new E.FetchDeliveryRequest { ResumeToken = token, PageSize = 10 }, Bureau);
                    await foreach (var message in call.ResponseStream.ReadAllAsync())
                    {
                        rest.AddRange(message.Page?.Records ?? []);
                    }

                    return true;
                }
                catch (RpcException exception) when (exception.StatusCode == StatusCode.Unavailable)
                {
                    return false;
                }
            }, what, 60000);
            return rest;
        }

        public async ValueTask DisposeAsync()
        {
            _consentChannel?.Dispose();
            _exchangeChannel?.Dispose();
            _replicaChannels.ForEach(channel => channel.Dispose());
            foreach (var process in new[] { Exchange, Consent }.Concat(_replicas))
            {
                if (process is { HasExited: false })
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }

                process?.Dispose();
            }

            await Bus.StopAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_root, recursive: true);
        }

        private Metadata Bearer(string organisation, string kind) => new() { { "Authorization", $"Bearer {_tokens.Mint(organisation, kind)}" } };
    }

    /// <summary>The clients of one Exchange replica.</summary>
    private sealed class ExchangeClients(GrpcChannel channel)
    {
        public int Port { get; init; }

        public E.CatalogService.CatalogServiceClient Catalog { get; } = new(channel);

        public E.VaultService.VaultServiceClient Vault { get; } = new(channel);

        public E.DataRequestService.DataRequestServiceClient Requests { get; } = new(channel);

        public E.DeliveryService.DeliveryServiceClient Deliveries { get; } = new(channel);
    }

    /// <summary>
    /// ShopWave's dataset of <paramref name="records"/> records of 12 subjects, 10 of whom consent, and
    /// the bureau's request approved under an alliance Governance announced on the broker: their ids.
    /// </summary>
    private static async Task<(string DatasetId, string RequestId)> ArrangeAsync(Pair pair, int records = 120)
    {
        var platform = pair.Platform;
        // ShopWave's dataset of 12 subjects; 10 of them consent.
        var dataset = await PublishAsync(pair.First, platform, "Card transactions");
        using (var upload = pair.First.Vault.UploadRecords(platform))
        {
            foreach (var chunk in Enumerable.Range(0, records).Chunk(100))
            {
                await upload.RequestStream.WriteAsync(new E.UploadRecordsRequest
                {
                    UploadId = "records", DatasetId = dataset,
                    Records =
                    {
                        chunk.Select(i => new E.VaultRecord
                        {
                            SubjectId = $"person-{i % 12}", RecordKey = $"payment-{i:D4}", OccurTime = Timestamp.FromDateTime(DateTime.UtcNow),
                            Fields = { ["amount"] = $"{i}.00" },
                        }),
                    },
                });
            }

            await upload.RequestStream.CompleteAsync();
            Assert.Equal(records, (await upload.ResponseAsync).Upload.Accepted);
        }

        var consents = pair.Consents;
        for (var s = 0; s < 10; s++)
        {
            await consents.GrantConsentAsync(Grant($"person-{s}"), platform);
        }

        // Governance's announcement of the alliance, on the broker.
        await WaitForQueueAsync(pair.Broker, "exchange-alliance-activated");
        await pair.Bus.Publish(new AllianceActivated
        {
            EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Governance, Version = 1,
            AllianceId = Guid.NewGuid().ToString("D"), InstitutionId = Bureau,
            Scope = new AllianceScopeTerms
            {
                Purposes = ["credit_assessment"], DataCategories = ["user.financial"], Fields = ["amount"], IdentifiedData = true, MaxRetentionSeconds = 86400,
                ValidFrom = DateTimeOffset.UtcNow.AddDays(-1), ValidUntil = DateTimeOffset.UtcNow.AddDays(30),
            },
        });
        string? requestId = null;
        await Eventually.HoldsAsync(async () =>
        {
            var request = await RequestAsync(pair.First, pair.Bureau, dataset);
            requestId = request.State == E.DataRequestState.Approved ? request.Id : null;
            return requestId is not null;
        }, "Exchange knows the alliance from the broker", 60000);
        return (dataset, requestId!);
    }

    /// <summary>A dataset of the platform's with one decimal field, <c>amount</c>: its id.</summary>
    private static async Task<string> PublishAsync(ExchangeClients exchange, Metadata platform, string name) =>
        (await exchange.Catalog.PublishDatasetAsync(new E.PublishDatasetRequest
        {
            RequestId = name, Name = name, DataCategory = "user.financial.transactions",
            Fields = { new E.DatasetField { Name = "amount", Type = E.FieldType.Decimal, Sensitivity = E.FieldSensitivity.Sensitive, Required = true } },
        }, platform)).Dataset.Id;

    /// <summary>The bureau's request for the dataset's amounts, for credit assessment.</summary>
    private static async Task<E.DataRequest> RequestAsync(ExchangeClients exchange, Metadata bureau, string dataset) =>
        (await exchange.Requests.CreateDataRequestAsync(new E.CreateDataRequestRequest
        {
            RequestId = Guid.NewGuid().ToString("N"), DatasetIds = { dataset }, Purpose = "credit_assessment", Fields = { "amount" },
        }, bureau)).DataRequest;

    private static async Task<Process> StartAsync(params string[] arguments)
    {
        var process = HostProcessTests.Start(arguments);
        await HostProcessTests.ReadUntilAsync(process, line => line.StartsWith("data ", StringComparison.Ordinal));
        // Keep reading, so the host never blocks on a full pipe.
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return process;
    }

    private static C.GrantConsentRequest Grant(string subject) => new()
    {
        RequestId = $"grant-{subject}",
        SubjectId = subject,
        Terms = new C.ConsentTerms
        {
            RecipientId = Bureau,
            Purpose = "credit_assessment",
            DataCategories = { "user.financial.transactions" },
            ValidUntil = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(30)),
            Mode = C.ConsentMode.View,
            Evidence = new C.ConsentEvidence
            {
                CollectionMethod = C.CollectionMethod.App, NoticeId = "privacy-notice", NoticeVersion = "2026-10", NoticeContentSha256 = new string('a', 64),
                CollectTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1)), Language = "zh-CN", Jurisdiction = "CN", SeparateConsent = true,
            },
        },
    };

    /// <summary>The consumer's queue exists and is consumed once the host's receive endpoint is up.</summary>
    private static Task WaitForQueueAsync(string broker, string queue) =>
        Eventually.HoldsAsync(async () =>
        {
            var factory = new ConnectionFactory { Uri = new Uri(broker) };
            await using var connection = await factory.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                return (await channel.QueueDeclarePassiveAsync(queue)).ConsumerCount > 0;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                return false;
            }
        }, $"{queue} has a consumer", 60000);
}
