using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Governance.Application;
using Oversight.Governance.Grpc;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.IntegrationEvents;

namespace Oversight.Governance;

/// <summary>
/// The Governance module: one <see cref="AddGovernanceModule"/> / <see cref="MapGovernanceModule"/>
/// pair registers its gRPC services, database and background work in any host.
/// </summary>
public static class GovernanceModule
{
    public const string Name = "governance";
    public const int DefaultPort = 5102;

    /// <summary>The module's gRPC services, as <c>grpc.health.v1</c> knows them.</summary>
    public static IReadOnlyList<string> GrpcServiceNames { get; } =
    [
        V1.OrganisationService.Descriptor.FullName,
        V1.RegulatorOrderService.Descriptor.FullName,
        V1.ShareLedgerService.Descriptor.FullName,
        V1.ProposalService.Descriptor.FullName,
        V1.ExecutiveService.Descriptor.FullName,
        V1.AllianceService.Descriptor.FullName,
        Audit.V1.AuditLogService.Descriptor.FullName,
    ];

    /// <param name="dataDirectory">Where the embedded default keeps its SQLite file.</param>
    public static WebApplicationBuilder AddGovernanceModule(this WebApplicationBuilder builder, string dataDirectory)
    {
        var services = builder.Services;
        services.Configure<GovernanceOptions>(builder.Configuration.GetSection("Oversight:Governance"));
        var databaseOptions = builder.Configuration.GetSection("Oversight:Governance:Database").Get<DatabaseOptions>() ?? new DatabaseOptions();
        if (string.IsNullOrWhiteSpace(databaseOptions.ConnectionString))
        {
            databaseOptions.Provider = DatabaseProvider.Sqlite;
            databaseOptions.ConnectionString = $"Data Source={Path.Combine(dataDirectory, "governance.db")}";
        }

        services.AddSingleton(new GovernanceDatabase(databaseOptions));
        services.AddSingleton<OrganisationRepository>();
        services.AddSingleton<OrganisationRegistry>();
        services.AddSingleton<OrderRepository>();
        services.AddSingleton<RegulatorOrders>();
        services.AddSingleton<ShareRepository>();
        services.AddSingleton<VentureFounding>();
        services.AddSingleton<ShareTransfers>();
        services.AddSingleton<CapitalChanges>();
        services.AddSingleton<ProposalRepository>();
        services.AddSingleton<Proposals>();
        services.AddSingleton<ExecutiveRepository>();
        services.AddSingleton<Executives>();
        services.AddSingleton<AllianceRepository>();
        services.AddSingleton<Alliances>();
        services.AddSingleton<GovernanceAudit>();
        services.AddSingleton<IAccessDenialAudit>(provider => new AccessDenialAudit<GovernanceDatabase>(
            provider.GetRequiredService<ModuleAuditLog<GovernanceDatabase>>(), "/oversight.governance.v1.",
            builder.Configuration.GetValue("Oversight:Governance:Port", DefaultPort)));

        services.AddHostedService<ModuleDatabaseInitializer<GovernanceDatabase>>();
        builder.AddAuditLog<GovernanceDatabase>(builder.Configuration.GetSection("Oversight:Governance:AuditLog"), "oversight/governance", dataDirectory);
        // The action audit kept before the log, carried onto it at the first start.
        services.AddSingleton(new LegacyAuditTable<GovernanceDatabase>("governance_audit", GovernanceSql.LegacyAudit, GovernanceSql.DeleteLegacyAudit));
        services.AddHostedService<OutboxRelay<GovernanceDatabase>>();
        // One instance, so a caller (a test, an operator tool) runs the same rounds and back-off book as the loop.
        services.AddSingleton<ProposalTallier>();
        services.AddHostedService(provider => provider.GetRequiredService<ProposalTallier>());
        services.AddModuleHealth<GovernanceDatabase>(Name, GrpcServiceNames);
        services.AddBusContribution(Name, bus => bus.AddConsumer<AuditCheckpointSignedConsumer, AuditCheckpointSignedConsumerDefinition>());
        return builder;
    }

    /// <param name="port">When several modules share the process, the port this module answers on.</param>
    public static WebApplication MapGovernanceModule(this WebApplication app, int? port = null)
    {
        app.MapGrpcService<OrganisationGrpcService>().OnPort(port);
        app.MapGrpcService<RegulatorOrderGrpcService>().OnPort(port);
        app.MapGrpcService<ShareLedgerGrpcService>().OnPort(port);
        app.MapGrpcService<ProposalGrpcService>().OnPort(port);
        app.MapGrpcService<ExecutiveGrpcService>().OnPort(port);
        app.MapGrpcService<AllianceGrpcService>().OnPort(port);
        app.MapAuditLog<GovernanceDatabase>(port);
        return app;
    }
}
