using System.Diagnostics;
using System.Net.Sockets;
using Oversight.Testing;

namespace Oversight.Suite.Tests;

/// <summary>
/// A RabbitMQ node of a fault test's own: Debian's broker started as a separate process on free
/// ports and a folder of its own, so the test can stop, kill and restart it without touching the
/// broker every other test shares. Its queues and messages live in that folder, so they outlive a
/// restart, as on a real node.
/// </summary>
internal sealed class BrokerNode : IAsyncDisposable
{
    private const string Server = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    private readonly string _folder;
    private readonly string _name;
    private readonly int _distributionPort;
    private Process? _process;

    private BrokerNode(string folder, int port, int distributionPort)
    {
        _folder = folder;
        Port = port;
        _distributionPort = distributionPort;
        _name = $"oversight-fault-{Environment.ProcessId}-{port}@localhost";
    }

    public int Port { get; }

    /// <summary>The node's address, with the default guest user (allowed from localhost).</summary>
    public string Uri => $"amqp://guest:guest@127.0.0.1:{Port}/";

    /// <summary>Starts a new node; the test is skipped where the broker tests are (no broker installed), and fails under CI.</summary>
    public static async Task<BrokerNode> StartAsync()
    {
        RealInfrastructure.RabbitMq();
        Assert.True(File.Exists(Server), $"{Server} is missing: install Debian's rabbitmq-server.");
        var folder = Path.Combine(Path.GetTempPath(), "oversight-broker-nodes", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "enabled_plugins"), "[].");
        var node = new BrokerNode(folder, RealInfrastructure.FreePort(), RealInfrastructure.FreePort());
        await node.StartAgainAsync();
        return node;
    }

    /// <summary>Starts the node on its folder again and waits until it accepts connections; returns when it did.</summary>
    public async Task<DateTimeOffset> StartAgainAsync()
    {
        var start = new ProcessStartInfo(Server) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["HOME"] = _folder;
        start.Environment["RABBITMQ_NODENAME"] = _name;
        start.Environment["RABBITMQ_NODE_PORT"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["RABBITMQ_DIST_PORT"] = _distributionPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        start.Environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(_folder, "mnesia");
        start.Environment["RABBITMQ_LOG_BASE"] = Path.Combine(_folder, "log");
        start.Environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(_folder, "enabled_plugins");
        start.Environment["RABBITMQ_CONFIG_FILE"] = Path.Combine(_folder, "rabbitmq");
        start.Environment["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(_folder, "advanced.config");
        _process = Process.Start(start)!;
        _ = _process.StandardOutput.ReadToEndAsync();
        _ = _process.StandardError.ReadToEndAsync();
        await Eventually.HoldsAsync(async () =>
        {
            Assert.False(_process.HasExited, "the broker node exited while starting");
            return await AcceptsAsync() && await OpensAmqpAsync();
        }, "the broker node accepts connections", 120000);
        return DateTimeOffset.UtcNow;
    }

    /// <summary>Stops the node as an operator would (SIGTERM: it closes its connections and syncs its queues).</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            await process.WaitForExitAsync();
        }
    }

    /// <summary>Kills the node outright (SIGKILL of the Erlang VM), as a machine failing would.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // The VM's last writes may still be closing; the folder is under the system's temp.
        }
    }

    private async Task<bool> AcceptsAsync()
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(System.Net.IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The port opens before the node serves AMQP; the test counts from when it does.</summary>
    private async Task<bool> OpensAmqpAsync()
    {
        try
        {
            var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new System.Uri(Uri) };
            await using var connection = await factory.CreateConnectionAsync();
            return connection.IsOpen;
        }
        catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException)
        {
            return false;
        }
    }
}
