using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Exchange.Infrastructure;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.Application;

/// <summary>
/// The data's life after a delivery: who may read a delivery's account, the recipient's purge
/// attestation, and the deliveries whose retention ran out unattested (the regulator's list, and each
/// platform's for its own data). A platform is shown its own share of a delivery that carried several
/// platforms' data: its records' counts and deadline.
/// </summary>
public sealed class DeliveryAccounts(ExchangeDatabase database, DeliveryRepository deliveries, ExchangeAudit audit, TimeProvider time)
{
    public async Task<Delivery> GetAsync(Caller caller, string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var delivery = await deliveries.GetAsync(connection, id, null, cancellationToken) ?? throw new NotFoundException("delivery", id);
        if (caller.IsRegulator || delivery.RecipientId == caller.OrganisationId)
        {
            return delivery;
        }

        if (delivery.ControllerIds.Contains(caller.OrganisationId))
        {
            return delivery.AsSeenBy(caller.OrganisationId);
        }

        throw new PermissionDeniedException("A delivery is read by its recipient, the platforms whose data it carries and the regulator.", $"delivery/{id}");
    }

    /// <summary>A recipient's own, a platform's data, or all for the regulator; optionally one request's.</summary>
    public async Task<IReadOnlyList<Delivery>> ListAsync(Caller caller, string? requestId, string? beforeId, int limit, CancellationToken cancellationToken)
    {
        var (recipient, controller) = caller switch
        {
            { IsRegulator: true } => ((string?)null, (string?)null),
            { IsInstitution: true } => (caller.OrganisationId, null),
            { IsPlatform: true } => (null, caller.OrganisationId),
            _ => throw new PermissionDeniedException("Deliveries are listed by their recipients, the platforms whose data they carry and the regulator.", "deliveries"),
        };
        await using var connection = await database.OpenAsync(cancellationToken);
        var listed = await deliveries.ListAsync(connection, recipient, controller, requestId, beforeId, limit, cancellationToken);
        return controller is null ? listed : listed.Select(d => d.AsSeenBy(controller)).ToList();
    }

    public async Task<Delivery> AttestPurgeAsync(DbSession session, Caller caller, string id, DateTimeOffset purgedAt, string statement)
    {
        var delivery = await deliveries.GetAsync(session.Connection, id, session.Transaction, session.CancellationToken) ?? throw new NotFoundException("delivery", id);
        if (delivery.RecipientId != caller.OrganisationId)
        {
            throw new PermissionDeniedException("Only the recipient attests the purge of its delivery.", $"delivery/{id}");
        }

        var now = time.UtcNowToMillisecond();
        if (delivery.PurgeAttestedAt is not null)
        {
            throw new FailedPreconditionException("ATTESTED", $"delivery/{id}", "This delivery's purge is already attested.");
        }

        // An attested delivery is never resumed, and a stream still running ends at its next page (the
        // attestation changes the delivery's version, which that page's write checks): no page leaves after it.

        var violations = new FieldViolations();
        if (purgedAt > now)
        {
            violations.Add("purge_time", "must not be in the future");
        }
        else if (purgedAt < delivery.StartedAt)
        {
            violations.Add("purge_time", "must not be before the delivery started");
        }

        violations.ThrowIfAny();
        if (!await deliveries.AttestPurgeAsync(session, delivery, now, purgedAt, statement))
        {
            throw new AbortedException($"Delivery {id} changed while its purge was attested; read it again.");
        }

        await audit.RecordAsync(session, caller, "delivery.purge_attested", $"delivery/{id}", statement,
            new Dictionary<string, string>
            {
                ["purge_time"] = purgedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                ["overdue"] = delivery.RetentionDeadline is { } deadline && deadline < purgedAt ? "true" : "false",
                [AuditRecords.Parties] = delivery.Parties,
            });
        return delivery with { PurgeAttestedAt = now, PurgedAt = purgedAt, PurgeStatement = statement, Version = delivery.Version + 1 };
    }

    /// <summary>Past their retention deadline without an attestation: all for the regulator, a platform's own data for it.</summary>
    public async Task<IReadOnlyList<Delivery>> OverdueAsync(Caller caller, (long Deadline, string Id) after, int limit, CancellationToken cancellationToken)
    {
        string? controller = caller switch
        {
            { IsRegulator: true } => null,
            { IsPlatform: true } => caller.OrganisationId,
            _ => throw new PermissionDeniedException("Overdue deliveries are listed for the regulator and for the platforms whose data they carry.", "deliveries/overdue"),
        };
        await using var connection = await database.OpenAsync(cancellationToken);
        var overdue = await deliveries.OverdueAsync(connection, time.GetUtcNow(), controller, after, limit, cancellationToken);
        // A platform's list is ordered, and paged, by its own share's deadline: the one it is shown.
        return controller is null ? overdue : overdue.Select(d => d.AsSeenBy(controller)).ToList();
    }
}
