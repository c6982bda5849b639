using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts.Governance;
using Oversight.Governance.Application;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.Model;
using Oversight.Governance.V1;

namespace Oversight.Governance.Grpc;

/// <summary>The OrganisationService RPCs: validate the request's shape, delegate, translate.</summary>
public sealed class OrganisationGrpcService(
    GovernanceDatabase database,
    OrganisationRepository repository,
    OrganisationRegistry registry,
    TimeProvider time) : OrganisationService.OrganisationServiceBase
{
    private static readonly Dictionary<OrganisationKind, string> KindNames = new()
    {
        [OrganisationKind.Platform] = OrganisationKinds.Platform,
        [OrganisationKind.Institution] = OrganisationKinds.Institution,
        [OrganisationKind.Regulator] = OrganisationKinds.Regulator,
        [OrganisationKind.StateInvestor] = OrganisationKinds.StateInvestor,
        [OrganisationKind.Operator] = OrganisationKinds.Operator,
    };

    public override Task<RegisterOrganisationResponse> RegisterOrganisation(RegisterOrganisationRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        violations.OrganisationId("organisation_id", request.OrganisationId);
        violations.Enum("kind", request.Kind, [.. KindNames.Keys]);
        OrganisationRules.ValidateDetails(request.OrganisationId, request.Name, request.Jurisdiction, request.Affiliations, violations);
        violations.ThrowIfAny();

        var caller = context.GetCaller();
        return IdempotentRequests.ExecuteAsync(database, caller.OrganisationId, request.RequestId, request, time.GetUtcNow().ToUnixTimeMilliseconds(),
            async session =>
            {
                var organisation = await registry.RegisterAsync(
                    session, caller, request.OrganisationId, KindNames[request.Kind], request.Name, request.Jurisdiction, [.. request.Affiliations]);
                return new RegisterOrganisationResponse { Organisation = ToProto(organisation) };
            },
            context.CancellationToken);
    }

    public override Task<UpdateOrganisationResponse> UpdateOrganisation(UpdateOrganisationRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        violations.OrganisationId("organisation_id", request.OrganisationId);
        if (request.ExpectedVersion < 0)
        {
            violations.Add("expected_version", "must not be negative");
        }

        OrganisationRules.ValidateDetails(request.OrganisationId, request.Name, request.Jurisdiction, request.Affiliations, violations);
        violations.ThrowIfAny();

        var caller = context.GetCaller();
        return IdempotentRequests.ExecuteAsync(database, caller.OrganisationId, request.RequestId, request, time.GetUtcNow().ToUnixTimeMilliseconds(),
            async session =>
            {
                var organisation = await registry.UpdateAsync(
                    session, caller, request.OrganisationId, request.ExpectedVersion, request.Name, request.Jurisdiction, [.. request.Affiliations]);
                return new UpdateOrganisationResponse { Organisation = ToProto(organisation) };
            },
            context.CancellationToken);
    }

    public override async Task<GetOrganisationResponse> GetOrganisation(GetOrganisationRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        violations.OrganisationId("organisation_id", request.OrganisationId);
        violations.ThrowIfAny();

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var organisation = await repository.GetAsync(connection, request.OrganisationId, null, context.CancellationToken)
            ?? throw new NotFoundException("organisation", request.OrganisationId);
        return new GetOrganisationResponse { Organisation = ToProto(organisation) };
    }

    public override async Task<ListOrganisationsResponse> ListOrganisations(ListOrganisationsRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var size = PageToken.Size(request.PageSize, violations);
        var after = PageToken.Decode(request.PageToken, 1, violations)?[0] ?? "";
        if (request.Kind != OrganisationKind.Unspecified)
        {
            violations.Enum("kind", request.Kind, [.. KindNames.Keys]);
        }

        violations.ThrowIfAny();

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var kind = request.Kind == OrganisationKind.Unspecified ? null : KindNames[request.Kind];
        var page = await repository.ListAsync(connection, kind, after, size + 1, null, context.CancellationToken);
        var response = new ListOrganisationsResponse();
        response.Organisations.AddRange(page.Take(size).Select(ToProto));
        response.NextPageToken = PageToken.Next(page, size, p => p.Id);
        return response;
    }

    private static V1.Organisation ToProto(Model.Organisation organisation) => new()
    {
        Id = organisation.Id,
        Kind = KindNames.Single(k => k.Value == organisation.Kind).Key,
        Name = organisation.Name,
        Jurisdiction = organisation.Jurisdiction,
        Affiliations = { organisation.Affiliations },
        CreateTime = Timestamp.FromDateTimeOffset(organisation.CreatedAt),
        UpdateTime = Timestamp.FromDateTimeOffset(organisation.UpdatedAt),
        Version = organisation.Version,
    };
}
