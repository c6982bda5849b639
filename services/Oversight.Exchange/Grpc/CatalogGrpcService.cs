using Grpc.Core;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Exchange.Application;
using Oversight.Exchange.Infrastructure;
using Oversight.Exchange.Model;
using Oversight.Exchange.V1;

namespace Oversight.Exchange.Grpc;

/// <summary>The CatalogService RPCs: validate the request's shape, delegate, translate.</summary>
public sealed class CatalogGrpcService(ExchangeDatabase database, DatasetRepository datasets, Catalog catalog, TimeProvider time)
    : CatalogService.CatalogServiceBase
{
    public override async Task<PublishDatasetResponse> PublishDataset(PublishDatasetRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        violations.ThrowIfAny();
        if (await IdempotentRequests.EarlierAsync<PublishDatasetRequest, PublishDatasetResponse>(database, context, request.RequestId, request) is { } earlier)
        {
            return earlier;
        }

        var fields = request.Fields.Select(CatalogMapping.ToModel).ToList();
        await catalog.ValidatePublishAsync(context.GetCaller(), request.Name, request.DataCategory, fields, request.Description, context.CancellationToken);

        return await IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) => new PublishDatasetResponse
        {
            Dataset = CatalogMapping.ToProto(await catalog.PublishAsync(session, caller, request.Name, request.DataCategory, fields, request.Description)),
        });
    }

    public override Task<RetireDatasetResponse> RetireDataset(RetireDatasetRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "dataset_id", request.DatasetId, null);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) => new RetireDatasetResponse
        {
            Dataset = CatalogMapping.ToProto(await catalog.RetireAsync(session, caller, id)),
        });
    }

    public override async Task<GetDatasetResponse> GetDataset(GetDatasetRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var id = violations.Uuid("dataset_id", request.DatasetId);
        violations.ThrowIfAny();

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var dataset = await datasets.GetAsync(connection, id!, null, context.CancellationToken) ?? throw new NotFoundException("dataset", id!);
        return new GetDatasetResponse { Dataset = CatalogMapping.ToProto(dataset) };
    }

    public override async Task<ListDatasetsResponse> ListDatasets(ListDatasetsRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var size = PageToken.Size(request.PageSize, violations);
        var after = PageToken.Decode(request.PageToken, 2, violations) is [var name, var id] ? (name, id) : ("", "");
        if (request.OwnerId.Length > 0)
        {
            violations.OrganisationId("owner_id", request.OwnerId);
        }

        DatasetRules.CategoryShape("data_category", request.DataCategory, violations, required: false);
        violations.Text("query", request.Query, DatasetRules.MaxQueryLength, required: false);
        violations.ThrowIfAny();

        var filter = new DatasetFilter(OrNull(request.OwnerId), OrNull(request.DataCategory), OrNull(request.Query), request.IncludeRetired);
        await using var connection = await database.OpenAsync(context.CancellationToken);
        var page = await datasets.ListAsync(connection, filter, after, size + 1, context.CancellationToken);
        var response = new ListDatasetsResponse();
        response.Datasets.AddRange(page.Take(size).Select(CatalogMapping.ToProto));
        response.NextPageToken = page.Count > size ? PageToken.Encode(page[size - 1].Name, page[size - 1].Id) : "";
        return response;
    }

    private static string? OrNull(string value) => value.Length == 0 ? null : value;
}
