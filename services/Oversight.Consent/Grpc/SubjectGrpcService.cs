using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Consent.Application;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.Model;
using Oversight.Consent.V1;

namespace Oversight.Consent.Grpc;

/// <summary>The subject's view through their platform: the disclosure log and erasure.</summary>
public sealed class SubjectGrpcService(
    ConsentDatabase database,
    ConsentRepository repository,
    ConsentRegister register,
    TimeProvider time) : SubjectService.SubjectServiceBase
{
    public override async Task<ListDisclosuresResponse> ListDisclosures(ListDisclosuresRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        ConsentMapping.SubjectId(violations, "subject_id", request.SubjectId);
        var size = PageToken.Size(request.PageSize, violations);
        (long, string)? after = null;
        if (PageToken.Decode(request.PageToken, 2, violations) is { } parts)
        {
            if (long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var at))
            {
                after = (at, parts[1]);
            }
            else
            {
                violations.Add("page_token", "is not a page token this service issued");
            }
        }

        violations.ThrowIfAny();

        var caller = context.GetCaller();
        if (!caller.IsPlatform && !caller.IsRegulator)
        {
            throw new PermissionDeniedException("A subject's disclosures are read through their platform or by the regulator.", "subject");
        }

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var page = await repository.ListDisclosuresAsync(
            connection, request.SubjectId, caller.IsRegulator ? null : caller.OrganisationId, after, size + 1, context.CancellationToken);
        var response = new ListDisclosuresResponse();
        response.Disclosures.AddRange(page.Take(size).Select(d => new V1.Disclosure
        {
            DeliveryId = d.DeliveryId,
            SubjectId = d.SubjectId,
            ControllerId = d.ControllerId,
            RecipientId = d.RecipientId,
            Purpose = d.Purpose,
            DataCategories = { d.DataCategories },
            ConsentId = d.ConsentId ?? "",
            MandateId = d.MandateId ?? "",
            DiscloseTime = Timestamp.FromDateTimeOffset(d.DisclosedAt),
            AuditSequence = d.AuditSequence ?? 0,
            HasAuditEntry = d.AuditSequence is not null,
        }));
        if (page.Count > size)
        {
            var last = page[size - 1];
            response.NextPageToken = PageToken.Encode(last.DisclosedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), last.DeliveryId);
        }

        return response;
    }

    public override Task<RequestErasureResponse> RequestErasure(RequestErasureRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        ConsentMapping.SubjectId(violations, "subject_id", request.SubjectId);
        violations.ThrowIfAny();

        var caller = context.GetCaller();
        return IdempotentRequests.ExecuteAsync(database, caller.OrganisationId, request.RequestId, request, time.GetUtcNow().ToUnixTimeMilliseconds(),
            async session =>
            {
                var (erasure, sequence) = await register.RequestErasureAsync(session, caller, request.SubjectId);
                if (sequence == 0)
                {
                    sequence = await repository.LatestSequenceAsync(session.Connection, session.Transaction, session.CancellationToken);
                }

                return new RequestErasureResponse { ErasureRequest = ToProto(erasure), ConsistencyToken = ConsistencyToken.Format(sequence) };
            },
            context.CancellationToken);
    }

    public override async Task<GetErasureRequestResponse> GetErasureRequest(GetErasureRequestRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var id = violations.Uuid("erasure_request_id", request.ErasureRequestId);
        violations.ThrowIfAny();

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var erasure = await repository.ErasureAsync(connection, id!, null, context.CancellationToken)
            ?? throw new NotFoundException("erasure request", id!);
        var caller = context.GetCaller();
        if (erasure.ControllerId != caller.OrganisationId && !caller.IsRegulator)
        {
            throw new PermissionDeniedException("Only the platform that made the erasure request or the regulator may read it.", $"erasure/{id}");
        }

        return new GetErasureRequestResponse { ErasureRequest = ToProto(erasure) };
    }

    private static V1.ErasureRequest ToProto(Model.ErasureRequest erasure) => new()
    {
        Id = erasure.Id,
        SubjectId = erasure.SubjectId,
        ControllerId = erasure.ControllerId,
        State = erasure.Completed ? ErasureState.Completed : ErasureState.Requested,
        CreateTime = Timestamp.FromDateTimeOffset(erasure.CreatedAt),
        CompleteTime = erasure.CompletedAt is { } done ? Timestamp.FromDateTimeOffset(done) : null,
        ErasedRecordCount = erasure.ErasedRecordCount,
        RevokedConsentCount = erasure.RevokedConsentCount,
    };
}
