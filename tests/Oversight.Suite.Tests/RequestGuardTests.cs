using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Security;

namespace Oversight.Suite.Tests;

public sealed class RequestGuardTests
{
    [Fact]
    public async Task A_later_AddGrpc_fails_at_start_up_instead_of_mapping_every_method_twice_unguarded()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [DevelopmentKeys.Setting] = "true" });
        builder.AddOversightDefaults();
        // AddGrpc() brings grpc-dotnet's own method provider back.
        builder.Services.AddGrpc();
        await using var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapGrpcHealthChecksService());
        Assert.Contains("AddRequestGuard", error.Message, StringComparison.Ordinal);
    }
}
