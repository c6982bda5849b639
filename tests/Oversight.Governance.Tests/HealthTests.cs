using Grpc.Health.V1;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Oversight.Governance.V1;

namespace Oversight.Governance.Tests;

/// <summary>Governance's health reflects the broker and its outbox backlog, not only its database.</summary>
public sealed class HealthTests
{
    [Fact]
    public async Task With_the_broker_unreachable_and_events_waiting_too_long_health_is_degraded_but_serving()
    {
        await using var host = await GovernanceTestHost.StartAsync(settings =>
        {
            settings["Oversight:Bus:RabbitMq"] = "amqp://guest:guest@127.0.0.1:1/";
            settings["Oversight:Outbox:PublishTimeout"] = "00:00:01";
            settings["Oversight:Outbox:MaxBackoff"] = "00:00:01";
            settings["Oversight:Outbox:MaxUnsentAge"] = "00:01:00";
        });
        var health = host.Services.GetRequiredService<HealthCheckService>();
        await host.Organisations().RegisterOrganisationAsync(new RegisterOrganisationRequest
        {
            RequestId = "health-register", OrganisationId = "waiting-bank", Kind = OrganisationKind.Institution, Name = "Waiting Bank", Jurisdiction = "CN",
        });

        await GovernanceTestHost.EventuallyAsync(async () => (await health.CheckHealthAsync()).Status == HealthStatus.Degraded, "the absent broker degrades health");
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Entries["governance-outbox"].Status);

        host.Time.Advance(TimeSpan.FromMinutes(2));
        var report = await health.CheckHealthAsync();
        Assert.Equal(HealthStatus.Degraded, report.Entries["governance-outbox"].Status);
        Assert.Equal(HealthStatus.Healthy, report.Entries["governance"].Status);
        var serving = await new Health.HealthClient(host.Anonymous).CheckAsync(new HealthCheckRequest { Service = OrganisationService.Descriptor.FullName });
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, serving.Status);
    }

    [Fact]
    public async Task The_bus_sends_no_usage_telemetry_and_bounds_what_a_consumer_takes_at_once()
    {
        await using var host = await GovernanceTestHost.StartAsync();

        Assert.False(host.Services.GetRequiredService<IOptions<UsageTelemetryOptions>>().Value.Enabled);
        var stop = host.Services.GetRequiredService<IOptions<MassTransitHostOptions>>().Value;
        Assert.NotNull(stop.ConsumerStopTimeout);
        Assert.True(host.Services.GetRequiredService<IOptions<Microsoft.Extensions.Hosting.HostOptions>>().Value.ShutdownTimeout > stop.StopTimeout);
    }
}
