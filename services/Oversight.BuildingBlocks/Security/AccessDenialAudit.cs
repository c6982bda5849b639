using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Security;

/// <summary>One refused call.</summary>
public sealed record AccessDenial(string Method, string CallerId, string CallerKind, string Resource, string Reason);

/// <summary>Writes permission denials to the audit log of the module that owns the method.</summary>
public interface IAccessDenialAudit
{
    /// <summary>True when the full gRPC method name belongs to this module's own services.</summary>
    bool Owns(string method);

    /// <summary>
    /// The port the module answers on when several share the process (null when it is alone): a
    /// service every module serves for itself (the audit log) belongs to the module on the port called.
    /// </summary>
    int? Port { get; }

    Task RecordAsync(AccessDenial denial, CancellationToken cancellationToken);
}

/// <summary>The denial audit on a module's Merkle log: an <c>access.denied</c> entry, outcome <c>refused</c>.</summary>
public sealed class AccessDenialAudit<TDatabase>(ModuleAuditLog<TDatabase> audit, string methodPrefix, int? port) : IAccessDenialAudit
    where TDatabase : ModuleDatabase
{
    public const string Action = "access.denied";

    public bool Owns(string method) => method.StartsWith(methodPrefix, StringComparison.Ordinal);

    public int? Port => port;

    public async Task RecordAsync(AccessDenial denial, CancellationToken cancellationToken)
    {
        await using var session = await audit.Database.BeginAsync(cancellationToken);
        await audit.Log.AppendAsync(session, new AuditRecord(
            denial.CallerId, denial.CallerKind, Action, denial.Resource.Length > 0 ? denial.Resource : denial.Method, AuditOutcomes.Refused, denial.Reason,
            Detail: new Dictionary<string, string> { ["method"] = denial.Method }));
        await session.CommitAsync();
    }
}
