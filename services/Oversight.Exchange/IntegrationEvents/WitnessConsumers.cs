using Microsoft.Extensions.Logging;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Exchange.Infrastructure;

namespace Oversight.Exchange.IntegrationEvents;

/// <summary>Keeps the checkpoints the other services publish of their audit logs (Exchange as a witness).</summary>
public sealed class AuditCheckpointSignedConsumer(ModuleAuditLog<ExchangeDatabase> audit, TimeProvider time, ILogger<AuditCheckpointSignedConsumer> logger)
    : WitnessConsumer<ExchangeDatabase>(audit, time, logger);

public sealed class AuditCheckpointSignedConsumerDefinition()
    : ModuleConsumerDefinition<AuditCheckpointSignedConsumer>(ExchangeModule.Name, "audit-checkpoint-signed");
