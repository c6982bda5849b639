using Grpc.Core;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.Consent.Application;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.V1;

namespace Oversight.Consent.Grpc;

/// <summary>The vocabularies: purposes, the taxonomy and the statutory mandates in force. Any authenticated caller may read them.</summary>
public sealed class RegistryGrpcService(ConsentDatabase database, ConsentRepository repository, ConsentRegistry registry)
    : ConsentRegistryService.ConsentRegistryServiceBase
{
    public override async Task<ListPurposesResponse> ListPurposes(ListPurposesRequest request, ServerCallContext context)
    {
        var (size, after) = Page(request.PageSize, request.PageToken);
        var snapshot = await registry.GetAsync(context.CancellationToken);
        var page = snapshot.Purposes.Values.OrderBy(p => p.Id, StringComparer.Ordinal)
            .Where(p => after is null || string.CompareOrdinal(p.Id, after) > 0).Take(size + 1).ToList();
        var response = new ListPurposesResponse();
        response.Purposes.AddRange(page.Take(size).Select(p => new V1.Purpose { Id = p.Id, DisplayName = p.DisplayName, Description = p.Description }));
        response.NextPageToken = PageToken.Next(page, size, p => p.Id);
        return response;
    }

    public override async Task<ListDataCategoriesResponse> ListDataCategories(ListDataCategoriesRequest request, ServerCallContext context)
    {
        var (size, after) = Page(request.PageSize, request.PageToken);
        var snapshot = await registry.GetAsync(context.CancellationToken);
        var page = snapshot.Taxonomy.All.OrderBy(c => c.Id, StringComparer.Ordinal)
            .Where(c => after is null || string.CompareOrdinal(c.Id, after) > 0).Take(size + 1).ToList();
        var response = new ListDataCategoriesResponse();
        response.DataCategories.AddRange(page.Take(size).Select(c => new V1.DataCategory
        {
            Id = c.Id,
            ParentId = c.ParentId ?? "",
            DisplayName = c.DisplayName,
            Sensitive = c.Sensitive,
            Description = c.Description,
        }));
        response.NextPageToken = PageToken.Next(page, size, p => p.Id);
        return response;
    }

    public override async Task<ListStatutoryMandatesResponse> ListStatutoryMandates(ListStatutoryMandatesRequest request, ServerCallContext context)
    {
        var (size, after) = Page(request.PageSize, request.PageToken);
        await using var connection = await database.OpenAsync(context.CancellationToken);
        var page = await repository.ListMandatesAsync(connection, after, size + 1, context.CancellationToken);
        var response = new ListStatutoryMandatesResponse();
        response.Mandates.AddRange(page.Take(size).Select(m => new V1.StatutoryMandate
        {
            Id = m.Id,
            LegalReference = m.LegalReference,
            RecipientId = m.RecipientId,
            Purposes = { m.Purposes },
            DataCategories = { m.DataCategories },
            ValidFrom = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(m.ValidFrom),
            ValidUntil = m.ValidUntil is { } until ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(until) : null,
            RepealTime = m.RepealedAt is { } repealed ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(repealed) : null,
        }));
        response.NextPageToken = PageToken.Next(page, size, p => p.Id);
        return response;
    }

    private static (int Size, string? After) Page(int pageSize, string pageToken)
    {
        var violations = new FieldViolations();
        var size = PageToken.Size(pageSize, violations);
        var after = PageToken.Decode(pageToken, 1, violations)?[0];
        violations.ThrowIfAny();
        return (size, after);
    }
}
