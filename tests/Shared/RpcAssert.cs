using Google.Rpc;
using Grpc.Core;

namespace Oversight.Testing;

internal static class RpcAssert
{
    public static async Task<RpcException> FailsAsync(StatusCode expected, Func<Task> call)
    {
        var exception = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(expected == exception.StatusCode, $"Expected {expected} but got {exception.StatusCode}: {exception.Status.Detail}");
        return exception;
    }

    /// <summary>The fields named by the google.rpc.BadRequest detail of an INVALID_ARGUMENT.</summary>
    public static async Task<IReadOnlyList<string>> InvalidFieldsAsync(Func<Task> call)
    {
        var exception = await FailsAsync(StatusCode.InvalidArgument, call);
        var badRequest = exception.GetRpcStatus()?.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        Assert.All(badRequest.FieldViolations, v => Assert.False(string.IsNullOrWhiteSpace(v.Description)));
        return badRequest.FieldViolations.Select(v => v.Field).ToList();
    }
}
