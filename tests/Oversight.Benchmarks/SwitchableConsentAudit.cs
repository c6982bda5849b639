using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.Consent.Application;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.Model;

namespace Oversight.Benchmarks;

/// <summary>
/// Consent's audit with a switch: while <see cref="WithoutEntries"/> is set, a change appends no
/// entry at all (no head, no encoding, no hash, no row), so a grant "without its entry" is exactly
/// the grant minus its audit. Registered in place of <see cref="ConsentAudit"/> by the benchmark server only.
/// </summary>
public sealed class SwitchableConsentAudit(ModuleAuditLog<ConsentDatabase> audit) : ConsentAudit(audit)
{
    private volatile bool _withoutEntries;

    public bool WithoutEntries
    {
        get => _withoutEntries;
        set => _withoutEntries = value;
    }

    public override Task ConsentChangedAsync(DbSession session, string actorId, string actorKind, string action, ConsentArtefact artefact, long version, string? reason) =>
        WithoutEntries ? Task.CompletedTask : base.ConsentChangedAsync(session, actorId, actorKind, action, artefact, version, reason);

    public override Task ErasureRequestedAsync(DbSession session, string actorId, string actorKind, ErasureRequest request) =>
        WithoutEntries ? Task.CompletedTask : base.ErasureRequestedAsync(session, actorId, actorKind, request);
}
