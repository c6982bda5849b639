using System.Diagnostics;

namespace Oversight.Testing;

/// <summary>
/// The real servers some tests need. RabbitMQ comes from <c>OVERSIGHT_RABBITMQ</c> (an amqp:// URI)
/// and SQL Server from <c>OVERSIGHT_SQLSERVER</c> (a connection string, or <c>testcontainers</c>). Without them a test is
/// skipped — except that under CI (<c>CI</c> set) a missing broker fails: CI must run them.
/// One file, compiled into each test project that needs it (linked from <c>tests/Shared</c>).
/// </summary>
internal static class RealInfrastructure
{
    private static readonly Lazy<string> RunVirtualHost = new(CreateRunVirtualHost);

    /// <summary>
    /// The broker, on a virtual host of this test run's own: durable queues and their messages
    /// from earlier runs (or from another test project running beside this one) are not there.
    /// </summary>
    public static string RabbitMq()
    {
        var uri = Environment.GetEnvironmentVariable("OVERSIGHT_RABBITMQ");
        if (!string.IsNullOrWhiteSpace(uri))
        {
            return new UriBuilder(uri) { Path = "/" + Uri.EscapeDataString(RunVirtualHost.Value) }.Uri.ToString();
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail("CI is set but OVERSIGHT_RABBITMQ is not: the broker tests must run in CI.");
        }

        Assert.Skip("Set OVERSIGHT_RABBITMQ (for example amqp://guest:guest@localhost:5672/) to run the broker tests.");
        return "";
    }

    /// <summary>How many messages wait in a queue of the broker (0 for a queue never declared on this run's virtual host).</summary>
    public static async Task<uint> QueueDepthAsync(string broker, string queue)
    {
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(broker) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0; // Never declared: nothing has been sent to it on this run.
        }
    }

    /// <summary>
    /// A loopback port free now and not handed out before in this run: the system may give a port it
    /// just released to the next caller, and two modules of one host on the same port do not start.
    /// </summary>
    public static int FreePort()
    {
        while (true)
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            lock (HandedOutPorts)
            {
                if (HandedOutPorts.Add(port))
                {
                    return port;
                }
            }
        }
    }

    private static readonly HashSet<int> HandedOutPorts = [];

    /// <summary>A database of a test's own on <paramref name="server"/>: its connection string (SQL Server creates it on the first migration).</summary>
    public static string SqlServerDatabase(string server, string database) =>
        new Microsoft.Data.SqlClient.SqlConnectionStringBuilder(server) { InitialCatalog = database }.ConnectionString;

    /// <summary>Drops a test's own database, first closing whatever the test left connected to it.</summary>
    public static async Task DropSqlServerDatabaseAsync(string server, string database)
    {
        Microsoft.Data.SqlClient.SqlConnection.ClearAllPools();
        await using var connection = new Microsoft.Data.SqlClient.SqlConnection(SqlServerDatabase(server, "master"));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            IF DB_ID(N'{database}') IS NOT NULL
            BEGIN
                ALTER DATABASE [{database}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
                DROP DATABASE [{database}];
            END
            """;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// A connection string (each test swaps in a database of its own), or <c>testcontainers</c> for a
    /// SQL Server 2022 container started for the run (<see cref="SqlServerContainer"/>).
    /// </summary>
    public static async Task<string> SqlServerAsync()
    {
        var connection = Environment.GetEnvironmentVariable("OVERSIGHT_SQLSERVER");
        if (string.IsNullOrWhiteSpace(connection))
        {
            Assert.Skip("Set OVERSIGHT_SQLSERVER to a SQL Server connection string, or to 'testcontainers' to start one in a container, to run the SQL Server suite.");
        }

        return string.Equals(connection.Trim(), SqlServerContainer.Switch, StringComparison.OrdinalIgnoreCase)
            ? await SqlServerContainer.ConnectionStringAsync()
            : connection;
    }

    /// <summary>
    /// Creates the run's virtual host with <c>rabbitmqctl</c> (the broker runs on this machine, as
    /// in <c>.ci/run</c>) and deletes it, with everything in it, when the test process exits.
    /// </summary>
    private static string CreateRunVirtualHost()
    {
        var user = new Uri(Environment.GetEnvironmentVariable("OVERSIGHT_RABBITMQ")!).UserInfo.Split(':')[0];
        var name = $"oversight-test-{Environment.ProcessId}-{Guid.NewGuid():N}";
        RabbitMqCtl("add_vhost", name);
        RabbitMqCtl("set_permissions", "-p", name, string.IsNullOrEmpty(user) ? "guest" : Uri.UnescapeDataString(user), ".*", ".*", ".*");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => RabbitMqCtl("delete_vhost", name);
        return name;
    }

    private static void RabbitMqCtl(params string[] arguments)
    {
        var start = new ProcessStartInfo("rabbitmqctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', arguments)} failed ({process.ExitCode}): {error.Result}");
        }
    }
}
