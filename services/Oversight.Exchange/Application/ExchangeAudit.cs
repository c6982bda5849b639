using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Security;
using Oversight.Exchange.Infrastructure;

namespace Oversight.Exchange.Application;

/// <summary>
/// Exchange's every request, decision, delivery, withholding, purge and attestation, appended to its
/// Merkle log in the transaction of the change it records. A subject is named only by the log's
/// keyed hash; the detail holds ids and counts, never a field value.
/// </summary>
public sealed class ExchangeAudit(ModuleAuditLog<ExchangeDatabase> audit)
{
    /// <param name="resource">What the action is about, as <c>kind/id</c> (<c>dataset/…</c>, <c>request/…</c>, <c>delivery/…</c>).</param>
    public Task<AuditEntry> RecordAsync(
        DbSession session, Caller actor, string action, string resource, string reason, IReadOnlyDictionary<string, string>? detail = null,
        string outcome = AuditOutcomes.Succeeded) =>
        audit.Log.AppendAsync(session, new AuditRecord(actor.OrganisationId, actor.Kind, action, resource, outcome, reason, Detail: detail));

    /// <summary>An action of the service itself (a reaction to another service's event, a sweep).</summary>
    public Task<AuditEntry> RecordServiceAsync(DbSession session, string action, string resource, string reason, IReadOnlyDictionary<string, string>? detail = null) =>
        audit.Log.AppendAsync(session, new AuditRecord(Contracts.Producers.Exchange, "service", action, resource, AuditOutcomes.Succeeded, reason, Detail: detail));
}
