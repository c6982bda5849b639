using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts;
using Oversight.Contracts.Governance;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.Model;

namespace Oversight.Governance.Application;

/// <summary>
/// The regulator's orders. Each order, its audit entry and its event commit together; only the
/// regulator may give them.
/// </summary>
public sealed class RegulatorOrders(OrderRepository orders, OrganisationRepository organisations, GovernanceAudit audit, TimeProvider time)
{
    public async Task<StatutoryMandate> EnactMandateAsync(
        DbSession session, Caller caller, string legalReference, string recipientId, IReadOnlyList<string> purposes, IReadOnlyList<string> categories,
        DateTimeOffset? validFrom, DateTimeOffset? validUntil)
    {
        RequireRegulator(caller, $"recipient/{recipientId}");
        var now = time.UtcNowToMillisecond();
        var from = validFrom ?? now;
        var violations = new FieldViolations();
        OrderRules.ValidateMandate(legalReference, purposes, categories, from, validUntil, now, violations);
        var recipient = await organisations.GetAsync(session.Connection, recipientId, session.Transaction, session.CancellationToken);
        if (recipient is null || recipient.Kind != OrganisationKinds.Institution)
        {
            violations.Add("recipient_id", $"'{recipientId}' is not a registered institution");
        }

        violations.ThrowIfAny();
        var mandate = new StatutoryMandate(Guid.CreateVersion7(now).ToString("D"), legalReference, recipientId, purposes, categories, from, validUntil, now, null, null, 1);
        await orders.InsertMandateAsync(session, mandate);
        await audit.RecordAsync(session, caller, "mandate.enacted", $"mandate/{mandate.Id}",
            $"{legalReference}: {recipientId} may receive {string.Join(", ", categories)} for {string.Join(", ", purposes)}");
        await GovernanceEvents.EnqueueAsync(session, new StatutoryMandateEnacted
        {
            MandateId = mandate.Id, LegalReference = legalReference, RecipientId = recipientId, Purposes = purposes, DataCategories = categories,
            ValidFrom = from, ValidUntil = validUntil,
        }, now, mandate.Version);
        return mandate;
    }

    public async Task<StatutoryMandate> RepealMandateAsync(DbSession session, Caller caller, string mandateId, string reason)
    {
        RequireRegulator(caller, $"mandate/{mandateId}");
        var now = time.UtcNowToMillisecond();
        var mandate = await orders.GetMandateAsync(session.Connection, mandateId, session.Transaction, session.CancellationToken)
            ?? throw new NotFoundException("statutory mandate", mandateId);
        if (mandate.RepealedAt is not null)
        {
            throw new FailedPreconditionException("STATE", $"mandate/{mandateId}", $"Mandate '{mandateId}' is already repealed.");
        }

        if (!await orders.RepealMandateAsync(session, mandate, reason, now))
        {
            throw new AbortedException($"Mandate '{mandateId}' was repealed concurrently; read it again.");
        }

        var repealed = mandate with { RepealedAt = now, RepealReason = reason, Version = mandate.Version + 1 };
        await audit.RecordAsync(session, caller, "mandate.repealed", $"mandate/{mandateId}", reason);
        await GovernanceEvents.EnqueueAsync(session, new StatutoryMandateRepealed
        {
            MandateId = mandateId, RepealedAt = now,
        }, now, repealed.Version);
        return repealed;
    }

    public async Task<ExchangeStatus> SetFrozenAsync(DbSession session, Caller caller, bool frozen, string reason)
    {
        RequireRegulator(caller, "exchange");
        var now = time.UtcNowToMillisecond();
        var current = await orders.ExchangeStatusAsync(session.Connection, session.Transaction, session.CancellationToken);
        if (current.Frozen == frozen)
        {
            throw new FailedPreconditionException("STATE", "exchange", frozen ? "The exchange is already frozen." : "The exchange is not frozen.");
        }

        var orderId = Guid.CreateVersion7(now).ToString("D");
        if (!await orders.SetExchangeStatusAsync(session, frozen, reason, orderId, now, current.Version))
        {
            throw new AbortedException("Another order changed the exchange's status at the same time; read it again.");
        }

        var status = new ExchangeStatus(frozen, reason, orderId, now, current.Version + 1);
        await audit.RecordAsync(session, caller, frozen ? "exchange.frozen" : "exchange.unfrozen", "exchange", reason);
        IntegrationEvent message = frozen
            ? new ExchangeFrozen { OrderId = orderId, Reason = reason, FrozenAt = now }
            : new ExchangeUnfrozen { OrderId = orderId, UnfrozenAt = now };
        await GovernanceEvents.EnqueueAsync(session, message, now, status.Version);
        return status;
    }

    private static void RequireRegulator(Caller caller, string resource)
    {
        if (!caller.IsRegulator)
        {
            throw new PermissionDeniedException("Only the regulator gives orders.", resource);
        }
    }
}
