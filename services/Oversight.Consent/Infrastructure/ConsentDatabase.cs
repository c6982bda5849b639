using Oversight.BuildingBlocks.Data;

namespace Oversight.Consent.Infrastructure;

/// <summary>The Consent module's own database; its type keeps it apart from other modules' in one process.</summary>
public sealed class ConsentDatabase(DatabaseOptions options) : ModuleDatabase(ConsentModule.Name, options);
