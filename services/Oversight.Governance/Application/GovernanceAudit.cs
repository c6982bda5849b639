using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Security;
using Oversight.Governance.Infrastructure;

namespace Oversight.Governance.Application;

/// <summary>Governance's every action, appended to its Merkle log in the transaction of the change it records.</summary>
public sealed class GovernanceAudit(ModuleAuditLog<GovernanceDatabase> audit)
{
    /// <param name="resource">What the action changed, as <c>kind/id</c> (<c>proposal/…</c>, <c>alliance/…</c>).</param>
    /// <param name="reason">What was done and why, in words: no personal data (Governance holds none).</param>
    public Task RecordAsync(DbSession session, Caller actor, string action, string resource, string reason) =>
        audit.Log.AppendAsync(session, new AuditRecord(actor.OrganisationId, actor.Kind, action, resource, AuditOutcomes.Succeeded, reason));
}
