using Testcontainers.MsSql;

namespace Oversight.Testing;

/// <summary>
/// SQL Server 2022 in a container, for anyone with a container engine: <c>OVERSIGHT_SQLSERVER=testcontainers</c>
/// starts one on first use through Testcontainers and shares it with every SQL Server test of the run
/// (each test still creates and drops a database of its own). Testcontainers' reaper removes the
/// container when the test process ends; so does the process-exit hook, where the reaper is turned off.
/// </summary>
internal static class SqlServerContainer
{
    /// <summary>The value of <c>OVERSIGHT_SQLSERVER</c> that asks for a container.</summary>
    public const string Switch = "testcontainers";

    /// <summary>A pinned SQL Server 2022 image, so every run meets the same server.</summary>
    public const string Image = "mcr.microsoft.com/mssql/server:2022-CU14-ubuntu-22.04";

    private static readonly Lazy<Task<string>> Started = new(StartAsync);

    public static Task<string> ConnectionStringAsync() => Started.Value;

    private static async Task<string> StartAsync()
    {
        var container = new MsSqlBuilder(Image).Build();
        await container.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => container.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return container.GetConnectionString();
    }
}
