using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Oversight.Consent.V1;
using Oversight.Contracts.Consent;

namespace Oversight.Consent.Tests;

/// <summary>
/// The order the outbox promises (see <c>SqlDialect.ClaimOutboxBatch</c>): one relay publishes an
/// aggregate's events in the order they were written, even when the broker refuses one of them
/// on the way — the relay stops there and starts again at the refused event, never past it.
/// </summary>
public sealed class OutboxOrderTests
{
    [Fact]
    public async Task The_relay_never_publishes_a_later_event_of_a_consent_before_an_earlier_one()
    {
        await using var host = await ConsentTestHost.StartAsync(settings => settings["Oversight:Outbox:MaxBackoff"] = "00:00:00.200");
        var shopwave = host.Consent(ConsentTestHost.Shopwave);
        var first = await host.GrantAsync("order-subject-1");
        var second = await host.GrantAsync("order-subject-2");
        var observer = new PublishedOrder((first.Id, 2));
        using var handle = host.Services.GetRequiredService<IBus>().ConnectPublishObserver(observer);

        // Two consents' changes interleaved; the broker refuses the first consent's pause once.
        await shopwave.PauseConsentAsync(new PauseConsentRequest { RequestId = "p1", ConsentId = first.Id });
        await shopwave.PauseConsentAsync(new PauseConsentRequest { RequestId = "p2", ConsentId = second.Id });
        await shopwave.ResumeConsentAsync(new ResumeConsentRequest { RequestId = "r1", ConsentId = first.Id });
        await shopwave.RevokeConsentAsync(new RevokeConsentRequest { RequestId = "v2", ConsentId = second.Id });
        await shopwave.RevokeConsentAsync(new RevokeConsentRequest { RequestId = "v1", ConsentId = first.Id });

        await ConsentTestHost.EventuallyAsync(async () =>
        {
            await using var connection = await host.Database.OpenAsync(CancellationToken.None);
            return await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, "SELECT COUNT(*) FROM outbox_message WHERE sent_at_ms IS NULL") == 0;
        }, "the relay has published every event");

        Assert.True(observer.Refused, "the broker never refused the first consent's pause: the test checked nothing");
        var published = observer.Snapshot();
        Assert.Equal([2L, 3L, 4L], published.Where(p => p.ConsentId == first.Id).Select(p => p.Version));
        Assert.Equal([2L, 3L], published.Where(p => p.ConsentId == second.Id).Select(p => p.Version));
    }

    /// <summary>Records each consent event the bus published, in publish order, and refuses one of them once.</summary>
    private sealed class PublishedOrder((string ConsentId, long Version) refuseOnce) : IPublishObserver
    {
        private readonly List<(string ConsentId, long Version)> _published = [];
        private int _refusals;

        public bool Refused => Volatile.Read(ref _refusals) > 0;

        public IReadOnlyList<(string ConsentId, long Version)> Snapshot()
        {
            lock (_published)
            {
                return [.. _published];
            }
        }

        public Task PrePublish<T>(PublishContext<T> context) where T : class
        {
            if (Key(context.Message) == refuseOnce && Interlocked.Exchange(ref _refusals, 1) == 0)
            {
                throw new InvalidOperationException("The broker refused this event (the test's broker failure).");
            }

            return Task.CompletedTask;
        }

        public Task PostPublish<T>(PublishContext<T> context) where T : class
        {
            if (Key(context.Message) is { } key)
            {
                lock (_published)
                {
                    _published.Add(key);
                }
            }

            return Task.CompletedTask;
        }

        public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class => Task.CompletedTask;

        private static (string ConsentId, long Version)? Key(object message) => message switch
        {
            ConsentPaused e => (e.ConsentId, e.Version),
            ConsentResumed e => (e.ConsentId, e.Version),
            ConsentRevoked e => (e.ConsentId, e.Version),
            _ => null,
        };
    }
}
