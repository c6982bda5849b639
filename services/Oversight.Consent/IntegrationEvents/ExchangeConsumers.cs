using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.Model;
using Oversight.Contracts.Exchange;

namespace Oversight.Consent.IntegrationEvents;

/// <summary>Writes each subject's line of a delivery into their disclosure log (and the frequency counts).</summary>
public sealed class DataDisclosedConsumer(ConsentDatabase database, ConsentRepository repository, TimeProvider time)
    : InboxConsumer<ConsentDatabase, DataDisclosed>(database, time)
{
    protected override Task HandleAsync(DbSession session, DataDisclosed message) =>
        repository.InsertDisclosuresAsync(session, message.Subjects.Select(subject => new Disclosure(
            message.DeliveryId, subject.SubjectId, message.ControllerId, message.RecipientId, message.Purpose, message.DataCategories,
            subject.ConsentId, subject.MandateId, message.DisclosedAt, message.AuditSequence)).ToList());
}

public sealed class DataDisclosedConsumerDefinition()
    : ModuleConsumerDefinition<DataDisclosedConsumer>(ConsentModule.Name, "data-disclosed");

/// <summary>Confirms an erasure request once a data holder reports the erasure done.</summary>
public sealed class SubjectErasureCompletedConsumer(ConsentDatabase database, ConsentRepository repository, TimeProvider time)
    : InboxConsumer<ConsentDatabase, SubjectErasureCompleted>(database, time)
{
    protected override Task HandleAsync(DbSession session, SubjectErasureCompleted message) =>
        repository.CompleteErasureAsync(session, message.ErasureRequestId, message.ErasedRecordCount, message.CompletedAt);
}

public sealed class SubjectErasureCompletedConsumerDefinition()
    : ModuleConsumerDefinition<SubjectErasureCompletedConsumer>(ConsentModule.Name, "subject-erasure-completed");
