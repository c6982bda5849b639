using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.Model;
using Oversight.Contracts;
using Oversight.Contracts.Consent;

namespace Oversight.Consent.Application;

/// <summary>An artefact after a write, with the consistency token's sequence.</summary>
public sealed record ConsentWrite(ConsentArtefact Artefact, long Sequence);

/// <summary>
/// Issues and changes consent artefacts. Each method runs inside the caller's transaction: the
/// artefact, its history entry and its event commit together or not at all. Only the controller
/// may change its artefacts; concurrent changes to one artefact are decided by its version.
/// </summary>
public sealed class ConsentRegister(
    ConsentRepository repository,
    ConsentRegistry registry,
    ReceiptSigner signer,
    ConsentAudit audit,
    TimeProvider time,
    IOptions<ConsentOptions> options)
{
    private ConsentLimits Limits => options.Value.Limits;

    public async Task<ConsentWrite> GrantAsync(DbSession session, Caller caller, string subjectId, ConsentTerms terms)
    {
        RequirePlatform(caller);
        var now = time.UtcNowToMillisecond();
        var (snapshot, recipient) = await ValidateAsync(session, caller, terms, now);
        var artefact = await IssueAsync(session, snapshot, recipient, caller, subjectId, terms, supersedesId: null, now, Guid.CreateVersion7(now).ToString("D"));
        var sequence = await repository.AppendChangeAsync(session, artefact.Id, artefact.Version, ConsentStatus.Active, null, caller.OrganisationId, now);
        await audit.ConsentChangedAsync(session, caller.OrganisationId, caller.Kind, "consent.granted", artefact, artefact.Version, null);
        await GrantedAsync(session, artefact, now);
        return new ConsentWrite(artefact, sequence);
    }

    public async Task<ConsentWrite> AmendAsync(DbSession session, Caller caller, string consentId, ConsentTerms terms)
    {
        RequirePlatform(caller);
        var now = time.UtcNowToMillisecond();
        var old = await LoadOwnedAsync(session, caller, consentId);
        RequireOpen(old, now, "amended");
        var (snapshot, recipient) = await ValidateAsync(session, caller, terms, now);

        // The version-checked move comes first, so a lost race is ABORTED before anything is inserted.
        var successorId = Guid.CreateVersion7(now).ToString("D");
        await MoveAsync(session, old, ConsentStatus.Superseded, $"superseded by {successorId}", successorId, caller, now);
        var successor = await IssueAsync(session, snapshot, recipient, caller, old.SubjectId, terms, old.Id, now, successorId);
        var sequence = await repository.AppendChangeAsync(session, successor.Id, successor.Version, ConsentStatus.Active, $"amends {old.Id}", caller.OrganisationId, now);
        await audit.ConsentChangedAsync(session, caller.OrganisationId, caller.Kind, "consent.granted", successor, successor.Version, $"amends {old.Id}");
        await ConsentEvents.EnqueueAsync(session, new ConsentSuperseded
        {
            ConsentId = old.Id,
            SupersededById = successor.Id,
            SubjectId = old.SubjectId,
            ControllerId = old.ControllerId,
            RecipientId = old.Terms.RecipientId,
        }, now, old.Version + 1);
        await GrantedAsync(session, successor, now);
        return new ConsentWrite(successor, sequence);
    }

    public async Task<ConsentWrite> PauseAsync(DbSession session, Caller caller, string consentId, string? reason)
    {
        var now = time.UtcNowToMillisecond();
        var artefact = await LoadOwnedAsync(session, caller, consentId);
        if (artefact.StatusAt(now) != ConsentStatus.Active)
        {
            throw WrongState(artefact, now, "paused", "only an active consent can be paused");
        }

        var (moved, sequence) = await MoveAsync(session, artefact, ConsentStatus.Paused, reason, null, caller, now);
        await ConsentEvents.EnqueueAsync(session, new ConsentPaused
        {
            ConsentId = moved.Id, SubjectId = moved.SubjectId, ControllerId = moved.ControllerId, RecipientId = moved.Terms.RecipientId, Reason = reason,
        }, now, moved.Version);
        return new ConsentWrite(moved, sequence);
    }

    public async Task<ConsentWrite> ResumeAsync(DbSession session, Caller caller, string consentId)
    {
        var now = time.UtcNowToMillisecond();
        var artefact = await LoadOwnedAsync(session, caller, consentId);
        if (artefact.StatusAt(now) != ConsentStatus.Paused)
        {
            throw WrongState(artefact, now, "resumed", "only a paused consent can be resumed");
        }

        var (moved, sequence) = await MoveAsync(session, artefact, ConsentStatus.Active, null, null, caller, now);
        await ConsentEvents.EnqueueAsync(session, new ConsentResumed
        {
            ConsentId = moved.Id, SubjectId = moved.SubjectId, ControllerId = moved.ControllerId, RecipientId = moved.Terms.RecipientId,
        }, now, moved.Version);
        return new ConsentWrite(moved, sequence);
    }

    public async Task<ConsentWrite> RevokeAsync(DbSession session, Caller caller, string consentId, string? reason)
    {
        var now = time.UtcNowToMillisecond();
        var artefact = await LoadOwnedAsync(session, caller, consentId);
        RequireOpen(artefact, now, "revoked");
        return await RevokeLoadedAsync(session, caller, artefact, reason, now);
    }

    /// <summary>Records an erasure request and revokes the subject's open consents with the calling platform.</summary>
    public async Task<(ErasureRequest Request, long Sequence)> RequestErasureAsync(DbSession session, Caller caller, string subjectId)
    {
        RequirePlatform(caller);
        await RequireRegisteredPlatformAsync(session, caller);
        var now = time.UtcNowToMillisecond();
        var open = await repository.OpenForSubjectAsync(session, subjectId, caller.OrganisationId);
        long sequence = 0;
        var revoked = 0;
        foreach (var artefact in open.Where(a => a.IsOpenAt(now)))
        {
            sequence = (await RevokeLoadedAsync(session, caller, artefact, "erasure requested", now)).Sequence;
            revoked++;
        }

        var request = new ErasureRequest(Guid.CreateVersion7(now).ToString("D"), subjectId, caller.OrganisationId, false, now, null, 0, revoked);
        await repository.InsertErasureAsync(session, request);
        await audit.ErasureRequestedAsync(session, caller.OrganisationId, caller.Kind, request);
        await ConsentEvents.EnqueueAsync(session, new SubjectErasureRequested
        {
            ErasureRequestId = request.Id, SubjectId = subjectId, ControllerId = caller.OrganisationId,
        }, now, 1);
        return (request, sequence);
    }

    /// <summary>Marks one open artefact past its valid-until as expired; false when another writer changed it first.</summary>
    public async Task<bool> ExpireAsync(DbSession session, ConsentArtefact artefact, DateTimeOffset now)
    {
        if (artefact.StoredStatus is not (ConsentStatus.Active or ConsentStatus.Paused) || now < artefact.Terms.ValidUntil)
        {
            return false;
        }

        if (!await repository.UpdateStatusAsync(session, artefact.Id, artefact.Version, ConsentStatus.Expired, "valid_until reached", null, now))
        {
            return false;
        }

        await repository.AppendChangeAsync(session, artefact.Id, artefact.Version + 1, ConsentStatus.Expired, "valid_until reached", Producers.Consent, now);
        await audit.ConsentChangedAsync(session, Producers.Consent, Contracts.Governance.OrganisationKinds.Operator, "consent.expired", artefact, artefact.Version + 1, "valid_until reached");
        await ConsentEvents.EnqueueAsync(session, new ConsentExpired
        {
            ConsentId = artefact.Id, SubjectId = artefact.SubjectId, ControllerId = artefact.ControllerId,
            RecipientId = artefact.Terms.RecipientId, ExpiredAt = artefact.Terms.ValidUntil,
        }, now, artefact.Version + 1);
        return true;
    }

    private async Task<ConsentWrite> RevokeLoadedAsync(DbSession session, Caller caller, ConsentArtefact artefact, string? reason, DateTimeOffset now)
    {
        var (moved, sequence) = await MoveAsync(session, artefact, ConsentStatus.Revoked, reason, null, caller, now);
        await ConsentEvents.EnqueueAsync(session, new ConsentRevoked
        {
            ConsentId = moved.Id, SubjectId = moved.SubjectId, ControllerId = moved.ControllerId, RecipientId = moved.Terms.RecipientId, Reason = reason,
        }, now, moved.Version);
        return new ConsentWrite(moved, sequence);
    }

    private async Task<(RegistrySnapshot Snapshot, KnownOrganisation Recipient)> ValidateAsync(DbSession session, Caller caller, ConsentTerms terms, DateTimeOffset now)
    {
        var controller = await RequireRegisteredPlatformAsync(session, caller);
        var snapshot = await registry.GetAsync(session.CancellationToken);
        var recipient = await repository.OrganisationAsync(session.Connection, terms.RecipientId, session.Transaction, session.CancellationToken);
        var violations = new FieldViolations();
        ConsentRules.Validate(terms, controller, recipient, snapshot.Taxonomy, snapshot.PurposeIds, Limits, now, violations);
        violations.ThrowIfAny();
        return (snapshot, recipient!);
    }

    private async Task<ConsentArtefact> IssueAsync(
        DbSession session, RegistrySnapshot snapshot, KnownOrganisation recipient, Caller caller, string subjectId, ConsentTerms terms, string? supersedesId,
        DateTimeOffset now, string id)
    {
        var draft = new ConsentArtefact(
            id, subjectId, caller.OrganisationId, terms, ConsentStatus.Active, null, supersedesId, null,
            now, now, 1, "", signer.Current.KeyId);
        var controller = await repository.OrganisationAsync(session.Connection, caller.OrganisationId, session.Transaction, session.CancellationToken);
        var payload = ConsentReceipt.Payload(draft, snapshot.Purposes[terms.Purpose], controller!.Name, recipient.Name, snapshot.Taxonomy, now);
        var artefact = draft with { ReceiptJws = signer.Sign(payload) };
        await repository.InsertAsync(session, artefact);
        return artefact;
    }

    private async Task<(ConsentArtefact Moved, long Sequence)> MoveAsync(
        DbSession session, ConsentArtefact artefact, ConsentStatus status, string? reason, string? supersededById, Caller caller, DateTimeOffset now)
    {
        if (!await repository.UpdateStatusAsync(session, artefact.Id, artefact.Version, status, reason, supersededById, now))
        {
            throw new AbortedException($"Consent '{artefact.Id}' was changed concurrently; read it again and retry.");
        }

        var moved = artefact with
        {
            StoredStatus = status,
            StatusReason = reason,
            SupersededById = supersededById ?? artefact.SupersededById,
            UpdatedAt = now,
            Version = artefact.Version + 1,
        };
        var sequence = await repository.AppendChangeAsync(session, moved.Id, moved.Version, status, reason, caller.OrganisationId, now);
        var action = status switch
        {
            ConsentStatus.Paused => "consent.paused",
            ConsentStatus.Active => "consent.resumed",
            ConsentStatus.Revoked => "consent.revoked",
            ConsentStatus.Superseded => "consent.superseded",
            _ => $"consent.{status.ToString().ToLowerInvariant()}",
        };
        await audit.ConsentChangedAsync(session, caller.OrganisationId, caller.Kind, action, moved, moved.Version, reason);
        return (moved, sequence);
    }

    private async Task<ConsentArtefact> LoadOwnedAsync(DbSession session, Caller caller, string consentId)
    {
        var artefact = await repository.GetAsync(session, consentId);
        if (artefact is null)
        {
            throw new NotFoundException("consent", consentId);
        }

        if (artefact.ControllerId != caller.OrganisationId)
        {
            throw new PermissionDeniedException("Only the consent's controller may change it.", $"consent/{consentId}");
        }

        return artefact;
    }

    /// <summary>A controller must be a platform the venture knows: its receipts name it.</summary>
    private async Task<KnownOrganisation> RequireRegisteredPlatformAsync(DbSession session, Caller caller)
    {
        var controller = await repository.OrganisationAsync(session.Connection, caller.OrganisationId, session.Transaction, session.CancellationToken);
        if (controller is null || controller.Kind != Contracts.Governance.OrganisationKinds.Platform)
        {
            throw new PermissionDeniedException(
                $"'{caller.OrganisationId}' is not a registered platform; only registered platforms record consents.", $"organisation/{caller.OrganisationId}");
        }

        return controller;
    }

    private static void RequirePlatform(Caller caller)
    {
        if (!caller.IsPlatform)
        {
            throw new PermissionDeniedException($"Only a platform may record consents; the caller is a {caller.Kind}.");
        }
    }

    private static void RequireOpen(ConsentArtefact artefact, DateTimeOffset now, string verb)
    {
        if (!artefact.IsOpenAt(now))
        {
            throw WrongState(artefact, now, verb, "only an active or paused consent can be " + verb);
        }
    }

    private static FailedPreconditionException WrongState(ConsentArtefact artefact, DateTimeOffset now, string verb, string rule) =>
        new("STATE", $"consent/{artefact.Id}",
            $"Consent '{artefact.Id}' is {artefact.StatusAt(now).ToString().ToUpperInvariant()} and cannot be {verb}: {rule}.");

    private static Task GrantedAsync(DbSession session, ConsentArtefact artefact, DateTimeOffset now) => ConsentEvents.EnqueueAsync(session, new ConsentGranted
    {
        ConsentId = artefact.Id,
        SubjectId = artefact.SubjectId,
        ControllerId = artefact.ControllerId,
        RecipientId = artefact.Terms.RecipientId,
        Purpose = artefact.Terms.Purpose,
        DataCategories = artefact.Terms.DataCategories,
        ValidFrom = artefact.Terms.ValidFrom,
        ValidUntil = artefact.Terms.ValidUntil,
        Mode = artefact.Terms.Mode.ToString().ToUpperInvariant(),
        DataLifeSeconds = (long)artefact.Terms.DataLife.TotalSeconds,
        SupersedesId = artefact.SupersedesId,
    }, now, artefact.Version);
}
