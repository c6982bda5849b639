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
using Oversight.Consent.Application;
using Oversight.Consent.Grpc;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.IntegrationEvents;

namespace Oversight.Consent;

/// <summary>
/// The Consent module: one <see cref="AddConsentModule"/> / <see cref="MapConsentModule"/> pair
/// registers its gRPC services, database, consumers and background work in any host.
/// </summary>
public static class ConsentModule
{
    public const string Name = "consent";
    public const int DefaultPort = 5101;

    /// <summary>The module's gRPC services, as <c>grpc.health.v1</c> knows them.</summary>
    public static IReadOnlyList<string> GrpcServiceNames { get; } =
    [
        V1.ConsentService.Descriptor.FullName,
        V1.ConsentRegistryService.Descriptor.FullName,
        V1.ConsentReceiptKeyService.Descriptor.FullName,
        V1.SubjectService.Descriptor.FullName,
        Audit.V1.AuditLogService.Descriptor.FullName,
    ];

    /// <param name="dataDirectory">Where the embedded default keeps its SQLite file and receipt key.</param>
    public static WebApplicationBuilder AddConsentModule(this WebApplicationBuilder builder, string dataDirectory)
    {
        var services = builder.Services;
        var section = builder.Configuration.GetSection("Oversight:Consent");
        services.Configure<ConsentOptions>(section);
        // A batch check may name more subjects than the request guard's default allows a list.
        services.AddOptions<RequestLimits>().Configure<IOptions<ConsentOptions>>((requests, consent) =>
            requests.Fields[V1.BatchCheckConsentRequest.Descriptor.FindFieldByName("subject_ids").FullName] = consent.Value.Limits.MaxBatchSubjects);

        var databaseOptions = section.GetSection("Database").Get<DatabaseOptions>() ?? new DatabaseOptions();
        if (string.IsNullOrWhiteSpace(databaseOptions.ConnectionString))
        {
            databaseOptions.Provider = DatabaseProvider.Sqlite;
            databaseOptions.ConnectionString = $"Data Source={Path.Combine(dataDirectory, "consent.db")}";
        }

        services.AddSingleton(new ConsentDatabase(databaseOptions));
        services.AddSingleton<ConsentRepository>();
        services.AddSingleton<ConsentRegistry>();
        services.AddSingleton<ConsentAudit>();
        services.AddSingleton<ConsentRegister>();
        services.AddSingleton<CheckReaders>();
        services.AddSingleton<ConsentChecker>();
        var options = section.Get<ConsentOptions>() ?? new ConsentOptions();
        var receiptKeyPath = string.IsNullOrWhiteSpace(options.ReceiptSigningKeyPath)
            ? Path.Combine(dataDirectory, "consent-receipt-signing-key.pem")
            : options.ReceiptSigningKeyPath;
        // A key created on first start is a development key: nobody outside knows it is the service's.
        var createReceiptKey = options.CreateReceiptSigningKey && DevelopmentKeys.Allowed(builder.Configuration, builder.Environment);
        if (!createReceiptKey && !File.Exists(receiptKeyPath))
        {
            throw new MissingKeyException(
                $"There is no receipt signing key at '{receiptKeyPath}'. Set Oversight:Consent:ReceiptSigningKeyPath to an ECDSA P-256 private key "
                + "(PKCS#8 PEM, e.g. from 'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256'). Oversight:Consent:CreateReceiptSigningKey "
                + "creates one only in the Development environment and the embedded default.");
        }

        services.AddSingleton(_ => ReceiptSigner.FromFile(receiptKeyPath, createReceiptKey, options.PreviousReceiptPublicKeyPaths));
        services.AddSingleton<IAccessDenialAudit>(provider => new AccessDenialAudit<ConsentDatabase>(
            provider.GetRequiredService<ModuleAuditLog<ConsentDatabase>>(), "/oversight.consent.v1.", section.GetValue("Port", DefaultPort)));

        // Hosted services start in this order: schema first, then seeds, then the workers.
        services.AddHostedService<ModuleDatabaseInitializer<ConsentDatabase>>();
        builder.AddAuditLog<ConsentDatabase>(section.GetSection("AuditLog"), "oversight/consent", dataDirectory);
        services.AddHostedService<OrganisationSeeder>();
        services.AddHostedService<OutboxRelay<ConsentDatabase>>();
        services.AddSingleton<ConsentExpirySweeper>();
        services.AddHostedService(provider => provider.GetRequiredService<ConsentExpirySweeper>());

        services.AddModuleHealth<ConsentDatabase>(Name, GrpcServiceNames);
        services.AddBusContribution(Name, bus =>
        {
            bus.AddConsumer<OrganisationRegisteredConsumer, OrganisationRegisteredConsumerDefinition>();
            bus.AddConsumer<OrganisationUpdatedConsumer, OrganisationUpdatedConsumerDefinition>();
            bus.AddConsumer<StatutoryMandateEnactedConsumer, StatutoryMandateEnactedConsumerDefinition>();
            bus.AddConsumer<StatutoryMandateRepealedConsumer, StatutoryMandateRepealedConsumerDefinition>();
            bus.AddConsumer<DataDisclosedConsumer, DataDisclosedConsumerDefinition>();
            bus.AddConsumer<SubjectErasureCompletedConsumer, SubjectErasureCompletedConsumerDefinition>();
            bus.AddConsumer<AuditCheckpointSignedConsumer, AuditCheckpointSignedConsumerDefinition>();
        });
        return builder;
    }

    /// <param name="port">When several modules share the process, the port this module answers on.</param>
    public static WebApplication MapConsentModule(this WebApplication app, int? port = null)
    {
        app.MapGrpcService<ConsentGrpcService>().OnPort(port);
        app.MapGrpcService<RegistryGrpcService>().OnPort(port);
        app.MapGrpcService<ReceiptKeyGrpcService>().OnPort(port);
        app.MapGrpcService<SubjectGrpcService>().OnPort(port);
        app.MapAuditLog<ConsentDatabase>(port);
        return app;
    }
}
