namespace Oversight.Testing;

/// <summary>
/// The real servers some tests need. RabbitMQ comes from <c>OVERSIGHT_RABBITMQ</c> (an amqp:// URI)
/// and SQL Server from <c>OVERSIGHT_SQLSERVER</c> (a connection string). Without them a test is
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

    public static string SqlServer()
    {
        var connection = Environment.GetEnvironmentVariable("OVERSIGHT_SQLSERVER");
        if (string.IsNullOrWhiteSpace(connection))
        {
            Assert.Skip("Set OVERSIGHT_SQLSERVER to a SQL Server connection string to run the SQL Server suite.");
        }

        return connection;
    }
}
