using MassTransit;
using MassTransit.Middleware;
using Oversight.BuildingBlocks.Data;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Oversight.BuildingBlocks.Messaging;

/// <summary>Bus settings, bound from <c>Oversight:Bus</c>.</summary>
public sealed class BusOptions
{
    /// <summary>An amqp:// URI; empty selects MassTransit's in-memory transport (one process only).</summary>
    public string RabbitMq { get; set; } = "";

    public bool UsesRabbitMq => !string.IsNullOrWhiteSpace(RabbitMq);

    /// <summary>
    /// Messages a consumer's queue hands out ahead of processing. SQLite has one writer, so a
    /// high prefetch only queues contention.
    /// </summary>
    public int PrefetchCount { get; set; } = 8;

    /// <summary>Messages one consumer processes at once.</summary>
    public int ConcurrentMessageLimit { get; set; } = 4;

    /// <summary>
    /// Tries of a message in memory before a permanent failure faults it to the error queue. A
    /// transient failure is tried again after these, every <see cref="RetryMaxInterval"/>, for as long
    /// as it lasts, and is never faulted.
    /// </summary>
    public int RetryLimit { get; set; } = 5;

    public TimeSpan RetryMinInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan RetryMaxInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Deliveries of one message a quorum queue makes before it dead-letters the message to the
    /// consumer's error queue. Only deliveries that ended without an answer count (a consumer killed
    /// or stopped under it): failures are retried in memory, not returned. It bounds a message that
    /// takes its consumer down each time it is read.
    /// </summary>
    public int DeliveryLimit { get; set; } = 20;

    /// <summary>
    /// The longest wait between attempts to reach a lost broker again; MassTransit's own waits grow to
    /// 30 s, which is how late a consumer used to notice the broker was back.
    /// </summary>
    public TimeSpan ReconnectInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a stop waits for in-flight messages before their consumers are cancelled (and the messages go back to the queue).</summary>
    public TimeSpan ConsumerStopTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a stop waits for the bus as a whole; the host waits longer, so nothing is disposed under a running consumer.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(25);
}

/// <summary>A module's consumers, registered on the one bus of the process.</summary>
public sealed record BusContribution(string Module, Action<IBusRegistrationConfigurator> Configure);

public static class OversightBus
{
    /// <summary>Registers a module's consumers; call before <see cref="AddOversightBus"/>.</summary>
    public static IServiceCollection AddBusContribution(this IServiceCollection services, string module, Action<IBusRegistrationConfigurator> configure) =>
        services.AddSingleton(new BusContribution(module, configure));

    /// <summary>
    /// One bus for the process, shared by every module hosted in it (the in-memory transport does
    /// not cross bus instances). RabbitMQ when <c>Oversight:Bus:RabbitMq</c> is set, with publisher
    /// confirms; otherwise in-memory.
    /// </summary>
    public static IServiceCollection AddOversightBus(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection("Oversight:Bus").Get<BusOptions>() ?? new BusOptions();
        var contributions = services
            .Where(d => d.ServiceType == typeof(BusContribution) && d.ImplementationInstance is not null)
            .Select(d => (BusContribution)d.ImplementationInstance!)
            .ToList();

        services.AddSingleton(options);
        services.AddOptions<MassTransitHostOptions>().Configure(host =>
        {
            host.ConsumerStopTimeout = options.ConsumerStopTimeout;
            host.StopTimeout = options.StopTimeout;
        });
        // The host disposes the services once its shutdown timeout passes; it must outlast the
        // bus's stop, or a consumer still running meets a disposed service provider.
        services.Configure<HostOptions>(host =>
        {
            var needed = options.StopTimeout + TimeSpan.FromSeconds(5);
            if (host.ShutdownTimeout < needed)
            {
                host.ShutdownTimeout = needed;
            }
        });
        services.AddMassTransit(bus =>
        {
            // MassTransit would otherwise report usage to usage-tracking.masstransit.io at start-up.
            bus.ConfigureUsageTelemetryOptions(telemetry => telemetry.Enabled = false);
            // An unreachable broker degrades every module (events wait in the outboxes) but stops
            // none: writes still succeed, so grpc.health.v1 stays SERVING.
            bus.ConfigureHealthCheckOptions(health =>
            {
                health.MinimalFailureStatus = Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded;
                health.Tags.Add(Hosting.OversightHosting.SharedTag);
            });
            bus.SetKebabCaseEndpointNameFormatter();
            foreach (var contribution in contributions)
            {
                contribution.Configure(bus);
            }

            if (options.UsesRabbitMq)
            {
                var uri = new Uri(options.RabbitMq);
                bus.UsingRabbitMq((context, rabbit) =>
                {
                    rabbit.Host(RabbitHostAddress(uri), host =>
                    {
                        var (user, password) = Credentials(uri);
                        host.Username(user);
                        host.Password(password);
                        host.PublisherConfirmation = true;
                    });
                    BrokerReconnect.Apply(rabbit, options.ReconnectInterval);
                    rabbit.ConfigureEndpoints(context);
                });
            }
            else
            {
                bus.UsingInMemory((context, memory) => memory.ConfigureEndpoints(context));
            }
        });
        return services;
    }

    private static Uri RabbitHostAddress(Uri uri)
    {
        var builder = new UriBuilder(uri) { Scheme = "rabbitmq", UserName = "", Password = "" };
        if (uri.IsDefaultPort || uri.Port <= 0)
        {
            builder.Port = 5672;
        }

        return builder.Uri;
    }

    private static (string User, string Password) Credentials(Uri uri)
    {
        if (string.IsNullOrEmpty(uri.UserInfo))
        {
            return ("guest", "guest");
        }

        var parts = uri.UserInfo.Split(':', 2);
        return (Uri.UnescapeDataString(parts[0]), parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : "");
    }
}

/// <summary>
/// Endpoint and retry settings every module consumer shares: a queue named after the module and
/// the consumer, few messages at once, and failures told apart.
/// <list type="bullet">
/// <item>Every failure is first tried again in memory a few times with exponential back-off
/// (<see cref="BusOptions.RetryLimit"/>).</item>
/// <item>A failure that may pass by itself (<see cref="TransientFailure"/>: a busy, unreachable or
/// full store) is then tried again every <see cref="BusOptions.RetryMaxInterval"/> for as long as
/// it lasts (<see cref="TransientRetryFilter"/>). The message stays with its consumer meanwhile, so an outage of any length parks
/// nothing, counts no delivery against the queue's limit, and the message is applied within one
/// interval of the store's return.</item>
/// <item>Anything else (an unreadable message, a contract violation) goes to the error queue once
/// the in-memory tries are spent.</item>
/// <item>A consumer failing because the host is stopping under it is not tried again: on RabbitMQ
/// the message goes back to its queue. On the in-memory transport, which drops a nacked message, it
/// is redelivered with MassTransit's delayed redelivery, which that transport supports
/// natively.</item>
/// <item>On RabbitMQ each queue is a quorum queue (replicated, it survives a node's loss), and a
/// message delivered <see cref="BusOptions.DeliveryLimit"/> times without an answer is
/// dead-lettered to the error queue instead of killing consumers forever.</item>
/// </list>
/// </summary>
public abstract class ModuleConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    private readonly string _queue;

    protected ModuleConsumerDefinition(string module, string name)
    {
        _queue = $"{module}-{name}";
        EndpointName = _queue;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<TConsumer> consumerConfigurator, IRegistrationContext context)
    {
        var options = context.GetRequiredService<BusOptions>();
        endpointConfigurator.PrefetchCount = options.PrefetchCount;
        endpointConfigurator.ConcurrentMessageLimit = options.ConcurrentMessageLimit;
        var delta = options.RetryMinInterval;
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            QuorumQueues.Configure(rabbit, _queue, options.DeliveryLimit);
            rabbit.ConfigureError(error =>
            {
                error.UseFilter(new RequeueUnlessPermanentFilter());
                error.UseFilter(new GenerateFaultFilter());
                error.UseFilter(new ErrorTransportFilter());
            });
        }
        else
        {
            endpointConfigurator.UseDelayedRedelivery(redelivery =>
            {
                redelivery.Handle<Exception>(exception => !ConsumerFailure.IsPermanent(exception));
                redelivery.Exponential(int.MaxValue, options.RetryMinInterval, options.RetryMaxInterval, delta);
            });
        }

        // A transient failure that outlasted the tries below is tried again, until it passes.
        endpointConfigurator.UseFilter(new TransientRetryFilter(options.RetryMaxInterval));
        // Any failure, a few times; a stopping host is not retried.
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(exception => !ConsumerFailure.IsStopping(exception));
            retry.Exponential(options.RetryLimit, options.RetryMinInterval, options.RetryMaxInterval, delta);
        });
    }
}

/// <summary>Why a consumer failed, as far as the message's fate goes.</summary>
public static class ConsumerFailure
{
    /// <summary>The host is stopping under the consumer (its services disposed or its work cancelled): not the message's fault.</summary>
    public static bool IsStopping(Exception exception) => exception is ObjectDisposedException or OperationCanceledException;

    /// <summary>May pass by itself: the message is delivered again, never faulted.</summary>
    public static bool IsTransient(Exception exception) => TransientFailure.Is(exception);

    /// <summary>Only these ever reach the error queue.</summary>
    public static bool IsPermanent(Exception exception) => !IsStopping(exception) && !IsTransient(exception);
}

/// <summary>
/// Keeps a message whose consumer met a transient failure (a busy, unreachable or full store) and
/// tries it again every <c>interval</c>, until it passes, fails for another reason, or the host
/// stops (the wait is cancelled, and the message goes back to its queue). The message is never
/// handed back to the broker meanwhile, so a quorum queue counts no delivery against its limit.
/// </summary>
internal sealed class TransientRetryFilter(TimeSpan interval) : IFilter<ConsumeContext>
{
    public async Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        while (true)
        {
            try
            {
                await next.Send(context);
                return;
            }
            catch (Exception exception) when (ConsumerFailure.IsTransient(exception) && !context.CancellationToken.IsCancellationRequested)
            {
                await Task.Delay(interval, context.CancellationToken);
            }
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("retry-while-transient");
}

/// <summary>
/// First in a RabbitMQ endpoint's error pipe: rethrowing makes the transport nack the delivery
/// with requeue (or, when the channel is already closing, leave it unacknowledged, which the
/// broker requeues too), so only a permanent failure goes on to the fault and the error queue.
/// </summary>
internal sealed class RequeueUnlessPermanentFilter : IFilter<ExceptionReceiveContext>
{
    public Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        if (!ConsumerFailure.IsPermanent(context.Exception))
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(context.Exception).Throw();
        }

        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("requeue-unless-permanent");
}
