using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.Model;
using Oversight.Contracts.Governance;

namespace Oversight.Consent.IntegrationEvents;

/// <summary>Records a statutory mandate; checks honour it from then on.</summary>
public sealed class StatutoryMandateEnactedConsumer(ConsentDatabase database, ConsentRepository repository, TimeProvider time)
    : InboxConsumer<ConsentDatabase, StatutoryMandateEnacted>(database, time)
{
    protected override Task HandleAsync(DbSession session, StatutoryMandateEnacted message) =>
        repository.UpsertMandateAsync(session,
            new StatutoryMandate(message.MandateId, message.LegalReference, message.RecipientId, message.Purposes, message.DataCategories,
                message.ValidFrom, message.ValidUntil, null),
            message.Version, Time.GetUtcNow());
}

public sealed class StatutoryMandateEnactedConsumerDefinition()
    : ModuleConsumerDefinition<StatutoryMandateEnactedConsumer>(ConsentModule.Name, "statutory-mandate-enacted");

/// <summary>Ends a statutory mandate; checks stop allowing under it at once.</summary>
public sealed class StatutoryMandateRepealedConsumer(ConsentDatabase database, ConsentRepository repository, TimeProvider time)
    : InboxConsumer<ConsentDatabase, StatutoryMandateRepealed>(database, time)
{
    protected override Task HandleAsync(DbSession session, StatutoryMandateRepealed message) =>
        repository.RepealMandateAsync(session, message.MandateId, message.Version, message.RepealedAt, Time.GetUtcNow());
}

public sealed class StatutoryMandateRepealedConsumerDefinition()
    : ModuleConsumerDefinition<StatutoryMandateRepealedConsumer>(ConsentModule.Name, "statutory-mandate-repealed");
