using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Contracts.Consent;
using Oversight.Exchange.Application;
using Oversight.Exchange.Infrastructure;

namespace Oversight.Exchange.IntegrationEvents;

/// <summary>A subject asked its platform to erase its data: purge it from the vault and confirm.</summary>
public sealed class SubjectErasureRequestedConsumer(ExchangeDatabase database, SubjectErasure erasure, TimeProvider time)
    : InboxConsumer<ExchangeDatabase, SubjectErasureRequested>(database, time)
{
    protected override Task HandleAsync(DbSession session, SubjectErasureRequested message) =>
        erasure.EraseAsync(session, message.ErasureRequestId, message.SubjectId, message.ControllerId);
}

public sealed class SubjectErasureRequestedConsumerDefinition()
    : ModuleConsumerDefinition<SubjectErasureRequestedConsumer>(ExchangeModule.Name, "subject-erasure-requested");
