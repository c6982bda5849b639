using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts.Governance;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.Model;

namespace Oversight.Governance.Application;

/// <summary>Founds the venture once and derives its cap table from the ledger.</summary>
public sealed class VentureFounding(ShareRepository shares, OrganisationRepository organisations, GovernanceAudit audit, TimeProvider time)
{
    public async Task FoundAsync(DbSession session, Caller caller, IReadOnlyList<ShareClass> classes, IReadOnlyList<Allocation> allocations)
    {
        if (!caller.IsOperator)
        {
            throw new PermissionDeniedException("Only the venture's operator founds it.", "venture");
        }

        var violations = new FieldViolations();
        for (var i = 0; i < allocations.Count; i++)
        {
            var holder = await organisations.GetAsync(session.Connection, allocations[i].HolderId, session.Transaction, session.CancellationToken);
            var shareClass = classes.Single(c => c.Id == allocations[i].ClassId);
            if (shareClass.Kind == ShareClassKind.Management && holder?.Kind != OrganisationKinds.StateInvestor)
            {
                violations.Add($"allocations[{i}].holder_id", "the management share goes to the registered state investor");
            }
            else if (holder is null || holder.Kind is not (OrganisationKinds.Platform or OrganisationKinds.StateInvestor))
            {
                violations.Add($"allocations[{i}].holder_id", $"'{allocations[i].HolderId}' is not a registered platform or the state investor");
            }
        }

        violations.ThrowIfAny();
        var now = time.UtcNowToMillisecond();
        if (!await shares.TryFoundAsync(session, caller.OrganisationId, now))
        {
            throw new FailedPreconditionException("ALREADY_FOUNDED", "venture", "The venture is founded once; it already was.");
        }

        foreach (var shareClass in classes)
        {
            await shares.InsertClassAsync(session, shareClass);
        }

        foreach (var allocation in allocations)
        {
            await shares.AppendAsync(session, LedgerEntryKind.Issuance, allocation.ClassId, null, allocation.HolderId, allocation.Quantity, now, "founding");
        }

        await audit.RecordAsync(session, caller, "venture.founded", "venture",
            string.Join("; ", allocations.Select(a => $"{a.HolderId} {a.Quantity} {a.ClassId}")));
    }

    /// <summary>The cap table at a ledger point (0 = now); NOT_FOUND before founding.</summary>
    public async Task<(CapTable Table, DateTimeOffset FoundedAt)> CapTableAsync(System.Data.Common.DbConnection connection, long asOf, System.Data.Common.DbTransaction? transaction, CancellationToken cancellationToken)
    {
        var foundedAt = await shares.FoundedAtAsync(connection, transaction, cancellationToken) ?? throw new NotFoundException("venture", "the venture (not founded yet)");
        var classes = await shares.ClassesAsync(connection, transaction, cancellationToken);
        var entries = await shares.LedgerAsync(connection, asOf == 0 ? long.MaxValue : asOf, transaction, cancellationToken);
        return (ShareLedger.Derive(classes, entries, asOf == 0 ? long.MaxValue : asOf), foundedAt);
    }
}
