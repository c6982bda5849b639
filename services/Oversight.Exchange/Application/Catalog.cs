using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Exchange.Infrastructure;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.Application;

/// <summary>
/// The catalog: platforms publish and retire their own datasets. A dataset's category must be one of
/// Consent's taxonomy, read from Consent, so a request can be decided against the alliances' scopes.
/// </summary>
public sealed class Catalog(DatasetRepository datasets, ConsentVocabulary vocabulary, ExchangeAudit audit, TimeProvider time)
{
    /// <summary>The checks that need no transaction (Consent's taxonomy is read over gRPC); run before <see cref="PublishAsync"/>.</summary>
    public async Task ValidatePublishAsync(Caller caller, string name, string dataCategory, IReadOnlyList<DatasetField> fields, string description, CancellationToken cancellationToken)
    {
        RequirePlatform(caller);
        var violations = new FieldViolations();
        DatasetRules.ValidatePublish(name, dataCategory, fields, description, violations);
        if (!violations.Has("data_category") && !await vocabulary.IsCategoryAsync(dataCategory, cancellationToken))
        {
            violations.Add("data_category", $"'{dataCategory}' is not a category of Consent's taxonomy (ConsentRegistryService.ListDataCategories lists them)");
        }

        violations.ThrowIfAny();
    }

    public async Task<Dataset> PublishAsync(DbSession session, Caller caller, string name, string dataCategory, IReadOnlyList<DatasetField> fields, string description)
    {
        RequirePlatform(caller);
        var now = time.UtcNowToMillisecond();
        var dataset = new Dataset(Guid.CreateVersion7(now).ToString("D"), caller.OrganisationId, name, dataCategory, fields, description,
            DatasetState.Published, now, null, 0, 1);
        await datasets.InsertAsync(session, dataset);
        await audit.RecordAsync(session, caller, "dataset.published", $"dataset/{dataset.Id}", $"{name} ({dataCategory}, {fields.Count} fields)",
            new Dictionary<string, string> { ["data_category"] = dataCategory, ["fields"] = string.Join(' ', fields.Select(f => f.Name)) });
        return dataset;
    }

    public async Task<Dataset> RetireAsync(DbSession session, Caller caller, string datasetId)
    {
        var dataset = await datasets.GetAsync(session.Connection, datasetId, session.Transaction, session.CancellationToken)
            ?? throw new NotFoundException("dataset", datasetId);
        if (dataset.OwnerId != caller.OrganisationId)
        {
            throw new PermissionDeniedException("Only the dataset's owner retires it.", $"dataset/{datasetId}");
        }

        if (dataset.State == DatasetState.Retired)
        {
            throw new FailedPreconditionException("STATE", $"dataset/{datasetId}", $"Dataset '{datasetId}' is already retired.");
        }

        var now = time.UtcNowToMillisecond();
        if (!await datasets.RetireAsync(session, dataset, now))
        {
            throw new AbortedException($"Dataset '{datasetId}' changed while it was being retired; read it again.");
        }

        await audit.RecordAsync(session, caller, "dataset.retired", $"dataset/{datasetId}", "no new requests");
        return dataset with { State = DatasetState.Retired, RetiredAt = now, Version = dataset.Version + 1 };
    }

    private static void RequirePlatform(Caller caller)
    {
        if (!caller.IsPlatform)
        {
            throw new PermissionDeniedException("Only platforms publish datasets.", "datasets");
        }
    }
}
