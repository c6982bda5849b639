namespace Oversight.BuildingBlocks.Data;

/// <summary>
/// Marks a static class that holds a module's SQL. Every public static string property and every
/// public static method returning a string (taking a <see cref="SqlDialect"/> and/or flags) is a
/// statement; the tests render each one for SQL Server and parse it with Microsoft's T-SQL parser,
/// since SQL Server itself does not run on the development machines.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class SqlStatementsAttribute : Attribute;
