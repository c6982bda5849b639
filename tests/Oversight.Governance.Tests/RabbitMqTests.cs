using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts;
using Oversight.Contracts.Governance;
using Oversight.Governance.V1;
using Oversight.Testing;
using RabbitMQ.Client;

namespace Oversight.Governance.Tests;

/// <summary>
/// Governance's events through the transactional outbox, the relay and a real RabbitMQ broker, to a
/// queue a consumer outside Oversight binds. Each test binds a queue of its own (exclusive, so the
/// broker deletes it with the test's connection) and names its organisations with a run id, so runs
/// sharing a broker never read each other's events.
/// </summary>
[Collection("RabbitMQ")]
public sealed class RabbitMqTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    private static Task<GovernanceTestHost> StartAsync(string broker) =>
        GovernanceTestHost.StartAsync(settings =>
        {
            settings["Oversight:Bus:RabbitMq"] = broker;
            settings["Oversight:Outbox:PublishTimeout"] = "00:00:02";
            settings["Oversight:Outbox:MaxBackoff"] = "00:00:01";
        });

    private static RegisterOrganisationRequest Register(string id, OrganisationKind kind, params string[] affiliations) => new()
    {
        RequestId = $"register-{id}", OrganisationId = id, Kind = kind, Name = $"{id} Ltd", Jurisdiction = "CN", Affiliations = { affiliations },
    };

    [Fact]
    public async Task A_registered_organisation_reaches_an_outside_queue_once_with_its_event_id_and_then_its_update()
    {
        var broker = RealInfrastructure.RabbitMq();
        await using var outside = await OutsideQueue.BindAsync(broker, typeof(OrganisationRegistered), typeof(OrganisationUpdated));
        await using var host = await StartAsync(broker);
        var (paylink, shopwave) = ($"paylink-{_run}", $"shopwave-{_run}");

        await host.Organisations().RegisterOrganisationAsync(Register(paylink, OrganisationKind.Platform));
        var registered = (await host.Organisations().RegisterOrganisationAsync(Register(shopwave, OrganisationKind.Platform, paylink))).Organisation;
        // A retry answers from the idempotency store: no second write, no second event.
        Assert.Equal(registered, (await host.Organisations().RegisterOrganisationAsync(Register(shopwave, OrganisationKind.Platform, paylink))).Organisation);
        await host.Organisations().UpdateOrganisationAsync(new UpdateOrganisationRequest
        {
            RequestId = $"rename-{shopwave}", OrganisationId = shopwave, ExpectedVersion = 1, Name = "ShopWave Group", Jurisdiction = "HK", Affiliations = { paylink },
        });

        await host.WaitForOutboxAsync();
        var deliveries = await outside.DrainAsync();
        var (registeredId, registeredEvent) = Assert.Single(Events<OrganisationRegistered>(deliveries), d => d.Message.OrganisationId == shopwave);
        Assert.Equal(registeredEvent.EventId, registeredId);
        Assert.Equal((Producers.Governance, 1L, OrganisationKinds.Platform, $"{shopwave} Ltd", "CN"),
            (registeredEvent.Producer, registeredEvent.Version, registeredEvent.Kind, registeredEvent.Name, registeredEvent.Jurisdiction));
        Assert.Equal([paylink], registeredEvent.Affiliations);
        Assert.Equal(registered.CreateTime.ToDateTimeOffset(), registeredEvent.OccurredAt);

        var (updatedId, updatedEvent) = Assert.Single(Events<OrganisationUpdated>(deliveries), d => d.Message.OrganisationId == shopwave);
        Assert.Equal(updatedEvent.EventId, updatedId);
        Assert.Equal((2L, "ShopWave Group", "HK"), (updatedEvent.Version, updatedEvent.Name, updatedEvent.Jurisdiction));

        // The relay publishes in the order the events were written.
        Assert.Equal(
            [(nameof(OrganisationRegistered), paylink), (nameof(OrganisationRegistered), shopwave), (nameof(OrganisationUpdated), shopwave)],
            deliveries.Select(d => (d.Type, Id: d.Message.GetProperty("organisationId").GetString() ?? "")).Where(d => d.Id.EndsWith(_run, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_enacted_and_a_repealed_mandate_reach_an_outside_queue_once_each_with_their_terms()
    {
        var broker = RealInfrastructure.RabbitMq();
        await using var outside = await OutsideQueue.BindAsync(broker, typeof(StatutoryMandateEnacted), typeof(StatutoryMandateRepealed));
        await using var host = await StartAsync(broker);
        var bureau = $"bureau-{_run}";
        await host.Organisations().RegisterOrganisationAsync(Register(bureau, OrganisationKind.Institution));

        var enacted = (await host.Orders().EnactStatutoryMandateAsync(new EnactStatutoryMandateRequest
        {
            RequestId = $"enact-{_run}", LegalReference = "Anti-Money Laundering Law, Art. 28", RecipientId = bureau,
            Purposes = { "anti_money_laundering" }, DataCategories = { "user.financial.transactions", "user.government_id" },
        })).Mandate;
        host.Time.Advance(TimeSpan.FromDays(1));
        var repealed = (await host.Orders().RepealStatutoryMandateAsync(
            new RepealStatutoryMandateRequest { RequestId = $"repeal-{_run}", MandateId = enacted.Id, Reason = "superseded by statute" })).Mandate;

        await host.WaitForOutboxAsync();
        var deliveries = await outside.DrainAsync();
        var (enactedId, enactedEvent) = Assert.Single(Events<StatutoryMandateEnacted>(deliveries), d => d.Message.MandateId == enacted.Id);
        Assert.Equal(enactedEvent.EventId, enactedId);
        Assert.Equal((Producers.Governance, 1L, "Anti-Money Laundering Law, Art. 28", bureau),
            (enactedEvent.Producer, enactedEvent.Version, enactedEvent.LegalReference, enactedEvent.RecipientId));
        Assert.Equal(["anti_money_laundering"], enactedEvent.Purposes);
        Assert.Equal(["user.financial.transactions", "user.government_id"], enactedEvent.DataCategories);
        Assert.Equal((enacted.ValidFrom.ToDateTimeOffset(), (DateTimeOffset?)null), (enactedEvent.ValidFrom, enactedEvent.ValidUntil));

        var (repealedId, repealedEvent) = Assert.Single(Events<StatutoryMandateRepealed>(deliveries), d => d.Message.MandateId == enacted.Id);
        Assert.Equal(repealedEvent.EventId, repealedId);
        Assert.Equal((2L, repealed.RepealTime.ToDateTimeOffset()), (repealedEvent.Version, repealedEvent.RepealedAt));
    }

    [Fact]
    public async Task An_executive_approved_by_the_regulator_reaches_an_outside_queue_once_with_the_effective_date()
    {
        var broker = RealInfrastructure.RabbitMq();
        await using var outside = await OutsideQueue.BindAsync(broker, typeof(ExecutiveApproved));
        await using var host = await StartAsync(broker);
        var (shopwave, paylink, state) = ($"shopwave-{_run}", $"paylink-{_run}", $"state-investor-{_run}");
        await host.Organisations().RegisterOrganisationAsync(Register(shopwave, OrganisationKind.Platform));
        await host.Organisations().RegisterOrganisationAsync(Register(paylink, OrganisationKind.Platform));
        await host.Organisations().RegisterOrganisationAsync(Register(state, OrganisationKind.StateInvestor));
        await host.Shares().FoundVentureAsync(new FoundVentureRequest
        {
            RequestId = "found",
            ShareClasses =
            {
                new ShareClass { Id = "ordinary", Kind = ShareClassKind.Ordinary, VotesPerShare = 1, Authorised = 10_000, Transferable = true },
                new ShareClass { Id = "management", Kind = ShareClassKind.Management, VotesPerShare = 0, Authorised = 1 },
            },
            Allocations =
            {
                new Allocation { HolderId = shopwave, ClassId = "ordinary", Quantity = 3_000 },
                new Allocation { HolderId = paylink, ClassId = "ordinary", Quantity = 2_000 },
                new Allocation { HolderId = state, ClassId = "ordinary", Quantity = 1_000 },
                new Allocation { HolderId = state, ClassId = "management", Quantity = 1 },
            },
        });
        host.Time.Advance(TimeSpan.FromSeconds(1));

        var now = host.Time.GetUtcNow();
        var proposal = (await host.Proposals(shopwave).CreateProposalAsync(new CreateProposalRequest
        {
            RequestId = "appoint", Category = V1.ProposalCategory.Special, Title = "Appoint Li Wei as CEO",
            Action = new ProposalAction { AppointExecutive = new AppointExecutive { PersonName = "Li Wei", Role = "ceo" } },
            OpenTime = Timestamp.FromDateTimeOffset(now.AddDays(7)), CloseTime = Timestamp.FromDateTimeOffset(now.AddDays(9)),
        })).Proposal;
        host.Time.Advance(TimeSpan.FromDays(7));
        foreach (var holder in new[] { shopwave, paylink })
        {
            await host.Proposals(holder).CastBallotAsync(new CastBallotRequest { RequestId = $"vote-{holder}", ProposalId = proposal.Id, Choice = V1.VoteChoice.For });
        }

        host.Time.Advance(TimeSpan.FromDays(2));
        await host.Services.GetRequiredService<Application.ProposalTallier>().TallyDueAsync(CancellationToken.None);
        var appointmentId = (await host.Proposals(shopwave).GetProposalAsync(new GetProposalRequest { ProposalId = proposal.Id })).Proposal.AppointmentId;
        var approved = (await host.Executives().ApproveAppointmentAsync(new ApproveAppointmentRequest
        {
            RequestId = "approve", AppointmentId = appointmentId, EffectiveTime = Timestamp.FromDateTimeOffset(host.Time.GetUtcNow().AddDays(3)),
        })).Appointment;

        await host.WaitForOutboxAsync();
        var (messageId, message) = Assert.Single(Events<ExecutiveApproved>(await outside.DrainAsync()), d => d.Message.AppointmentId == appointmentId);
        Assert.Equal(message.EventId, messageId);
        Assert.Equal((Producers.Governance, 2L, "Li Wei", "ceo", approved.EffectiveTime.ToDateTimeOffset()),
            (message.Producer, message.Version, message.PersonName, message.Role, message.EffectiveFrom));
    }

    [Fact]
    public async Task A_write_whose_transaction_fails_publishes_nothing_and_its_retry_publishes_once()
    {
        var broker = RealInfrastructure.RabbitMq();
        await using var outside = await OutsideQueue.BindAsync(broker, typeof(OrganisationRegistered));
        await using var host = await StartAsync(broker);
        var (regulator, rival, retried) = ($"regulator-{_run}", $"rival-regulator-{_run}", $"retried-{_run}");
        await host.Organisations().RegisterOrganisationAsync(Register(regulator, OrganisationKind.Regulator));

        // The database refuses a second regulator: that transaction rolls back.
        var refused = await Assert.ThrowsAsync<RpcException>(() => host.Organisations().RegisterOrganisationAsync(Register(rival, OrganisationKind.Regulator)).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);

        // A registration whose event is already in the outbox when a later step of its transaction fails:
        // the event rolls back with the organisation and the request id's claim.
        var request = Register(retried, OrganisationKind.Platform);
        var registry = host.Services.GetRequiredService<Application.OrganisationRegistry>();
        var operatorCaller = new Caller("operator", OrganisationKinds.Operator, null);
        await Assert.ThrowsAsync<InvalidOperationException>(() => IdempotentRequests.ExecuteAsync<RegisterOrganisationRequest, RegisterOrganisationResponse>(
            host.Database, operatorCaller.OrganisationId, request.RequestId, request, host.Time.GetUtcNow().ToUnixTimeMilliseconds(),
            async session =>
            {
                await registry.RegisterAsync(session, operatorCaller, retried, OrganisationKinds.Platform, request.Name, request.Jurisdiction, []);
                Assert.Equal(2, await session.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM outbox_message"));
                throw new InvalidOperationException("A later step of the same transaction failed.");
            },
            CancellationToken.None));
        Assert.Equal(1, await host.ScalarAsync("SELECT COUNT(*) FROM outbox_message"));

        // The caller retries with the same request id: written once, published once.
        await host.Organisations().RegisterOrganisationAsync(request);
        await host.WaitForOutboxAsync();
        var published = Events<OrganisationRegistered>(await outside.DrainAsync()).Select(d => d.Message.OrganisationId).ToList();
        Assert.Equal([regulator, retried], published.Where(id => id.EndsWith(_run, StringComparison.Ordinal)));
        Assert.Equal(2, await host.ScalarAsync("SELECT COUNT(*) FROM outbox_message"));
    }

    /// <summary>A message as it arrived: the event type its exchange is named after, MassTransit's message id and the event's JSON.</summary>
    private sealed record Delivery(string Type, Guid? MessageId, JsonElement Message);

    /// <summary>The deliveries of one event type, read back into the contract.</summary>
    private static List<(Guid? MessageId, T Message)> Events<T>(IEnumerable<Delivery> deliveries) =>
        deliveries.Where(d => d.Type == typeof(T).Name).Select(d => (d.MessageId, d.Message.Deserialize<T>(Json)!)).ToList();

    /// <summary>
    /// A queue a consumer outside Oversight declares and binds to the events' exchanges before any is
    /// published, so nothing races the binding; read with basic.get, so every copy is counted.
    /// </summary>
    private sealed class OutsideQueue : IAsyncDisposable
    {
        private readonly IConnection _connection;
        private readonly IChannel _channel;
        private readonly string _queue;

        private OutsideQueue(IConnection connection, IChannel channel, string queue)
        {
            _connection = connection;
            _channel = channel;
            _queue = queue;
        }

        public static async Task<OutsideQueue> BindAsync(string broker, params System.Type[] events)
        {
            var connection = await new ConnectionFactory { Uri = new Uri(broker) }.CreateConnectionAsync();
            var channel = await connection.CreateChannelAsync();
            var queue = $"governance-test-{Guid.NewGuid():N}";
            await channel.QueueDeclareAsync(queue, durable: false, exclusive: true, autoDelete: true);
            foreach (var type in events)
            {
                // The exchange MassTransit publishes the event type to (declared the same way it declares it).
                var exchange = $"{type.Namespace}:{type.Name}";
                await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
                await channel.QueueBindAsync(queue, exchange, "");
            }

            return new OutsideQueue(connection, channel, queue);
        }

        /// <summary>Everything in the queue, in arrival order. Call once the relay has published (the broker confirmed each).</summary>
        public async Task<List<Delivery>> DrainAsync()
        {
            var deliveries = new List<Delivery>();
            while (await _channel.BasicGetAsync(_queue, autoAck: true) is { } result)
            {
                using var envelope = JsonDocument.Parse(result.Body);
                var root = envelope.RootElement;
                var messageId = root.TryGetProperty("messageId", out var id) && Guid.TryParse(id.GetString(), out var parsed) ? parsed : (Guid?)null;
                deliveries.Add(new Delivery(result.Exchange[(result.Exchange.IndexOf(':', StringComparison.Ordinal) + 1)..], messageId, root.GetProperty("message").Clone()));
            }

            return deliveries;
        }

        // Closing the connection deletes the exclusive queue; the exchanges are the event types' own and stay.
        public async ValueTask DisposeAsync()
        {
            await _channel.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }
}
