using Oversight.BuildingBlocks.Data;

namespace Oversight.Exchange.Infrastructure;

/// <summary>The Exchange module's own database; its type keeps it apart from other modules' in one process.</summary>
public sealed class ExchangeDatabase(DatabaseOptions options) : ModuleDatabase(ExchangeModule.Name, options);
