using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.Model;

namespace Oversight.Consent.Application;

/// <summary>
/// Consent's writes on its Merkle log, in the transaction of the change. The subject is named only
/// by its keyed hash (the log's <c>subject_ref</c>), so the subject can find its entries and an
/// erasure never rewrites the log; the detail holds organisation and purpose ids, no personal data.
/// Not sealed for one reason: the benchmark harness measures a grant without its entry by
/// overriding these methods (docs/benchmarks.md); nothing in the service derives from it.
/// </summary>
public class ConsentAudit(ModuleAuditLog<ConsentDatabase> audit)
{
    public virtual Task ConsentChangedAsync(DbSession session, string actorId, string actorKind, string action, ConsentArtefact artefact, long version, string? reason) =>
        audit.Log.AppendAsync(session, new AuditRecord(
            actorId, actorKind, action, $"consent/{artefact.Id}", AuditOutcomes.Succeeded, reason ?? "", SubjectId: artefact.SubjectId,
            Detail: new Dictionary<string, string>
            {
                ["controller_id"] = artefact.ControllerId,
                ["recipient_id"] = artefact.Terms.RecipientId,
                ["purpose"] = artefact.Terms.Purpose,
                ["version"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }));

    public virtual Task ErasureRequestedAsync(DbSession session, string actorId, string actorKind, ErasureRequest request) =>
        audit.Log.AppendAsync(session, new AuditRecord(
            actorId, actorKind, "erasure.requested", $"erasure/{request.Id}", AuditOutcomes.Succeeded,
            $"{request.RevokedConsentCount} consent(s) revoked", SubjectId: request.SubjectId,
            Detail: new Dictionary<string, string> { ["controller_id"] = request.ControllerId }));
}
