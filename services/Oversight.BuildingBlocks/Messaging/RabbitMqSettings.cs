using System.Reflection;
using MassTransit;
using MassTransit.RabbitMqTransport;
using RabbitMQ.Client.Exceptions;

namespace Oversight.BuildingBlocks.Messaging;

/// <summary>
/// Every consumer's queue is a quorum queue: replicated over the cluster's nodes, it survives a
/// broker restart and the loss of a node. Its delivery limit bounds a message that never gets an
/// answer, and the message then moves to the consumer's error queue (<c>&lt;queue&gt;_error</c>)
/// instead of being dropped, which is what a quorum queue does past its limit without a
/// dead-letter exchange.
/// </summary>
internal static class QuorumQueues
{
    public static void Configure(IRabbitMqReceiveEndpointConfigurator endpoint, string queue, int deliveryLimit)
    {
        endpoint.SetQuorumQueue();
        endpoint.SetQueueArgument("x-delivery-limit", deliveryLimit);
        // MassTransit declares the error queue with the arguments of the queue it serves, so the
        // dead-letter queue declared here must carry the same ones, or one declaration fails.
        var error = $"{queue}_error";
        endpoint.BindDeadLetterQueue(error, error, binding =>
        {
            binding.SetQuorumQueue();
            binding.SetQueueArgument("x-delivery-limit", deliveryLimit);
            binding.SetQueueArgument("x-dead-letter-exchange", error);
        });
    }
}

/// <summary>
/// How soon a lost broker is reached again. MassTransit 8 retries a receive transport (and a send)
/// whose connection failed with waits growing from 3 to 30 s and has no setting for them, so a
/// consumer noticed a broker that had come back up to half a minute late. The policy is replaced here
/// with one that keeps the same failures and waits at most <c>Oversight:Bus:ReconnectInterval</c>: attempts
/// against a broker still down cost one refused connection each.
/// </summary>
internal static class BrokerReconnect
{
    public static void Apply(IRabbitMqBusFactoryConfigurator rabbit, TimeSpan interval)
    {
        // The host configuration and its get-only policy are private: MassTransit is pinned (8.x), and
        // a version that moves them fails here at start-up, not silently.
        var host = rabbit.GetType().GetField("_hostConfiguration", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(rabbit);
        var policy = host?.GetType().GetField("<ReceiveTransportRetryPolicy>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic);
        if (policy is null)
        {
            throw new InvalidOperationException(
                $"MassTransit {typeof(IBus).Assembly.GetName().Version} no longer keeps its RabbitMQ reconnect policy where Oversight sets it; see BrokerReconnect.");
        }

        var first = interval < TimeSpan.FromMilliseconds(250) ? interval : TimeSpan.FromMilliseconds(250);
        policy.SetValue(host, Retry.CreatePolicy(retry =>
        {
            retry.Handle<ConnectionException>();
            retry.Handle<AlreadyClosedException>();
            retry.Handle<EndOfStreamException>();
            retry.Handle<OperationInterruptedException>(exception => exception.ChannelShouldBeClosed());
            retry.Handle<NotSupportedException>(exception => exception.Message.Contains("Pipelining of requests forbidden", StringComparison.Ordinal));
            retry.Ignore<AuthenticationFailureException>();
            retry.Exponential(int.MaxValue, first, interval, first);
        }));
    }
}
