using System.Data.Common;
using System.Security.Cryptography;
using Google.Protobuf;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.BuildingBlocks.Messaging;

/// <summary>
/// Idempotent writes keyed by the caller's <c>request_id</c> (design §3). The key is claimed in
/// the same transaction as the write, so of two concurrent duplicates only one applies — a unique
/// key decides, not a check before the insert. The same id with the same body answers with the
/// first response; with another body it fails ALREADY_EXISTS.
/// </summary>
public static class IdempotentRequests
{
    public const int MaxRequestIdLength = 128;

    /// <summary>Validates a request id field.</summary>
    public static void Validate(string requestId, FieldViolations violations, string field = "request_id") =>
        violations.Text(field, requestId, MaxRequestIdLength);

    /// <summary>
    /// The shape every state change shares: a request id, the UUID of what it changes, and a reason
    /// of at most 500 characters (required or optional). Returns the id, normalised.
    /// </summary>
    public static string ValidateChange(string requestId, string idField, string id, string? reason, bool reasonRequired = false)
    {
        var violations = new FieldViolations();
        Validate(requestId, violations);
        var normalised = violations.Uuid(idField, id);
        violations.Text("reason", reason, 500, reasonRequired);
        violations.ThrowIfAny();
        return normalised!;
    }

    /// <summary>
    /// The first answer to this request id, if there is one (ALREADY_EXISTS for the id with another body):
    /// for handlers whose checks before the write read another service, so a retry answers as the first
    /// call did even when what those checks read has changed since.
    /// </summary>
    public static Task<TResponse?> EarlierAsync<TRequest, TResponse>(ModuleDatabase database, Grpc.Core.ServerCallContext context, string requestId, TRequest request)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>, new() =>
        FindAsync<TResponse>(database, Security.ServerCallContextCallerExtensions.GetCaller(context).OrganisationId, requestId,
            request.Descriptor.FullName, Fingerprint(request), context.CancellationToken);

    public static async Task<TResponse> ExecuteAsync<TRequest, TResponse>(
        ModuleDatabase database,
        string callerId,
        string requestId,
        TRequest request,
        long nowMs,
        Func<DbSession, Task<TResponse>> write,
        CancellationToken cancellationToken)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>, new()
    {
        var operation = request.Descriptor.FullName;
        var hash = Fingerprint(request);

        var earlier = await FindAsync<TResponse>(database, callerId, requestId, operation, hash, cancellationToken);
        if (earlier is not null)
        {
            return earlier;
        }

        await using (var session = await database.BeginAsync(cancellationToken))
        {
            var claimed = await TryClaimAsync(session, callerId, requestId, operation, hash, nowMs);
            if (claimed)
            {
                var response = await write(session);
                await session.ExecuteAsync(
                    MessagingSql.StoreResponse,
                    new { Response = response.ToByteArray(), CallerId = callerId, RequestId = requestId });
                await session.CommitAsync();
                return response;
            }
        }

        // A concurrent duplicate committed first: answer as it did.
        return await FindAsync<TResponse>(database, callerId, requestId, operation, hash, cancellationToken)
            ?? throw new AbortedException("A concurrent request with the same request_id did not finish; retry.");
    }

    /// <summary>The same, for a gRPC call: the caller is the key's owner, the clock gives the claim's time.</summary>
    public static Task<TResponse> ExecuteAsync<TRequest, TResponse>(
        ModuleDatabase database, Grpc.Core.ServerCallContext context, TimeProvider time, string requestId, TRequest request,
        Func<DbSession, Security.Caller, Task<TResponse>> write)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>, new()
    {
        var caller = Security.ServerCallContextCallerExtensions.GetCaller(context);
        return ExecuteAsync(database, caller.OrganisationId, requestId, request, time.GetUtcNow().ToUnixTimeMilliseconds(),
            session => write(session, caller), context.CancellationToken);
    }

    private static async Task<bool> TryClaimAsync(DbSession session, string callerId, string requestId, string operation, byte[] hash, long nowMs)
    {
        try
        {
            await session.ExecuteAsync(
                MessagingSql.ClaimRequest,
                new { CallerId = callerId, RequestId = requestId, Operation = operation, Hash = hash, CreatedAt = nowMs });
            return true;
        }
        catch (DbException exception) when (session.Dialect.IsUniqueViolation(exception))
        {
            return false;
        }
    }

    private static async Task<TResponse?> FindAsync<TResponse>(
        ModuleDatabase database, string callerId, string requestId, string operation, byte[] hash, CancellationToken cancellationToken)
        where TResponse : IMessage<TResponse>, new()
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await Dapper.SqlMapper.QuerySingleOrDefaultAsync<StoredRequest>(connection, new Dapper.CommandDefinition(
            MessagingSql.FindRequest,
            new { CallerId = callerId, RequestId = requestId },
            cancellationToken: cancellationToken));
        if (row is null)
        {
            return default;
        }

        if (row.Operation != operation || !CryptographicOperations.FixedTimeEquals(row.RequestHash, hash))
        {
            throw new AlreadyExistsException(
                $"request_id '{requestId}' was already used for a different request; choose a new request_id.");
        }

        if (row.Response is null)
        {
            return default;
        }

        var response = new TResponse();
        response.MergeFrom(row.Response);
        return response;
    }

    /// <summary>SHA-256 of the request with its request_id cleared.</summary>
    private static byte[] Fingerprint<TRequest>(TRequest request) where TRequest : IMessage<TRequest>
    {
        var copy = request.Clone();
        var field = copy.Descriptor.FindFieldByName("request_id");
        field?.Accessor.Clear(copy);
        return SHA256.HashData(copy.ToByteArray());
    }

    private sealed class StoredRequest
    {
        public string Operation { get; set; } = "";
        public byte[] RequestHash { get; set; } = [];
        public byte[]? Response { get; set; }
    }
}
