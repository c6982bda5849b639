using Microsoft.Extensions.Logging;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Contracts.Audit;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// Keeps the checkpoints the other services publish, with its inbox row in one transaction. A module
/// derives a concrete consumer from it (MassTransit names endpoints by the concrete type). A
/// checkpoint that conflicts with one held, or fails its publisher's configured key, is not a
/// message to retry: it is logged as the evidence it is, and acknowledged.
/// </summary>
public abstract class WitnessConsumer<TDatabase>(ModuleAuditLog<TDatabase> audit, TimeProvider time, ILogger logger)
    : InboxConsumer<TDatabase, AuditCheckpointSigned>(audit.Database, time)
    where TDatabase : ModuleDatabase
{
    protected override async Task HandleAsync(DbSession session, AuditCheckpointSigned message)
    {
        var outcome = await audit.Witness.ReceiveAsync(session, message.Note);
        if (outcome is WitnessOutcome.Conflicting or WitnessOutcome.BadSignature or WitnessOutcome.Malformed)
        {
            logger.LogWarning("The {Module} witness did not keep a checkpoint of {Origin} at size {TreeSize}: {Outcome}",
                audit.Database.Module, message.Origin, message.TreeSize, outcome);
        }
    }
}
