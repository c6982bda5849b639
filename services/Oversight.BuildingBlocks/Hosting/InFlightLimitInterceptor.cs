using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;

namespace Oversight.BuildingBlocks.Hosting;

/// <summary>Bound from <c>Oversight:Server</c>.</summary>
public sealed class ServerOptions
{
    /// <summary>Calls a process works on at once; beyond it a call is shed at once rather than queued behind the rest.</summary>
    public int MaxConcurrentCalls { get; set; } = 1024;
}

/// <summary>
/// Sheds load: when the process already works on its limit of calls, the next one is answered
/// RESOURCE_EXHAUSTED with a retry hint (design §8) instead of piling up and timing out later.
/// </summary>
public sealed class InFlightLimitInterceptor(IOptions<ServerOptions> options) : Interceptor
{
    private int _inFlight;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Admit();
        try
        {
            return await continuation(request, context);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Admit();
        try
        {
            await continuation(request, responseStream, context);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Admit();
        try
        {
            return await continuation(requestStream, context);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private void Admit()
    {
        if (Interlocked.Increment(ref _inFlight) <= options.Value.MaxConcurrentCalls)
        {
            return;
        }

        Interlocked.Decrement(ref _inFlight);
        var status = new Google.Rpc.Status
        {
            Code = (int)Code.ResourceExhausted,
            Message = "The server is at its limit of concurrent calls; retry shortly.",
            Details = { Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)) }) },
        };
        throw status.ToRpcException();
    }
}
