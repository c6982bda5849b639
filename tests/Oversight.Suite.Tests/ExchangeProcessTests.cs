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
        var broker = RealInfrastructure.RabbitMq();
        var root = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));
        var (consentData, exchangeData) = (Path.Combine(root, "consent"), Path.Combine(root, "exchange"));
        var (consentPort, exchangePort) = (HostProcessTests.FreePort(), HostProcessTests.FreePort());
        var tokens = new TokenIssuer(new AuthOptions(), TimeProvider.System);
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
            rabbit.Host(new UriBuilder(new Uri(broker)) { Scheme = "rabbitmq", UserName = "", Password = "" }.Uri, host =>
            {
                host.Username("guest");
                host.Password("guest");
            }));
        await bus.StartAsync();
        Process? consent = null;
        Process? exchange = null;
        try
        {
            consent = await StartAsync(ConsentArguments(broker, consentData, consentPort));
            exchange = await StartAsync(ExchangeArguments(broker, exchangeData, exchangePort, consentPort));
            using var consentChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{consentPort}");
            using var exchangeChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{exchangePort}");
            var platform = new Metadata { { "Authorization", $"Bearer {tokens.Mint(Platform, "platform")}" } };
            var bureau = new Metadata { { "Authorization", $"Bearer {tokens.Mint(Bureau, "institution")}" } };

            var requestId = await ArrangeAsync(bus, broker, consentChannel, exchangeChannel, platform, bureau);

            // Two pages read, then Consent is killed: the stream ends UNAVAILABLE, the delivery is stopped.
            var deliveries = new E.DeliveryService.DeliveryServiceClient(exchangeChannel);
            var received = new List<E.DeliveredRecord>();
            var lastToken = "";
            var deliveryId = "";
            var failure = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                using var call = deliveries.FetchDelivery(new E.FetchDeliveryRequest { DataRequestId = requestId, PageSize = 10 }, bureau);
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
                            consent.Kill(entireProcessTree: true);
                            await consent.WaitForExitAsync();
                        }
                    }
                }
            });
            Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
            Assert.True(received.Count < 100, "the whole delivery left although Consent was killed");
            var stopped = (await deliveries.GetDeliveryAsync(new E.GetDeliveryRequest { DeliveryId = deliveryId }, bureau)).Delivery;
            Assert.Equal(E.DeliveryState.Stopped, stopped.State);

            // Consent back on its data: the delivery resumes after the last page received.
            consent.Dispose();
            consent = await StartAsync(ConsentArguments(broker, consentData, consentPort));
            await Eventually.HoldsAsync(async () =>
            {
                try
                {
                    using var call = deliveries.FetchDelivery(new E.FetchDeliveryRequest { ResumeToken = lastToken, PageSize = 10 }, bureau);
                    var rest = new List<E.DeliveredRecord>();
                    await foreach (var message in call.ResponseStream.ReadAllAsync())
                    {
                        rest.AddRange(message.Page?.Records ?? []);
                    }

                    received.AddRange(rest);
                    return true;
                }
                catch (RpcException exception) when (exception.StatusCode == StatusCode.Unavailable)
                {
                    return false;
                }
            }, "the delivery resumes once Consent answers again", 60000);

            Assert.Equal(100, received.Count);
            Assert.Equal(100, received.Select(r => r.RecordKey).Distinct().Count());
            Assert.All(received, r => Assert.NotEqual("person-10", r.Subject));
            Assert.All(received, r => Assert.NotEqual("person-11", r.Subject));
        }
        finally
        {
            foreach (var process in new[] { exchange, consent })
            {
                if (process is { HasExited: false })
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }

                process?.Dispose();
            }

            await bus.StopAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// Exchange itself killed in the middle of a delivery stream: restarted on its data, the delivery
    /// resumes from the last token received, every allowed record has arrived exactly once, and
    /// Exchange's audit log, which recorded the delivery's pages up to the kill, still verifies.
    /// </summary>
    [Fact]
    public async Task Exchange_killed_mid_delivery_resumes_from_the_token_and_its_audit_log_still_verifies()
    {
        var broker = RealInfrastructure.RabbitMq();
        var root = Path.Combine(Path.GetTempPath(), "oversight-host-tests", Guid.NewGuid().ToString("N"));
        var (consentData, exchangeData) = (Path.Combine(root, "consent"), Path.Combine(root, "exchange"));
        var (consentPort, exchangePort) = (HostProcessTests.FreePort(), HostProcessTests.FreePort());
        var tokens = new TokenIssuer(new AuthOptions(), TimeProvider.System);
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
            rabbit.Host(new UriBuilder(new Uri(broker)) { Scheme = "rabbitmq", UserName = "", Password = "" }.Uri, host =>
            {
                host.Username("guest");
                host.Password("guest");
            }));
        await bus.StartAsync();
        Process? consent = null;
        Process? exchange = null;
        try
        {
            consent = await StartAsync(ConsentArguments(broker, consentData, consentPort));
            exchange = await StartAsync(ExchangeArguments(broker, exchangeData, exchangePort, consentPort));
            using var consentChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{consentPort}");
            using var exchangeChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{exchangePort}");
            var platform = new Metadata { { "Authorization", $"Bearer {tokens.Mint(Platform, "platform")}" } };
            var bureau = new Metadata { { "Authorization", $"Bearer {tokens.Mint(Bureau, "institution")}" } };
            var requestId = await ArrangeAsync(bus, broker, consentChannel, exchangeChannel, platform, bureau);

            var deliveries = new E.DeliveryService.DeliveryServiceClient(exchangeChannel);
            var received = new List<E.DeliveredRecord>();
            var lastToken = "";
            var killed = exchange;
            await Assert.ThrowsAsync<RpcException>(async () =>
            {
                using var call = deliveries.FetchDelivery(new E.FetchDeliveryRequest { DataRequestId = requestId, PageSize = 10 }, bureau);
                var pages = 0;
                await foreach (var message in call.ResponseStream.ReadAllAsync())
                {
                    if (message.Page is { } page)
                    {
                        received.AddRange(page.Records);
                        lastToken = page.ResumeToken;
                        if (++pages == 2)
                        {
                            killed.Kill(entireProcessTree: true);
                            await killed.WaitForExitAsync();
                        }
                    }
                }
            });
            Assert.True(received.Count < 100, "the whole delivery left before Exchange was killed");

            exchange.Dispose();
            exchange = await StartAsync(ExchangeArguments(broker, exchangeData, exchangePort, consentPort));
            await Eventually.HoldsAsync(async () =>
            {
                try
                {
                    using var call = deliveries.FetchDelivery(new E.FetchDeliveryRequest { ResumeToken = lastToken, PageSize = 10 }, bureau);
                    var rest = new List<E.DeliveredRecord>();
                    await foreach (var message in call.ResponseStream.ReadAllAsync())
                    {
                        rest.AddRange(message.Page?.Records ?? []);
                    }

                    received.AddRange(rest);
                    return true;
                }
                catch (RpcException exception) when (exception.StatusCode == StatusCode.Unavailable)
                {
                    return false;
                }
            }, "the delivery resumes once Exchange is back", 60000);

            Assert.Equal(100, received.Count);
            Assert.Equal(100, received.Select(r => r.RecordKey).Distinct().Count());
            var (exitCode, output, error) = await AuditCliTests.AuditHost.RunCliAsync(
                new() { ["OVERSIGHT_EXCHANGE_ADDRESS"] = $"http://127.0.0.1:{exchangePort}" },
                "--as", "central-bank", "--kind", "regulator", "audit", "verify-log", "--service", "exchange");
            Assert.True(exitCode == 0, $"Exchange's log does not verify:\n{output}{error}");
        }
        finally
        {
            foreach (var process in new[] { exchange, consent })
            {
                if (process is { HasExited: false })
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }

                process?.Dispose();
            }

            await bus.StopAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// ShopWave's dataset of 120 records of 12 subjects, 10 of whom consent, and the bureau's request
    /// approved under an alliance Governance announced on the broker: its id.
    /// </summary>
    private static async Task<string> ArrangeAsync(IBus bus, string broker, GrpcChannel consentChannel, GrpcChannel exchangeChannel, Metadata platform, Metadata bureau)
    {
        // ShopWave's dataset, 120 records of 12 subjects; 10 of them consent.
        var dataset = (await new E.CatalogService.CatalogServiceClient(exchangeChannel).PublishDatasetAsync(new E.PublishDatasetRequest
        {
            RequestId = "dataset", Name = "Card transactions", DataCategory = "user.financial.transactions",
            Fields = { new E.DatasetField { Name = "amount", Type = E.FieldType.Decimal, Sensitivity = E.FieldSensitivity.Sensitive, Required = true } },
        }, platform)).Dataset;
        using (var upload = new E.VaultService.VaultServiceClient(exchangeChannel).UploadRecords(platform))
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

        var consents = new C.ConsentService.ConsentServiceClient(consentChannel);
        for (var s = 0; s < 10; s++)
        {
            await consents.GrantConsentAsync(Grant($"person-{s}"), platform);
        }

        // Governance's announcement of the alliance, on the broker.
        await WaitForQueueAsync(broker, "exchange-alliance-activated");
        await bus.Publish(new AllianceActivated
        {
            EventId = Guid.NewGuid(), OccurredAt = DateTimeOffset.UtcNow, Producer = Producers.Governance, Version = 1,
            AllianceId = Guid.NewGuid().ToString("D"), InstitutionId = Bureau,
            Scope = new AllianceScopeTerms
            {
                Purposes = ["credit_assessment"], DataCategories = ["user.financial"], Fields = ["amount"], IdentifiedData = true, MaxRetentionSeconds = 86400,
                ValidFrom = DateTimeOffset.UtcNow.AddDays(-1), ValidUntil = DateTimeOffset.UtcNow.AddDays(30),
            },
        });
        var requests = new E.DataRequestService.DataRequestServiceClient(exchangeChannel);
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

    private static string[] ExchangeArguments(string broker, string data, int port, int consentPort) =>
    [
        "--services", "exchange", "--data", data, $"--Oversight:Bus:RabbitMq={broker}", "--Oversight:AllowDevelopmentKeys=true",
        $"--Oversight:Exchange:Port={port}", $"--Oversight:HealthPort={HostProcessTests.FreePort()}",
        $"--Oversight:Exchange:Consent:Address=http://127.0.0.1:{consentPort}", "--Oversight:Exchange:Consent:CheckDeadline=00:00:03",
    ];

    private static string[] ConsentArguments(string broker, string data, int port) =>
    [
        "--services", "consent", "--data", data, $"--Oversight:Bus:RabbitMq={broker}", "--Oversight:AllowDevelopmentKeys=true",
        $"--Oversight:Consent:Port={port}", $"--Oversight:HealthPort={HostProcessTests.FreePort()}",
        $"--Oversight:Consent:SeedOrganisations:0:Id={Platform}", "--Oversight:Consent:SeedOrganisations:0:Kind=platform",
        $"--Oversight:Consent:SeedOrganisations:0:Name={Platform}", "--Oversight:Consent:SeedOrganisations:0:Jurisdiction=CN",
        $"--Oversight:Consent:SeedOrganisations:1:Id={Bureau}", "--Oversight:Consent:SeedOrganisations:1:Kind=institution",
        $"--Oversight:Consent:SeedOrganisations:1:Name={Bureau}", "--Oversight:Consent:SeedOrganisations:1:Jurisdiction=CN",
    ];

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
