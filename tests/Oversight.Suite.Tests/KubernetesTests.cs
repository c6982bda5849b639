using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Oversight.Suite.Tests;

/// <summary>
/// The Kubernetes manifests (<c>deploy/kubernetes</c>), as far as a machine without a cluster can
/// try them: CI checks them against the API's schemas (<c>validate.mjs</c>); this checks what a
/// schema cannot — that each service runs several replicas behind a Service and a disruption budget,
/// is probed on its own gRPC health service and on <c>/alive</c>, has resources bounded, reads every
/// secret from the secret and not from the file, and is given every setting the Compose file gives it.
/// </summary>
public sealed class KubernetesTests
{
    private static readonly (string Name, int Port, string HealthService)[] Services =
    [
        ("consent", 5101, "oversight.consent.v1.ConsentService"),
        ("governance", 5102, "oversight.governance.v1.OrganisationService"),
        ("exchange", 5103, "oversight.exchange.v1.DeliveryService"),
    ];

    [Fact]
    public void Each_service_runs_replicas_behind_a_service_and_a_disruption_budget_probed_on_its_own_health()
    {
        foreach (var (name, port, healthService) in Services)
        {
            var manifests = Manifests($"{name}.yaml");
            var deployment = Single(manifests, "Deployment");
            var spec = Map(deployment["spec"]);
            Assert.True(int.Parse((string)spec["replicas"], System.Globalization.CultureInfo.InvariantCulture) >= 2, $"{name} runs one replica");
            var labels = Map(Map(spec["selector"])["matchLabels"]);
            var pod = Map(Map(spec["template"])["spec"]);
            var container = Map(List(pod["containers"]).Single());
            Assert.Equal(["--services", name], List(container["args"]).Cast<string>());

            var readiness = Map(Map(container["readinessProbe"])["grpc"]);
            Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), readiness["port"]);
            Assert.Equal(healthService, readiness["service"]);
            Assert.Equal("/alive", Map(Map(container["livenessProbe"])["httpGet"])["path"]);
            var resources = Map(container["resources"]);
            Assert.True(resources.ContainsKey("requests") && resources.ContainsKey("limits"), $"{name} has unbounded resources");

            foreach (var kind in new[] { "Service", "PodDisruptionBudget" })
            {
                var selector = Map(Single(manifests, kind)["spec"])["selector"];
                var matches = kind == "Service" ? Map(selector) : Map(Map(selector)["matchLabels"]);
                Assert.Equal(labels, matches);
            }
        }
    }

    [Fact]
    public void Each_service_reads_its_secrets_from_the_secret_and_gets_every_setting_the_compose_file_gives_it()
    {
        var compose = Map(new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(
            new YamlDotNet.Core.MergingParser(new YamlDotNet.Core.Parser(new StringReader(File.ReadAllText(Path.Combine(HostProcessTests.RepositoryRoot, "docker-compose.yml")))))
        )["services"]);
        var shared = Map(Single(Manifests("common.yaml"), "ConfigMap")["data"]).Keys.ToHashSet();
        foreach (var (name, _, _) in Services)
        {
            var container = Map(List(Map(Map(Map(Single(Manifests($"{name}.yaml"), "Deployment")["spec"])["template"])["spec"])["containers"]).Single());
            var environment = List(container["env"]).Select(Map).ToDictionary(e => (string)e["name"]);
            foreach (var (setting, variable) in environment)
            {
                if (setting.EndsWith("Key", StringComparison.Ordinal) || setting.EndsWith("ConnectionString", StringComparison.Ordinal)
                    || setting.EndsWith("RabbitMq", StringComparison.Ordinal) || setting.EndsWith("__Id", StringComparison.Ordinal))
                {
                    Assert.False(variable.ContainsKey("value"), $"{name} has {setting} in the manifest");
                    Assert.Equal("oversight", Map(Map(variable["valueFrom"])["secretKeyRef"])["name"]);
                }
            }

            var given = environment.Keys.Concat(shared).ToHashSet();
            foreach (var setting in Map(Map(compose[name])["environment"]).Keys)
            {
                Assert.True(given.Contains(setting), $"{name} is not given {setting}, which the compose file gives it");
            }
        }
    }

    private static List<Dictionary<string, object>> Manifests(string file)
    {
        var text = File.ReadAllText(Path.Combine(HostProcessTests.RepositoryRoot, "deploy", "kubernetes", file));
        var deserializer = new DeserializerBuilder().Build();
        var parser = new YamlDotNet.Core.Parser(new StringReader(text));
        parser.Consume<YamlDotNet.Core.Events.StreamStart>();
        var manifests = new List<Dictionary<string, object>>();
        while (parser.Accept<YamlDotNet.Core.Events.DocumentStart>(out _))
        {
            manifests.Add(Map(deserializer.Deserialize<Dictionary<object, object>>(parser)));
        }

        return manifests;
    }

    private static Dictionary<string, object> Single(List<Dictionary<string, object>> manifests, string kind) =>
        manifests.Single(m => (string)m["kind"] == kind);

    private static Dictionary<string, object> Map(object value) =>
        ((Dictionary<object, object>)value).ToDictionary(e => (string)e.Key, e => e.Value);

    private static List<object> List(object value) => (List<object>)value;
}
