using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Security;

/// <summary>One refused call.</summary>
public sealed record AccessDenial(string Method, string CallerId, string CallerKind, string Resource, string Reason);

/// <summary>Writes permission denials to the audit of the module that owns the method.</summary>
public interface IAccessDenialAudit
{
    /// <summary>True when the full gRPC method name belongs to this module.</summary>
    bool Covers(string method);

    Task RecordAsync(AccessDenial denial, CancellationToken cancellationToken);
}

/// <summary>The denial audit in a module's own database (table <c>access_denial</c>).</summary>
public sealed class AccessDenialAudit<TDatabase>(TDatabase database, TimeProvider time, string methodPrefix) : IAccessDenialAudit
    where TDatabase : ModuleDatabase
{
    public bool Covers(string method) => method.StartsWith(methodPrefix, StringComparison.Ordinal);

    public async Task RecordAsync(AccessDenial denial, CancellationToken cancellationToken)
    {
        await using var session = await database.BeginAsync(cancellationToken);
        await session.ExecuteAsync(
            Messaging.MessagingSql.RecordAccessDenial,
            new
            {
                DeniedAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
                CallerId = Truncate(denial.CallerId, 128),
                CallerKind = Truncate(denial.CallerKind, 32),
                Method = Truncate(denial.Method, 200),
                Resource = Truncate(denial.Resource, 200),
                Reason = Truncate(denial.Reason, 500),
            });
        await session.CommitAsync();
    }

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];
}
