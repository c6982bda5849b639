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
/// `--services exchange`) on a real broker: Consent killed in the middle of a delivery stops it with
/// UNAVAILABLE and nothing more leaves; once Consent is back, the delivery resumes and every allowed
/// record has arrived exactly once.
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
        var requestId = await ArrangeAsync(pair);

        // Two pages read, then Consent is killed: the stream ends UNAVAILABLE, the delivery is stopped.
        var (received, lastToken, deliveryId, failure) = await pair.FetchUntilKilledAsync(requestId, () => pair.Consent);
        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        Assert.True(received.Count < 100, "the whole delivery left although Consent was killed");
        var stopped = (await pair.Deliveries.GetDeliveryAsync(new E.GetDeliveryRequest { DeliveryId = deliveryId }, pair.Bureau)).Delivery;
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
        var requestId = await ArrangeAsync(pair);

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

    /// <summary>Consent and Exchange as two processes on the broker, each on a data folder of its own, and a bus standing in for Governance.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private readonly string _root = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));
        private readonly int _consentPort = HostProcessTests.FreePort();
        private readonly TokenIssuer _tokens = new(new AuthOptions(), TimeProvider.System);
        private GrpcChannel _consentChannel = null!;
        private GrpcChannel _exchangeChannel = null!;

        private Pair(string broker, IBusControl bus) => (Broker, Bus) = (broker, bus);

        public string Broker { get; }

        public IBusControl Bus { get; }

        public int ExchangePort { get; } = HostProcessTests.FreePort();

        public Process Consent { get; private set; } = null!;

        public Process Exchange { get; private set; } = null!;

        public Metadata Platform => Bearer(ExchangeProcessTests.Platform, "platform");

        public Metadata Bureau => Bearer(ExchangeProcessTests.Bureau, "institution");

        public C.ConsentService.ConsentServiceClient Consents => new(_consentChannel);

        public E.CatalogService.CatalogServiceClient Catalog => new(_exchangeChannel);

        public E.VaultService.VaultServiceClient Vault => new(_exchangeChannel);

        public E.DataRequestService.DataRequestServiceClient Requests => new(_exchangeChannel);

        public E.DeliveryService.DeliveryServiceClient Deliveries => new(_exchangeChannel);

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
            Exchange = await ExchangeProcessTests.StartAsync(
            [
                "--services", "exchange", "--data", Path.Combine(_root, "exchange"), $"--Oversight:Bus:RabbitMq={Broker}", "--Oversight:AllowDevelopmentKeys=true",
                $"--Oversight:Exchange:Port={ExchangePort}", $"--Oversight:HealthPort={HostProcessTests.FreePort()}",
                $"--Oversight:Exchange:Consent:Address=http://127.0.0.1:{_consentPort}", "--Oversight:Exchange:Consent:CheckDeadline=00:00:03",
            ]);
        }

        /// <summary>Fetches the request's delivery two pages at a time and kills <paramref name="victim"/> after the second; what arrived, and how the stream ended.</summary>
        public async Task<(List<E.DeliveredRecord> Received, string LastToken, string DeliveryId, RpcException Failure)> FetchUntilKilledAsync(string requestId, Func<Process> victim)
        {
            var received = new List<E.DeliveredRecord>();
            var lastToken = "";
            var deliveryId = "";
            var failure = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                using var call = Deliveries.FetchDelivery(new E.FetchDeliveryRequest { DataRequestId = requestId, PageSize = 10 }, Bureau);
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

        /// <summary>Resumes the delivery from <paramref name="token"/> until it answers; the records that came.</summary>
        public async Task<List<E.DeliveredRecord>> ResumeAsync(string token, string what)
        {
            var rest = new List<E.DeliveredRecord>();
            await Eventually.HoldsAsync(async () =>
            {
                rest.Clear();
                try
                {
                    using var call = Deliveries.FetchDelivery(new E.FetchDeliveryRequest { ResumeToken = token, PageSize = 10 }, Bureau);
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
            foreach (var process in new[] { Exchange, Consent })
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

    /// <summary>
    /// ShopWave's dataset of 120 records of 12 subjects, 10 of whom consent, and the bureau's request
    /// approved under an alliance Governance announced on the broker: its id.
    /// </summary>
    private static async Task<string> ArrangeAsync(Pair pair)
    {
        var (platform, bureau) = (pair.Platform, pair.Bureau);
        // ShopWave's dataset, 120 records of 12 subjects; 10 of them consent.
        var dataset = (await pair.Catalog.PublishDatasetAsync(new E.PublishDatasetRequest
        {
            RequestId = "dataset", Name = "Card transactions", DataCategory = "user.financial.transactions",
            Fields = { new E.DatasetField { Name = "amount", Type = E.FieldType.Decimal, Sensitivity = E.FieldSensitivity.Sensitive, Required = true } },
        }, platform)).Dataset;
        using (var upload = pair.Vault.UploadRecords(platform))
        {
            await upload.RequestStream.WriteAsync(new E.UploadRecordsRequest
            {
                UploadId = "records", DatasetId = dataset.Id,
                Records =
                {
                    Enumerable.Range(0, 120).Select(i => new E.VaultRecord
                    {
                        SubjectId = $"person-{i % 12}", RecordKey = $"payment-{i:D3}", OccurTime = Timestamp.FromDateTime(DateTime.UtcNow),
                        Fields = { ["amount"] = $"{i}.00" },
                    }),
                },
            });
            await upload.RequestStream.CompleteAsync();
            Assert.Equal(120, (await upload.ResponseAsync).Upload.Accepted);
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
        var requests = pair.Requests;
        string? requestId = null;
        await Eventually.HoldsAsync(async () =>
        {
            var request = (await requests.CreateDataRequestAsync(new E.CreateDataRequestRequest
            {
                RequestId = Guid.NewGuid().ToString("N"), DatasetIds = { dataset.Id }, Purpose = "credit_assessment", Fields = { "amount" },
            }, bureau)).DataRequest;
            requestId = request.State == E.DataRequestState.Approved ? request.Id : null;
            return requestId is not null;
        }, "Exchange knows the alliance from the broker", 60000);
        return requestId!;
    }

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
