using Grpc.Core;
using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Hosting;

namespace Oversight.Suite.Tests;

public sealed class BuildingBlockTests
{
    [Fact]
    public async Task Calls_beyond_the_limit_are_shed_with_resource_exhausted()
    {
        var interceptor = new InFlightLimitInterceptor(Options.Create(new ServerOptions { MaxConcurrentCalls = 2 }));
        var release = new TaskCompletionSource<string>();
        Task<string> Slow(string request, ServerCallContext context) => release.Task;

        var first = interceptor.UnaryServerHandler("a", null!, Slow);
        var second = interceptor.UnaryServerHandler("b", null!, Slow);
        var shed = await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler("c", null!, Slow));
        Assert.Equal(StatusCode.ResourceExhausted, shed.StatusCode);
        Assert.NotNull(shed.GetRpcStatus()?.GetDetail<Google.Rpc.RetryInfo>());

        release.SetResult("done");
        await Task.WhenAll(first, second);
        Assert.Equal("done", await interceptor.UnaryServerHandler("d", null!, (r, _) => Task.FromResult("done")));
    }

    [Fact]
    public void Page_tokens_round_trip_and_refuse_forgeries()
    {
        var token = PageToken.Encode("1700000000000", "0193aa");
        var violations = new FieldViolations();
        Assert.Equal(["1700000000000", "0193aa"], PageToken.Decode(token, 2, violations)!);
        Assert.False(violations.Any);

        Assert.Null(PageToken.Decode(token, 1, violations));
        Assert.Null(PageToken.Decode("!!not-base64!!", 2, violations));
        Assert.Null(PageToken.Decode(Convert.ToBase64String("x"u8.ToArray()), 2, violations));
        Assert.Equal(3, violations.Items.Count(v => v.Field == "page_token"));
    }

    [Theory]
    [InlineData(0, 50)]
    [InlineData(1, 1)]
    [InlineData(500, 500)]
    public void Page_sizes_default_and_bound(int requested, int expected)
    {
        var violations = new FieldViolations();
        Assert.Equal(expected, PageToken.Size(requested, violations));
        Assert.False(violations.Any);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(501)]
    public void Page_sizes_out_of_range_are_violations(int requested)
    {
        var violations = new FieldViolations();
        PageToken.Size(requested, violations);
        Assert.True(violations.Has("page_size"));
    }

    [Theory]
    [InlineData("shopwave", true)]
    [InlineData("state-credit-bureau", true)]
    [InlineData("org.with_dots-1", true)]
    [InlineData("", false)]
    [InlineData("Shopwave", false)]
    [InlineData("-leading", false)]
    [InlineData("has space", false)]
    public void Organisation_ids_have_one_shape(string id, bool valid)
    {
        var violations = new FieldViolations();
        Assert.Equal(valid, violations.OrganisationId("recipient_id", id));
        Assert.Equal(!valid, violations.Has("recipient_id"));
    }

    [Fact]
    public void Stored_times_keep_milliseconds_only()
    {
        var time = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero).AddTicks(12_345);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero).AddMilliseconds(1), StoredTime.ToMillisecond(time));
    }
}
