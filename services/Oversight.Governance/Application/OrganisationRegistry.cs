using System.Data.Common;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts.Governance;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.Model;

namespace Oversight.Governance.Application;

/// <summary>
/// Registers and changes organisations. Each change, its audit entry and its event commit
/// together; the event carries the new version so consumers drop stale ones.
/// </summary>
public sealed class OrganisationRegistry(OrganisationRepository repository, GovernanceAudit audit, TimeProvider time)
{
    public async Task<Organisation> RegisterAsync(DbSession session, Caller caller, string id, string kind, string name, string jurisdiction, IReadOnlyList<string> affiliations)
    {
        RequireRegistrar(caller, $"organisation/{id}");
        await RequireAffiliationsAsync(session, affiliations);
        var now = time.UtcNowToMillisecond();
        var organisation = new Organisation(id, kind, name, jurisdiction, affiliations, now, now, 1);
        try
        {
            await repository.InsertAsync(session, organisation);
        }
        catch (DbException exception) when (session.Dialect.IsUniqueViolation(exception))
        {
            var existing = await repository.GetAsync(session.Connection, id, session.Transaction, session.CancellationToken);
            throw existing is null && kind == OrganisationKinds.Regulator
                ? new FailedPreconditionException("ONE_REGULATOR", $"organisation/{id}", "The venture already has its regulator; there is exactly one.")
                : new AlreadyExistsException($"Organisation '{id}' is already registered.");
        }

        await audit.RecordAsync(session, caller, "organisation.registered", $"organisation/{id}", $"{kind} {name} ({jurisdiction})");
        await GovernanceEvents.EnqueueAsync(session, new OrganisationRegistered
        {
            OrganisationId = id, Kind = kind, Name = name, Jurisdiction = jurisdiction, Affiliations = affiliations,
        }, now, organisation.Version);
        return organisation;
    }

    public async Task<Organisation> UpdateAsync(
        DbSession session, Caller caller, string id, long expectedVersion, string name, string jurisdiction, IReadOnlyList<string> affiliations)
    {
        RequireRegistrar(caller, $"organisation/{id}");
        var current = await repository.GetAsync(session.Connection, id, session.Transaction, session.CancellationToken)
            ?? throw new NotFoundException("organisation", id);
        if (expectedVersion != 0 && expectedVersion != current.Version)
        {
            throw new AbortedException($"Organisation '{id}' is at version {current.Version}, not {expectedVersion}; read it again.");
        }

        await RequireAffiliationsAsync(session, affiliations);
        var now = time.UtcNowToMillisecond();
        var updated = current with { Name = name, Jurisdiction = jurisdiction, Affiliations = affiliations, UpdatedAt = now, Version = current.Version + 1 };
        if (!await repository.UpdateAsync(session, updated, current.Version))
        {
            throw new AbortedException($"Organisation '{id}' was changed concurrently; read it again.");
        }

        await audit.RecordAsync(session, caller, "organisation.updated", $"organisation/{id}", $"{name} ({jurisdiction}); affiliations: {string.Join(", ", affiliations)}");
        await GovernanceEvents.EnqueueAsync(session, new OrganisationUpdated
        {
            OrganisationId = id, Kind = updated.Kind, Name = name, Jurisdiction = jurisdiction, Affiliations = affiliations,
        }, now, updated.Version);
        return updated;
    }

    /// <summary>The operator keeps the registry; the regulator may too.</summary>
    private static void RequireRegistrar(Caller caller, string resource)
    {
        if (!caller.IsOperator && !caller.IsRegulator)
        {
            throw new PermissionDeniedException("Only the venture's operator or the regulator keeps the registry of organisations.", resource);
        }
    }

    private async Task RequireAffiliationsAsync(DbSession session, IReadOnlyList<string> affiliations)
    {
        if (await repository.CountAsync(session, affiliations) != affiliations.Count)
        {
            var violations = new FieldViolations();
            for (var i = 0; i < affiliations.Count; i++)
            {
                if (await repository.GetAsync(session.Connection, affiliations[i], session.Transaction, session.CancellationToken) is null)
                {
                    violations.Add($"affiliations[{i}]", $"'{affiliations[i]}' is not a registered organisation");
                }
            }

            violations.ThrowIfAny();
        }
    }
}
