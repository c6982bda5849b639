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

    /// <summary>Tries of one delivery, in memory, before a transient failure returns it to the queue (or a permanent one faults it).</summary>
    public int RetryLimit { get; set; } = 5;

    public TimeSpan RetryMinInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan RetryMaxInterval { get; set; } = TimeSpan.FromSeconds(5);

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
/// <item>Every failure is first retried in memory a few times with exponential back-off.</item>
/// <item>A failure that may pass by itself (<see cref="TransientFailure"/>: a busy, unreachable or
/// full store) or one caused by the host stopping never reaches the error queue: the message goes
/// back to its queue and is delivered again until it succeeds. RabbitMQ here has no
/// delayed-message plugin, so MassTransit's delayed redelivery cannot run on it; the message is
/// nacked with requeue instead (the in-memory back-off of each delivery paces the redeliveries).
/// The in-memory transport drops a nacked message, so there a transient failure is redelivered
/// with MassTransit's delayed redelivery, which that transport supports natively.</item>
/// <item>Anything else (an unreadable message, a contract violation) goes to the error queue once
/// the in-memory tries are spent.</item>
/// </list>
/// </summary>
public abstract class ModuleConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    protected ModuleConsumerDefinition(string module, string name)
    {
        EndpointName = $"{module}-{name}";
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<TConsumer> consumerConfigurator, IRegistrationContext context)
    {
        var options = context.GetRequiredService<BusOptions>();
        endpointConfigurator.PrefetchCount = options.PrefetchCount;
        endpointConfigurator.ConcurrentMessageLimit = options.ConcurrentMessageLimit;
        var delta = options.RetryMinInterval;
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator)
        {
            endpointConfigurator.ConfigureError(error =>
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
                redelivery.Handle<Exception>(ConsumerFailure.IsTransient);
                redelivery.Exponential(int.MaxValue, options.RetryMinInterval, options.RetryMaxInterval, delta);
            });
        }

        endpointConfigurator.UseMessageRetry(retry =>
        {
            // A stopping host is not retried: the message goes straight back to the queue.
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
