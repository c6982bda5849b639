using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.SqlServer.TransactSql.ScriptDom;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Consent.Infrastructure;
using Oversight.Exchange.Infrastructure;
using Oversight.Governance.Infrastructure;

namespace Oversight.Suite.Tests;

/// <summary>
/// SQL Server does not run on the development machines, so every T-SQL script and statement the
/// suite would send it is parsed here by Microsoft's own T-SQL parser (SQL Server 2022 grammar).
/// </summary>
public sealed partial class TransactSqlTests
{
    private const string SqlServerConnection = "Server=localhost;Database=oversight_parse_only;Integrated Security=true;TrustServerCertificate=true";

    /// <summary>Every module's database type, built for SQL Server (nothing connects).</summary>
    public static TheoryData<string> Modules() => new(ModuleDatabases().Keys);

    private static Dictionary<string, ModuleDatabase> ModuleDatabases() => new()
    {
        ["consent"] = new ConsentDatabase(new DatabaseOptions { Provider = DatabaseProvider.SqlServer, ConnectionString = SqlServerConnection }),
        ["governance"] = new GovernanceDatabase(new DatabaseOptions { Provider = DatabaseProvider.SqlServer, ConnectionString = SqlServerConnection }),
        ["exchange"] = new ExchangeDatabase(new DatabaseOptions { Provider = DatabaseProvider.SqlServer, ConnectionString = SqlServerConnection }),
    };

    /// <summary>Every [SqlStatements] class of every module assembly and the building blocks.</summary>
    private static IEnumerable<Type> StatementClasses() =>
        new[] { typeof(MessagingSql).Assembly }
            .Concat(ModuleDatabases().Values.Select(d => d.GetType().Assembly))
            .Distinct()
            .SelectMany(a => a.GetTypes())
            .Where(t => t.GetCustomAttribute<SqlStatementsAttribute>() is not null);

    [Theory]
    [MemberData(nameof(Modules))]
    public void Every_sql_server_migration_script_parses(string module)
    {
        var scripts = DatabaseMigrator.Scripts(ModuleDatabases()[module]);
        Assert.Contains(scripts, s => s.Name.Contains(".BuildingBlocks.", StringComparison.Ordinal));
        Assert.Contains(scripts, s => !s.Name.Contains(".BuildingBlocks.", StringComparison.Ordinal));
        Assert.All(scripts, s => Assert.Contains(".SqlServer.", s.Name, StringComparison.Ordinal));
        foreach (var script in scripts)
        {
            AssertParses(script.Name, script.Contents);
        }
    }

    [Fact]
    public void Every_statement_parses_as_sql_server_would_receive_it()
    {
        var statements = RenderAll(SqlServerDialect.Instance).ToList();
        Assert.True(statements.Count >= 50, $"only {statements.Count} statements were found; is the discovery broken?");
        foreach (var (name, sql) in statements)
        {
            AssertParses(name, ExpandListParameters(sql));
        }
    }

    /// <summary>The Compose deployment's init script, with its sqlcmd variables as sqlcmd would fill them in.</summary>
    [Fact]
    public void The_compose_init_script_parses_and_makes_a_login_for_each_service()
    {
        var path = Path.Combine(HostProcessTests.RepositoryRoot, "deploy", "sqlserver", "init.sql");
        var script = SqlcmdVariable().Replace(File.ReadAllText(path), "x-Variable-1");
        AssertParses(path, script);
        foreach (var module in ModuleDatabases().Keys)
        {
            Assert.Contains($"CREATE LOGIN oversight_{module}", script, StringComparison.Ordinal);
            Assert.Contains($"USE oversight_{module};", script, StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"\$\([A-Z0-9_]+\)")]
    private static partial Regex SqlcmdVariable();

    [Fact]
    public void The_parser_rejects_sqlite_only_syntax()
    {
        // The check above is worth something only if the parser refuses what SQL Server would.
        var sqliteOnly = RenderAll(SqliteDialect.Instance)
            .Where(s => s.Sql.Contains("LIMIT", StringComparison.Ordinal) || s.Sql.Contains("RETURNING", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(sqliteOnly);
        Assert.All(sqliteOnly, s => Assert.NotEmpty(Parse(ExpandListParameters(s.Sql))));
    }

    [Fact]
    public void Sqlite_and_sql_server_scripts_come_in_pairs()
    {
        foreach (var database in ModuleDatabases().Values)
        {
            var sqlServer = DatabaseMigrator.Scripts(database).Select(s => s.Name.Replace(".SqlServer.", ".", StringComparison.Ordinal)).ToList();
            var sqlite = DatabaseMigrator.Scripts(new SqliteTwin(database.Module, database.MigrationsAssembly))
                .Select(s => s.Name.Replace(".Sqlite.", ".", StringComparison.Ordinal)).ToList();
            Assert.Equal(sqlite, sqlServer);
        }
    }

    private static IEnumerable<(string Name, string Sql)> RenderAll(SqlDialect dialect)
    {
        foreach (var type in StatementClasses())
        {
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Static).Where(p => p.PropertyType == typeof(string)))
            {
                yield return ($"{type.Name}.{property.Name}", (string)property.GetValue(null)!);
            }

            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => m.ReturnType == typeof(string) && !m.IsSpecialName))
            {
                var parameters = method.GetParameters();
                var flags = parameters.Count(p => p.ParameterType == typeof(bool));
                Assert.True(parameters.All(p => p.ParameterType == typeof(bool) || p.ParameterType == typeof(SqlDialect)),
                    $"{type.Name}.{method.Name} takes parameters the test cannot supply");
                for (var combination = 0; combination < 1 << flags; combination++)
                {
                    var bit = 0;
                    var arguments = parameters.Select(p => p.ParameterType == typeof(SqlDialect) ? (object)dialect : (combination >> bit++ & 1) == 1).ToArray();
                    yield return ($"{type.Name}.{method.Name}({string.Join(", ", arguments.Skip(1))})", (string)method.Invoke(null, arguments)!);
                }
            }
        }
    }

    /// <summary>Dapper expands <c>IN @List</c> to <c>IN (@List1, @List2, …)</c> before SQL Server sees it.</summary>
    private static string ExpandListParameters(string sql) => ListParameter().Replace(sql, "IN (@$1_1, @$1_2)");

    private static void AssertParses(string name, string sql)
    {
        var errors = Parse(sql);
        Assert.True(errors.Count == 0, $"{name} does not parse as T-SQL:\n" + string.Join("\n", errors.Select(e => $"  line {e.Line}: {e.Message}")) + "\n" + sql);
    }

    private static IList<ParseError> Parse(string sql)
    {
        var parser = new TSql160Parser(initialQuotedIdentifiers: true);
        using var reader = new StringReader(sql);
        parser.Parse(reader, out var errors);
        return errors;
    }

    [GeneratedRegex(@"IN @(\w+)")]
    private static partial Regex ListParameter();

    private sealed class SqliteTwin(string module, Assembly migrations)
        : ModuleDatabase(module, new DatabaseOptions { Provider = DatabaseProvider.Sqlite, ConnectionString = "Data Source=:memory:" })
    {
        public override Assembly MigrationsAssembly => migrations;
    }
}
