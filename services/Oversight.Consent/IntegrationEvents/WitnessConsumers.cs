using Microsoft.Extensions.Logging;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Consent.Infrastructure;

namespace Oversight.Consent.IntegrationEvents;

/// <summary>Keeps the checkpoints the other services publish of their audit logs (Consent as a witness).</summary>
public sealed class AuditCheckpointSignedConsumer(ModuleAuditLog<ConsentDatabase> audit, TimeProvider time, ILogger<AuditCheckpointSignedConsumer> logger)
    : WitnessConsumer<ConsentDatabase>(audit, time, logger);

public sealed class AuditCheckpointSignedConsumerDefinition()
    : ModuleConsumerDefinition<AuditCheckpointSignedConsumer>(ConsentModule.Name, "audit-checkpoint-signed");
