using Grpc.Core;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Consent.V1;
using Oversight.Contracts;
using Oversight.Contracts.Consent;
using Oversight.Exchange.V1;
using Oversight.Testing;
using static Oversight.Exchange.Tests.ExchangeTestHost;

namespace Oversight.Exchange.Tests;

/// <summary>
/// Exchange's events and consumers over a real RabbitMQ broker, beside the real Consent module on the
/// same broker: Governance's alliance reaching Exchange, a delivery reaching each subject's disclosure
/// log, an erasure going out and its confirmation coming back, and a redelivered event applied once.
/// </summary>
[Collection("RabbitMQ")]
public sealed class RabbitMqTests
{
    private static async Task<ExchangeTestHost> StartOnBrokerAsync(ErasuresConsumed? consumed = null)
    {
        var broker = RealInfrastructure.RabbitMq();
        var host = await StartAsync(settings =>
        {
            settings["Oversight:Bus:RabbitMq"] = broker;
            settings["Oversight:Outbox:PublishTimeout"] = "00:00:02";
        }, services: services =>
        {
            if (consumed is not null)
            {
                services.AddConsumeObserver(_ => consumed);
            }
        });
        var health = await host.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(60));
        Assert.Equal(BusHealthStatus.Healthy, health);
        return host;
    }

    [Fact]
    public async Task A_delivery_reaches_the_disclosure_log_and_an_erasure_goes_out_and_is_confirmed_over_the_broker()
    {
        await using var host = await StartOnBrokerAsync();
        var datasetId = await VaultUploadTests.PublishAsync(host);
        await VaultUploadTests.UploadAsync(host, datasetId, "u", [VaultUploadTests.NewRecord("r1", "alice"), VaultUploadTests.NewRecord("r2", "bob")]);
        await host.Consent().GrantConsentAsync(DeliveryGrants.For(host, "alice"));
        // Governance's event, through the broker.
        await host.ActivateAllianceAsync();
        var request = (await host.Requests().CreateDataRequestAsync(new CreateDataRequestRequest
        {
            RequestId = "over-the-broker", DatasetIds = { datasetId }, Purpose = "credit_assessment", Fields = { "amount" },
        })).DataRequest;
        Assert.Equal(V1.DataRequestState.Approved, request.State);

        using (var call = host.Deliveries().FetchDelivery(new FetchDeliveryRequest { DataRequestId = request.Id }))
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        }

        await EventuallyAsync(async () => (await host.Subjects().ListDisclosuresAsync(new ListDisclosuresRequest { SubjectId = "alice" })).Disclosures.Count == 1,
            "alice's disclosure crossed the broker into Consent", 30000);
        Assert.Empty((await host.Subjects().ListDisclosuresAsync(new ListDisclosuresRequest { SubjectId = "bob" })).Disclosures);

        var erasure = (await host.Subjects().RequestErasureAsync(new RequestErasureRequest { RequestId = "erase-alice", SubjectId = "alice" })).ErasureRequest;
        await EventuallyAsync(async () => (await host.Subjects().GetErasureRequestAsync(new GetErasureRequestRequest { ErasureRequestId = erasure.Id }))
            .ErasureRequest.State == ErasureState.Completed, "the erasure went to Exchange and its confirmation came back", 30000);
        Assert.Equal(1, (await host.Subjects().GetErasureRequestAsync(new GetErasureRequestRequest { ErasureRequestId = erasure.Id })).ErasureRequest.ErasedRecordCount);
        Assert.Equal(1, (await host.Catalog().GetDatasetAsync(new GetDatasetRequest { DatasetId = datasetId })).Dataset.RecordCount);
    }

    [Fact]
    public async Task An_erasure_request_delivered_twice_erases_and_confirms_once()
    {
        var consumed = new ErasuresConsumed();
        await using var host = await StartOnBrokerAsync(consumed);
        var datasetId = await VaultUploadTests.PublishAsync(host);
        await VaultUploadTests.UploadAsync(host, datasetId, "u", [VaultUploadTests.NewRecord("r1", "carol")]);
        var message = Outbox.Stamp(new SubjectErasureRequested { ErasureRequestId = Guid.NewGuid().ToString("D"), SubjectId = "carol", ControllerId = Shopwave },
            Producers.Consent, DateTimeOffset.UtcNow, 1);

        await host.PublishAsync(message);
        await host.PublishAsync(message);
        await EventuallyAsync(() => Task.FromResult(consumed.Count == 2), "both copies were consumed (acked)", 30000);

        Assert.Equal(0, await host.ScalarAsync<long>("SELECT COUNT(*) FROM vault_record"));
        Assert.Equal(1, await ConfirmationsAsync(host, message.ErasureRequestId));
        var entries = (await host.Audit().ListEntriesAsync(new Audit.V1.ListEntriesRequest { Action = "vault.subject_erased" })).Entries;
        Assert.Single(entries);
    }

    private static Task<long> ConfirmationsAsync(ExchangeTestHost host, string erasureRequestId) =>
        host.ScalarAsync<long>("SELECT COUNT(*) FROM outbox_message WHERE message_type LIKE '%SubjectErasureCompleted%' AND body LIKE @Id",
            new { Id = "%" + erasureRequestId + "%" });
}

/// <summary>Counts the erasure requests Exchange's consumer finished (acked), with or without effect.</summary>
public sealed class ErasuresConsumed : IConsumeObserver
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public Task PreConsume<T>(ConsumeContext<T> context) where T : class => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context) where T : class
    {
        if (context.Message is SubjectErasureRequested)
        {
            Interlocked.Increment(ref _count);
        }

        return Task.CompletedTask;
    }

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}
