using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Contracts.Governance;
using Oversight.Exchange.Infrastructure;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.IntegrationEvents;

/// <summary>An alliance became ACTIVE: requests may be decided against its scope.</summary>
public sealed class AllianceActivatedConsumer(ExchangeDatabase database, GovernanceReadModels readModels, TimeProvider time)
    : InboxConsumer<ExchangeDatabase, AllianceActivated>(database, time)
{
    protected override Task HandleAsync(DbSession session, AllianceActivated message) =>
        readModels.UpsertAllianceAsync(session, GovernanceTerms.Active(message.AllianceId, message.InstitutionId, message.Scope, message.Version));
}

public sealed class AllianceActivatedConsumerDefinition() : ModuleConsumerDefinition<AllianceActivatedConsumer>(ExchangeModule.Name, "alliance-activated");

/// <summary>A suspended alliance is ACTIVE again, with its scope.</summary>
public sealed class AllianceResumedConsumer(ExchangeDatabase database, GovernanceReadModels readModels, TimeProvider time)
    : InboxConsumer<ExchangeDatabase, AllianceResumed>(database, time)
{
    protected override Task HandleAsync(DbSession session, AllianceResumed message) =>
        readModels.UpsertAllianceAsync(session, GovernanceTerms.Active(message.AllianceId, message.InstitutionId, message.Scope, message.Version));
}

public sealed class AllianceResumedConsumerDefinition() : ModuleConsumerDefinition<AllianceResumedConsumer>(ExchangeModule.Name, "alliance-resumed");

/// <summary>An alliance was suspended: its requests stop, a stream in progress at its next page.</summary>
public sealed class AllianceSuspendedConsumer(ExchangeDatabase database, GovernanceReadModels readModels, TimeProvider time)
    : InboxConsumer<ExchangeDatabase, AllianceSuspended>(database, time)
{
    protected override Task HandleAsync(DbSession session, AllianceSuspended message) =>
        readModels.SetAllianceStandingAsync(session, message.AllianceId, message.InstitutionId, AllianceStanding.Suspended, message.Version);
}

public sealed class AllianceSuspendedConsumerDefinition() : ModuleConsumerDefinition<AllianceSuspendedConsumer>(ExchangeModule.Name, "alliance-suspended");

/// <summary>An alliance was terminated: final.</summary>
public sealed class AllianceTerminatedConsumer(ExchangeDatabase database, GovernanceReadModels readModels, TimeProvider time)
    : InboxConsumer<ExchangeDatabase, AllianceTerminated>(database, time)
{
    protected override Task HandleAsync(DbSession session, AllianceTerminated message) =>
        readModels.SetAllianceStandingAsync(session, message.AllianceId, message.InstitutionId, AllianceStanding.Ended, message.Version);
}

public sealed class AllianceTerminatedConsumerDefinition() : ModuleConsumerDefinition<AllianceTerminatedConsumer>(ExchangeModule.Name, "alliance-terminated");

/// <summary>An alliance's validity ended: final.</summary>
public sealed class AllianceExpiredConsumer(ExchangeDatabase database, GovernanceReadModels readModels, TimeProvider time)
    : InboxConsumer<ExchangeDatabase, AllianceExpired>(database, time)
{
    protected override Task HandleAsync(DbSession session, AllianceExpired message) =>
        readModels.SetAllianceStandingAsync(session, message.AllianceId, message.InstitutionId, AllianceStanding.Ended, message.Version);
}

public sealed class AllianceExpiredConsumerDefinition() : ModuleConsumerDefinition<AllianceExpiredConsumer>(ExchangeModule.Name, "alliance-expired");

/// <summary>The regulator froze the exchange: every delivery stops until it is unfrozen.</summary>
public sealed class ExchangeFrozenConsumer(ExchangeDatabase database, GovernanceReadModels readModels, TimeProvider time)
    : InboxConsumer<ExchangeDatabase, ExchangeFrozen>(database, time)
{
    protected override Task HandleAsync(DbSession session, ExchangeFrozen message) =>
        readModels.SetExchangeStandingAsync(session, frozen: true, message.Reason, message.Version);
}

public sealed class ExchangeFrozenConsumerDefinition() : ModuleConsumerDefinition<ExchangeFrozenConsumer>(ExchangeModule.Name, "exchange-frozen");

/// <summary>The regulator lifted its freeze.</summary>
public sealed class ExchangeUnfrozenConsumer(ExchangeDatabase database, GovernanceReadModels readModels, TimeProvider time)
    : InboxConsumer<ExchangeDatabase, ExchangeUnfrozen>(database, time)
{
    protected override Task HandleAsync(DbSession session, ExchangeUnfrozen message) =>
        readModels.SetExchangeStandingAsync(session, frozen: false, "", message.Version);
}

public sealed class ExchangeUnfrozenConsumerDefinition() : ModuleConsumerDefinition<ExchangeUnfrozenConsumer>(ExchangeModule.Name, "exchange-unfrozen");

/// <summary>Governance's alliance scope as the model's terms.</summary>
internal static class GovernanceTerms
{
    public static AllianceTerms Active(string allianceId, string institutionId, AllianceScopeTerms scope, long version) => new(
        allianceId, institutionId, AllianceStanding.Active, scope.Purposes, scope.DataCategories, scope.Fields, scope.IdentifiedData,
        TimeSpan.FromSeconds(scope.MaxRetentionSeconds), scope.ValidFrom, scope.ValidUntil, version);
}
