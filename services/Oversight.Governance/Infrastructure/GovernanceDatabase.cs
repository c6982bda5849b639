using Oversight.BuildingBlocks.Data;

namespace Oversight.Governance.Infrastructure;

/// <summary>The Governance module's own database; its type keeps it apart from other modules' in one process.</summary>
public sealed class GovernanceDatabase(DatabaseOptions options) : ModuleDatabase(GovernanceModule.Name, options);
