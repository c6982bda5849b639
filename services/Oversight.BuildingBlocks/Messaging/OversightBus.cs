using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Oversight.BuildingBlocks.Messaging;

/// <summary>Bus settings, bound from <c>Oversight:Bus</c>.</summary>
public sealed class BusOptions
{
    /// <summary>An amqp:// URI; empty selects MassTransit's in-memory transport (one process only).</summary>
    public string RabbitMq { get; set; } = "";

    public bool UsesRabbitMq => !string.IsNullOrWhiteSpace(RabbitMq);
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
        services.AddMassTransit(bus =>
        {
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
/// the consumer, bounded retries, then the error queue.
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
        endpointConfigurator.UseMessageRetry(retry => retry.Intervals(100, 500, 1000, 2000, 5000));
    }
}
