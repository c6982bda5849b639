namespace Oversight.Testing;

/// <summary>
/// The real servers some tests need. RabbitMQ comes from <c>OVERSIGHT_RABBITMQ</c> (an amqp:// URI)
/// and SQL Server from <c>OVERSIGHT_SQLSERVER</c> (a connection string, or <c>testcontainers</c>). Without them a test is
/// skipped — except that under CI (<c>CI</c> set) a missing broker fails: CI must run them.
/// One file, compiled into each test project that needs it (linked from <c>tests/Shared</c>).
/// </summary>
internal static class RealInfrastructure
{
    public static string RabbitMq()
    {
        var uri = Environment.GetEnvironmentVariable("OVERSIGHT_RABBITMQ");
        if (!string.IsNullOrWhiteSpace(uri))
        {
            return uri;
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Fail("CI is set but OVERSIGHT_RABBITMQ is not: the broker tests must run in CI.");
        }

        Assert.Skip("Set OVERSIGHT_RABBITMQ (for example amqp://guest:guest@localhost:5672/) to run the broker tests.");
        return "";
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
}
