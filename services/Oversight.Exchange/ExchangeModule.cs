using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Exchange.Application;
using Oversight.Exchange.Grpc;
using Oversight.Exchange.Infrastructure;
using Oversight.Exchange.Infrastructure.Vault;
using Oversight.Exchange.IntegrationEvents;

namespace Oversight.Exchange;

/// <summary>
/// The Exchange module: one <see cref="AddExchangeModule"/> / <see cref="MapExchangeModule"/> pair
/// registers its gRPC services, database, consumers and background work in any host.
/// </summary>
public static class ExchangeModule
{
    public const string Name = "exchange";
    public const int DefaultPort = 5103;

    /// <summary>The module's gRPC services, as <c>grpc.health.v1</c> knows them.</summary>
    public static IReadOnlyList<string> GrpcServiceNames { get; } =
    [
        V1.CatalogService.Descriptor.FullName,
        V1.VaultService.Descriptor.FullName,
        V1.DataRequestService.Descriptor.FullName,
        V1.DeliveryService.Descriptor.FullName,
        Audit.V1.AuditLogService.Descriptor.FullName,
    ];

    /// <param name="dataDirectory">Where the embedded default keeps its SQLite file and keys.</param>
    public static WebApplicationBuilder AddExchangeModule(this WebApplicationBuilder builder, string dataDirectory)
    {
        var services = builder.Services;
        var section = builder.Configuration.GetSection("Oversight:Exchange");
        services.Configure<ExchangeOptions>(section);
        if (string.IsNullOrWhiteSpace(section["Consent:Address"]))
        {
            // Unset: Consent is where this host would run it (the embedded default runs both in one process).
            var listen = builder.Configuration["Oversight:ListenAddress"] is { Length: > 0 } address and not ("0.0.0.0" or "::") ? address : "127.0.0.1";
            var consentPort = builder.Configuration.GetValue("Oversight:Consent:Port", 5101);
            services.Configure<ExchangeOptions>(options => options.Consent.Address = $"http://{listen}:{consentPort}");
        }

        var databaseOptions = section.GetSection("Database").Get<DatabaseOptions>() ?? new DatabaseOptions();
        if (string.IsNullOrWhiteSpace(databaseOptions.ConnectionString))
        {
            databaseOptions.Provider = DatabaseProvider.Sqlite;
            databaseOptions.ConnectionString = $"Data Source={Path.Combine(dataDirectory, "exchange.db")}";
        }

        services.AddSingleton(new ExchangeDatabase(databaseOptions));
        // A host that carries Consent's calls itself (the tests' in-memory server) registers its own ConsentConnection after this one.
        services.AddSingleton(provider => new ConsentConnection(provider.GetRequiredService<IOptions<ExchangeOptions>>(), provider.GetRequiredService<AuthOptions>()));
        services.AddSingleton<ConsentVocabulary>();
        services.AddSingleton<DatasetRepository>();
        services.AddSingleton<GovernanceReadModels>();
        services.AddSingleton<ExchangeAudit>();
        services.AddSingleton<Catalog>();
        var vaultOptions = section.GetSection("Vault").Get<VaultOptions>() ?? new VaultOptions();
        services.AddSingleton(MasterKeyRing.Load(vaultOptions, dataDirectory, DevelopmentKeys.Allowed(builder.Configuration, builder.Environment)));
        services.AddSingleton<DatasetKeys>();
        services.AddSingleton<VaultRepository>();
        services.AddSingleton<VaultUploads>();
        services.AddSingleton<DataRequestRepository>();
        services.AddSingleton<DataRequests>();
        services.AddSingleton<ConsentChecks>();
        services.AddSingleton<DeliveryRepository>();
        services.AddSingleton<Deliveries>();
        services.AddSingleton<DeliveryAccounts>();
        services.AddSingleton<SubjectErasure>();
        services.AddSingleton(new Pseudonyms(PseudonymKey(section, builder)));
        // A request may name many subjects.
        services.AddOptions<RequestLimits>().Configure(limits =>
            limits.Fields[V1.CreateDataRequestRequest.Descriptor.FindFieldByName("subject_ids").FullName] = Model.DataRequestRules.MaxSubjects);
        services.AddSingleton<IAccessDenialAudit>(provider => new AccessDenialAudit<ExchangeDatabase>(
            provider.GetRequiredService<ModuleAuditLog<ExchangeDatabase>>(), "/oversight.exchange.v1.", section.GetValue("Port", DefaultPort)));

        // Hosted services start in this order: schema first, then the workers.
        services.AddHostedService<ModuleDatabaseInitializer<ExchangeDatabase>>();
        builder.AddAuditLog<ExchangeDatabase>(section.GetSection("AuditLog"), "oversight/exchange", dataDirectory);
        services.AddHostedService<OutboxRelay<ExchangeDatabase>>();
        services.AddHostedService<DataKeyRotation>();

        services.AddModuleHealth<ExchangeDatabase>(Name, GrpcServiceNames);
        services.AddBusContribution(Name, bus =>
        {
            bus.AddConsumer<AllianceActivatedConsumer, AllianceActivatedConsumerDefinition>();
            bus.AddConsumer<AllianceResumedConsumer, AllianceResumedConsumerDefinition>();
            bus.AddConsumer<AllianceSuspendedConsumer, AllianceSuspendedConsumerDefinition>();
            bus.AddConsumer<AllianceTerminatedConsumer, AllianceTerminatedConsumerDefinition>();
            bus.AddConsumer<AllianceExpiredConsumer, AllianceExpiredConsumerDefinition>();
            bus.AddConsumer<ExchangeFrozenConsumer, ExchangeFrozenConsumerDefinition>();
            bus.AddConsumer<ExchangeUnfrozenConsumer, ExchangeUnfrozenConsumerDefinition>();
            bus.AddConsumer<SubjectErasureRequestedConsumer, SubjectErasureRequestedConsumerDefinition>();
            bus.AddConsumer<AuditCheckpointSignedConsumer, AuditCheckpointSignedConsumerDefinition>();
        });
        return builder;
    }

    /// <param name="port">When several modules share the process, the port this module answers on.</param>
    public static WebApplication MapExchangeModule(this WebApplication app, int? port = null)
    {
        app.MapGrpcService<CatalogGrpcService>().OnPort(port);
        app.MapGrpcService<VaultGrpcService>().OnPort(port);
        app.MapGrpcService<DataRequestGrpcService>().OnPort(port);
        app.MapGrpcService<DeliveryGrpcService>().OnPort(port);
        app.MapAuditLog<ExchangeDatabase>(port);
        return app;
    }

    /// <summary>The key of recipients' pseudonyms: configuration, or the public development key where that is allowed.</summary>
    private static byte[] PseudonymKey(IConfigurationSection section, WebApplicationBuilder builder)
    {
        var configured = section["PseudonymKey"];
        if (string.IsNullOrWhiteSpace(configured) || configured == Pseudonyms.DevelopmentKey)
        {
            if (!DevelopmentKeys.Allowed(builder.Configuration, builder.Environment))
            {
                throw new MissingKeyException(
                    "Oversight:Exchange:PseudonymKey is not set (or is the public development key). Set it (environment variable "
                    + "Oversight__Exchange__PseudonymKey) to the base64 of 32 random bytes, e.g. from 'openssl rand -base64 32'; keep it for good, "
                    + "since a recipient's pseudonyms change with it.");
            }

            return Convert.FromBase64String(Pseudonyms.DevelopmentKey);
        }

        try
        {
            return Convert.FromBase64String(configured);
        }
        catch (FormatException)
        {
            throw new MissingKeyException("Oversight:Exchange:PseudonymKey must be base64 (of at least 32 random bytes).");
        }
    }
}
