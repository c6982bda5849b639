using Microsoft.Extensions.Logging;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Governance.Infrastructure;

namespace Oversight.Governance.IntegrationEvents;

/// <summary>Keeps the checkpoints the other services publish of their audit logs (Governance as a witness).</summary>
public sealed class AuditCheckpointSignedConsumer(ModuleAuditLog<GovernanceDatabase> audit, TimeProvider time, ILogger<AuditCheckpointSignedConsumer> logger)
    : WitnessConsumer<GovernanceDatabase>(audit, time, logger);

public sealed class AuditCheckpointSignedConsumerDefinition()
    : ModuleConsumerDefinition<AuditCheckpointSignedConsumer>(GovernanceModule.Name, "audit-checkpoint-signed");
