using System.Globalization;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts.Exchange;
using Oversight.Exchange.Infrastructure;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.Application;

/// <summary>What an institution asks for, its shape already checked.</summary>
public sealed record RequestedData(
    IReadOnlyList<string> DatasetIds, string Purpose, IReadOnlyList<string> Fields, IReadOnlyList<string> SubjectIds, DateTimeOffset? OccurAfter, DateTimeOffset? OccurBefore);

/// <summary>
/// Institutions' requests, decided at once by <see cref="RequestDecision"/> against the alliances and
/// the freeze Exchange knows from Governance. The decision, its reasons, the alliance version and the
/// rules version are stored, appended to the audit log and announced, in one transaction.
/// </summary>
public sealed class DataRequests(
    ExchangeDatabase database, DatasetRepository datasets, DataRequestRepository requests, GovernanceReadModels readModels, DatasetKeys keys,
    ConsentVocabulary vocabulary, ExchangeAudit audit, TimeProvider time)
{
    /// <summary>
    /// The checks and the work that need no transaction: the caller, the purpose against Consent's
    /// registry, and the named subjects' blind index in each dataset (which needs the datasets' keys).
    /// </summary>
    public async Task<IReadOnlyList<(string DatasetId, byte[] SubjectRef)>> PrepareAsync(Caller caller, RequestedData ask, CancellationToken cancellationToken)
    {
        RequireInstitution(caller);
        if (!await vocabulary.IsPurposeAsync(ask.Purpose, cancellationToken))
        {
            var violations = new FieldViolations();
            violations.Add("purpose", $"'{ask.Purpose}' is not a purpose of Consent's registry (ConsentRegistryService.ListPurposes lists them)");
            violations.ThrowIfAny();
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        var found = await datasets.GetManyAsync(connection, ask.DatasetIds, null, cancellationToken);
        if (ask.DatasetIds.FirstOrDefault(id => found.All(d => d.Id != id)) is { } missing)
        {
            throw new NotFoundException("dataset", missing);
        }

        var subjects = new List<(string, byte[])>();
        if (ask.SubjectIds.Count == 0)
        {
            return subjects;
        }

        foreach (var datasetId in ask.DatasetIds)
        {
            var key = await keys.ForAsync(datasetId, cancellationToken);
            subjects.AddRange(ask.SubjectIds.Select(s => (datasetId, key.SubjectRef(s))));
        }

        return subjects;
    }

    public async Task<DataRequest> CreateAsync(DbSession session, Caller caller, RequestedData ask, IReadOnlyList<(string DatasetId, byte[] SubjectRef)> subjects)
    {
        RequireInstitution(caller);
        var now = time.UtcNowToMillisecond();
        var found = await datasets.GetManyAsync(session.Connection, ask.DatasetIds, session.Transaction, session.CancellationToken);
        var ordered = ask.DatasetIds.Select(id => found.FirstOrDefault(d => d.Id == id) ?? throw new NotFoundException("dataset", id)).ToList();
        var alliances = await readModels.AlliancesOfAsync(session.Connection, caller.OrganisationId, session.Transaction, session.CancellationToken);
        var standing = await readModels.ExchangeStandingAsync(session.Connection, session.Transaction, session.CancellationToken);
        var verdict = RequestDecision.Decide(new RequestAsk(caller.OrganisationId, ordered, ask.Purpose, ask.Fields), alliances, standing, now);

        var id = Guid.CreateVersion7(now).ToString("D");
        var codes = verdict.Rejections.Select(r => Codes.Of(r.Code)).Distinct().ToList();
        var detail = new Dictionary<string, string>
        {
            ["datasets"] = string.Join(' ', ask.DatasetIds),
            ["purpose"] = ask.Purpose,
            ["fields"] = string.Join(' ', ask.Fields),
            ["subjects"] = ask.SubjectIds.Count.ToString(CultureInfo.InvariantCulture),
            ["rules_version"] = RequestDecision.RulesVersion.ToString(CultureInfo.InvariantCulture),
        };
        if (verdict.Alliance is { } alliance)
        {
            detail["alliance_id"] = alliance.AllianceId;
            detail["alliance_version"] = alliance.Version.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            detail["rejections"] = string.Join(' ', codes);
        }

        var entry = await audit.RecordAsync(session, caller, verdict.Approved ? "request.approved" : "request.rejected", $"request/{id}",
            verdict.Approved ? $"approved under alliance {verdict.Alliance!.AllianceId}" : string.Join("; ", verdict.Rejections.Select(r => r.Message)), detail);
        var request = new DataRequest(
            id, caller.OrganisationId, ask.DatasetIds, ask.Purpose, ask.Fields, ask.SubjectIds.Count, ask.OccurAfter, ask.OccurBefore,
            verdict.Approved ? DataRequestState.Approved : DataRequestState.Rejected, verdict.Rejections, verdict.Alliance?.AllianceId,
            verdict.Alliance?.Version ?? 0, RequestDecision.RulesVersion, verdict.Alliance?.IdentifiedData ?? false, now, entry.Sequence);
        await requests.InsertAsync(session, request);
        if (verdict.Approved && subjects.Count > 0)
        {
            // The subject ids were checked distinct, so each dataset's blind indexes of them are too.
            await requests.InsertSubjectsAsync(session, id, subjects);
        }

        await ExchangeEvents.EnqueueAsync(session, new DataRequestDecided
        {
            DataRequestId = id,
            InstitutionId = caller.OrganisationId,
            Purpose = ask.Purpose,
            DatasetIds = ask.DatasetIds,
            Approved = verdict.Approved,
            AllianceId = verdict.Alliance?.AllianceId,
            RejectionCodes = codes,
            DecidedAt = now,
        }, now, 1);
        return request;
    }

    /// <summary>One request, for its institution, the regulator, or an owner of one of its datasets.</summary>
    public async Task<DataRequest> GetAsync(Caller caller, string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var request = await requests.GetAsync(connection, id, null, cancellationToken) ?? throw new NotFoundException("data request", id);
        if (caller.IsRegulator || request.InstitutionId == caller.OrganisationId)
        {
            return request;
        }

        if (caller.IsPlatform && (await datasets.GetManyAsync(connection, request.DatasetIds, null, cancellationToken)).Any(d => d.OwnerId == caller.OrganisationId))
        {
            return request;
        }

        throw new PermissionDeniedException("A request is read by its institution, the regulator and the owners of its datasets.", $"request/{id}");
    }

    /// <summary>An institution lists its own; the regulator any institution's, or all.</summary>
    public async Task<IReadOnlyList<DataRequest>> ListAsync(
        Caller caller, string? institutionId, DataRequestState? state, string? beforeId, int limit, CancellationToken cancellationToken)
    {
        if (!caller.IsRegulator)
        {
            if (!caller.IsInstitution || (institutionId is not null && institutionId != caller.OrganisationId))
            {
                throw new PermissionDeniedException("An institution lists its own requests; the regulator lists any.", "requests");
            }

            institutionId = caller.OrganisationId;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        return await requests.ListAsync(connection, institutionId, state, beforeId, limit, cancellationToken);
    }

    private static void RequireInstitution(Caller caller)
    {
        if (!caller.IsInstitution)
        {
            throw new PermissionDeniedException("Only institutions request data.", "requests");
        }
    }
}

/// <summary>The rejection codes' names as the API and the events write them.</summary>
internal static class Codes
{
    public static string Of(RejectionCode code) => code switch
    {
        RejectionCode.NoActiveAlliance => "NO_ACTIVE_ALLIANCE",
        RejectionCode.PurposeNotCovered => "PURPOSE_NOT_COVERED",
        RejectionCode.CategoryNotCovered => "CATEGORY_NOT_COVERED",
        RejectionCode.FieldNotCovered => "FIELD_NOT_COVERED",
        RejectionCode.ExchangeFrozen => "EXCHANGE_FROZEN",
        RejectionCode.DatasetRetired => "DATASET_RETIRED",
        RejectionCode.UnknownField => "UNKNOWN_FIELD",
        _ => code.ToString(),
    };
}
