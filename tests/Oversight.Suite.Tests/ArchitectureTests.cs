using System.Reflection;
using NetArchTest.Rules;
using Oversight.Consent;
using Oversight.Exchange;
using Oversight.Governance;

namespace Oversight.Suite.Tests;

/// <summary>
/// The layering a newcomer can rely on: <c>Model/</c> decides and knows nothing of storage, the
/// wire or the layers around it; <c>Application/</c> orchestrates on model types, never on the
/// generated ones; and no module reaches into another (they talk by events and gRPC only).
/// </summary>
public sealed class ArchitectureTests
{
    public static TheoryData<string> Modules => ["Consent", "Governance", "Exchange"];

    [Theory]
    [MemberData(nameof(Modules))]
    public void The_model_knows_nothing_of_storage_the_wire_or_the_other_layers(string module)
    {
        var result = Types.InAssembly(AssemblyOf(module)).That().ResideInNamespace($"Oversight.{module}.Model")
            .ShouldNot().HaveDependencyOnAny(
                "Dapper", "System.Data", "Microsoft.Data", "Google.Protobuf", "Grpc", "MassTransit", "Microsoft.AspNetCore",
                $"Oversight.{module}.V1", $"Oversight.{module}.Grpc", $"Oversight.{module}.Infrastructure", $"Oversight.{module}.Application",
                $"Oversight.{module}.IntegrationEvents")
            .GetResult();

        Assert.True(result.IsSuccessful, Failing(result));
    }

    [Theory]
    [MemberData(nameof(Modules))]
    public void The_application_layer_works_on_model_types_not_generated_ones(string module)
    {
        var result = Types.InAssembly(AssemblyOf(module)).That().ResideInNamespace($"Oversight.{module}.Application")
            .ShouldNot().HaveDependencyOnAny("Google.Protobuf", "Grpc.Core", $"Oversight.{module}.V1", $"Oversight.{module}.Grpc")
            .GetResult();

        Assert.True(result.IsSuccessful, Failing(result));
    }

    /// <summary>
    /// Exchange is a client of Consent's published gRPC contract (<c>Oversight.Consent.V1</c>, compiled
    /// into Exchange from the same protos); that is talking over gRPC, not reaching in.
    /// </summary>
    [Theory]
    [InlineData("Consent", "Governance")]
    [InlineData("Consent", "Exchange")]
    [InlineData("Governance", "Consent")]
    [InlineData("Governance", "Exchange")]
    [InlineData("Exchange", "Consent")]
    [InlineData("Exchange", "Governance")]
    public void A_module_never_references_another(string module, string other)
    {
        var assembly = AssemblyOf(module);
        Assert.DoesNotContain(assembly.GetReferencedAssemblies(), name => name.Name == $"Oversight.{other}");

        var contract = $"Oversight.{other}.V1";
        var inside = AssemblyOf(other).GetTypes()
            .Where(t => !t.IsNested && (t.Namespace == $"Oversight.{other}" || t.Namespace?.StartsWith($"Oversight.{other}.", StringComparison.Ordinal) == true)
                        && t.Namespace != contract)
            .Select(t => t.FullName!).ToArray();
        var result = Types.InAssembly(assembly).ShouldNot().HaveDependencyOnAny(inside).GetResult();
        Assert.True(result.IsSuccessful, Failing(result));
    }

    [Fact]
    public void The_contracts_depend_on_no_module()
    {
        var result = Types.InAssembly(typeof(Contracts.IntegrationEvent).Assembly)
            .ShouldNot().HaveDependencyOnAny("Oversight.Consent", "Oversight.Governance", "Oversight.Exchange", "Oversight.BuildingBlocks")
            .GetResult();

        Assert.True(result.IsSuccessful, Failing(result));
    }

    private static Assembly AssemblyOf(string module) => module switch
    {
        "Consent" => typeof(ConsentModule).Assembly,
        "Governance" => typeof(GovernanceModule).Assembly,
        "Exchange" => typeof(ExchangeModule).Assembly,
        _ => throw new ArgumentOutOfRangeException(nameof(module), module, "not a module"),
    };

    private static string Failing(NetArchTest.Rules.TestResult result) =>
        "these types break the rule: " + string.Join(", ", result.FailingTypeNames ?? []);
}
