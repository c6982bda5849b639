using System.Data.Common;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Oversight.BuildingBlocks.Security;

namespace Oversight.BuildingBlocks.Errors;

/// <summary>
/// Translates what a handler throws into the gRPC status the design names (§8), with
/// google.rpc details in the trailers, bounded by <see cref="BoundedStatus"/> whoever raised them. Permission denials are written to the module's audit
/// before the caller hears of them. Anything unexpected is logged and answered INTERNAL.
/// </summary>
public sealed class ErrorInterceptor(ILogger<ErrorInterceptor> logger, AccessDenialRecorder denials) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception exception)
        {
            throw await TranslateAsync(exception, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception exception)
        {
            throw await TranslateAsync(exception, context);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception exception)
        {
            throw await TranslateAsync(exception, context);
        }
    }

    private async Task<RpcException> TranslateAsync(Exception exception, ServerCallContext context)
    {
        switch (exception)
        {
            case RpcException rpc:
                return BoundedStatus.Bound(rpc);

            case InvalidArgumentException invalid:
                var badRequest = new BadRequest();
                badRequest.FieldViolations.AddRange(invalid.Violations);
                return ToRpc(invalid.Code, invalid.Message, badRequest);

            case NotFoundException notFound:
                return ToRpc(notFound.Code, notFound.Message,
                    new ResourceInfo { ResourceType = notFound.ResourceType, ResourceName = notFound.ResourceName });

            case FailedPreconditionException precondition:
                var failure = new PreconditionFailure();
                failure.Violations.Add(new PreconditionFailure.Types.Violation
                {
                    Type = precondition.ViolationType,
                    Subject = precondition.Subject,
                    Description = precondition.Message,
                });
                return ToRpc(precondition.Code, precondition.Message, failure);

            case PermissionDeniedException denied:
                var http = context.GetHttpContext();
                await denials.RecordAsync(context.Method, http.User, denied.Resource, denied.Message, AccessDenialRecorder.CalledPort(http));
                return ToRpc(denied.Code, denied.Message, null);

            case ServiceException service:
                return ToRpc(service.Code, service.Message, null);

            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return new RpcException(new Grpc.Core.Status(StatusCode.Cancelled, "The call was cancelled."));

            case DbException db when IsUniqueViolation(db):
                // A key the code checked was taken by a concurrent writer: a lost race, not a fault.
                return ToRpc(Code.Aborted, "A concurrent change won the race; read again and retry.", null);

            case var transient when Data.TransientFailure.Is(transient):
                // Busy, unreachable or full: the same call may succeed later, so say so.
                logger.LogWarning("The store could not serve {Method}: {Error}", context.Method, transient.Message);
                return ToRpc(Code.Unavailable, "The store is unavailable; retry shortly.",
                    new RetryInfo { RetryDelay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(200)) });

            default:
                logger.LogError(exception, "Unhandled error in {Method}", context.Method);
                return ToRpc(Code.Internal, "An internal error occurred.", null);
        }
    }

    private static bool IsUniqueViolation(DbException exception) =>
        Data.SqliteDialect.Instance.IsUniqueViolation(exception) || Data.SqlServerDialect.Instance.IsUniqueViolation(exception);

    private static RpcException ToRpc(Code code, string message, Google.Protobuf.IMessage? detail) =>
        BoundedStatus.ToRpcException(code, message, detail);
}
