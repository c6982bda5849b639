using Grpc.AspNetCore.HealthChecks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;

namespace Oversight.BuildingBlocks.Hosting;

/// <summary>
/// What every Oversight process has, whichever modules it hosts: gRPC with the error
/// interceptor, reflection, <c>grpc.health.v1</c>, HTTP <c>/healthz</c> (readiness) and <c>/alive</c> (liveness), JWT bearer
/// authentication, OpenTelemetry, and the clock.
/// </summary>
public static class OversightHosting
{
    public static WebApplicationBuilder AddOversightDefaults(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.Configure<ServerOptions>(builder.Configuration.GetSection("Oversight:Server"));
        services.AddSingleton<InFlightLimitInterceptor>();
        services.AddGrpc(grpc =>
        {
            // Outermost first: shed load before any work, then translate errors.
            grpc.Interceptors.Add<InFlightLimitInterceptor>();
            grpc.Interceptors.Add<ErrorInterceptor>();
            grpc.MaxReceiveMessageSize = 16 * 1024 * 1024;
        });
        services.AddGrpcReflection();
        services.Configure<Messaging.OutboxOptions>(builder.Configuration.GetSection("Oversight:Outbox"));
        services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), tags: [LiveTag]);
        services.AddGrpcHealthChecks(health =>
        {
            // Answer from the checks themselves, not a periodically published copy, so SERVING
            // means "reachable now".
            health.UseHealthChecksCache = false;
        });
        services.AddOversightAuthentication(builder.Configuration, builder.Environment);
        // After every AddGrpc() (reflection and health checks call it): it replaces grpc-dotnet's method binder.
        services.AddRequestGuard(builder.Configuration);

        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss ";
        });

        var otlp = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("oversight"))
            .WithTracing(tracing => tracing.AddAspNetCoreInstrumentation().AddSource("MassTransit"))
            .WithMetrics(metrics => metrics.AddAspNetCoreInstrumentation().AddMeter("MassTransit", "Oversight.*"));
        if (!string.IsNullOrWhiteSpace(otlp))
        {
            telemetry.WithTracing(tracing => tracing.AddOtlpExporter()).WithMetrics(metrics => metrics.AddOtlpExporter());
        }

        return builder;
    }

    /// <summary>Tags the one cheap check that <c>/alive</c> answers: the process runs and serves HTTP.</summary>
    public const string LiveTag = "live";

    /// <summary>Tags the checks of what every module shares (the bus), which count for each module's services too.</summary>
    public const string SharedTag = "shared";

    /// <summary>
    /// Registers a module's readiness checks under its name and maps its gRPC services to them and
    /// to the shared ones: its database (NOT_SERVING when it cannot be opened or written) and its
    /// outbox backlog (Degraded, still SERVING, when events wait too long for the broker).
    /// </summary>
    public static IServiceCollection AddModuleHealth<TDatabase>(this IServiceCollection services, string module, IEnumerable<string> grpcServiceNames)
        where TDatabase : ModuleDatabase
    {
        services.AddHealthChecks()
            .AddCheck<ModuleDatabaseHealthCheck<TDatabase>>(module, tags: [module])
            .AddCheck<OutboxBacklogHealthCheck<TDatabase>>($"{module}-outbox", failureStatus: HealthStatus.Degraded, tags: [module]);
        services.Configure<GrpcHealthChecksOptions>(health =>
        {
            foreach (var name in grpcServiceNames)
            {
                health.Services.Map(name, result => result.Tags.Contains(module) || result.Tags.Contains(SharedTag));
            }
        });
        return services;
    }

    public static WebApplication MapOversightDefaults(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGrpcReflectionService().AllowAnonymous();
        app.MapGrpcHealthChecksService().AllowAnonymous();
        // Liveness apart from readiness (as eShop's ServiceDefaults): a restart cures neither a
        // locked database nor an absent broker, so a liveness probe asks only whether the process answers.
        app.MapHealthChecks("/healthz", new HealthCheckOptions()).AllowAnonymous();
        app.MapHealthChecks("/alive", new HealthCheckOptions { Predicate = check => check.Tags.Contains(LiveTag) }).AllowAnonymous();
        return app;
    }

    /// <summary>Restricts endpoints to one module's port when several modules share the process.</summary>
    public static TBuilder OnPort<TBuilder>(this TBuilder builder, int? port) where TBuilder : IEndpointConventionBuilder =>
        port is { } value ? builder.RequireHost($"*:{value}") : builder;
}
