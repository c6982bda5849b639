using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.Model;
using Oversight.Contracts.Governance;

namespace Oversight.Consent.IntegrationEvents;

/// <summary>Keeps the known-organisations read model: a consent's recipient must be one of them.</summary>
public sealed class OrganisationRegisteredConsumer(ConsentDatabase database, ConsentRepository repository, TimeProvider time)
    : InboxConsumer<ConsentDatabase, OrganisationRegistered>(database, time)
{
    protected override Task HandleAsync(DbSession session, OrganisationRegistered message) =>
        repository.UpsertOrganisationAsync(session,
            new KnownOrganisation(message.OrganisationId, message.Kind, message.Name, message.Jurisdiction, message.Version), Time.GetUtcNow());
}

public sealed class OrganisationRegisteredConsumerDefinition()
    : ModuleConsumerDefinition<OrganisationRegisteredConsumer>(ConsentModule.Name, "organisation-registered");

/// <summary>Applies an organisation's change unless a newer version is already known.</summary>
public sealed class OrganisationUpdatedConsumer(ConsentDatabase database, ConsentRepository repository, TimeProvider time)
    : InboxConsumer<ConsentDatabase, OrganisationUpdated>(database, time)
{
    protected override Task HandleAsync(DbSession session, OrganisationUpdated message) =>
        repository.UpsertOrganisationAsync(session,
            new KnownOrganisation(message.OrganisationId, message.Kind, message.Name, message.Jurisdiction, message.Version), Time.GetUtcNow());
}

public sealed class OrganisationUpdatedConsumerDefinition()
    : ModuleConsumerDefinition<OrganisationUpdatedConsumer>(ConsentModule.Name, "organisation-updated");
