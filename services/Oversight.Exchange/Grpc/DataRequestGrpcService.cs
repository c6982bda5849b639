using Google.Protobuf.WellKnownTypes;
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

/// <summary>The DataRequestService RPCs: validate the request's shape, delegate, translate.</summary>
public sealed class DataRequestGrpcService(ExchangeDatabase database, DataRequests requests, Pseudonyms pseudonyms, TimeProvider time) : DataRequestService.DataRequestServiceBase
{
    public override async Task<CreateDataRequestResponse> CreateDataRequest(CreateDataRequestRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        var datasetIds = Distinct(violations, "dataset_ids", request.DatasetIds, 1, DataRequestRules.MaxDatasets, (field, value) => violations.Uuid(field, value));
        if (violations.Text("purpose", request.Purpose, 64) && !DatasetRules.IsFieldName(request.Purpose))
        {
            violations.Add("purpose", "must be a purpose id such as credit_assessment");
        }

        var fields = Distinct(violations, "fields", request.Fields, 1, DataRequestRules.MaxFields,
            (field, value) => DatasetRules.IsFieldName(value) ? value : Refuse(violations, field, "must be a field name such as amount"));
        var subjects = Distinct(violations, "subject_ids", request.SubjectIds, 0, DataRequestRules.MaxSubjects,
            (field, value) => violations.Text(field, value, RecordRules.MaxSubjectIdLength) ? value : null);
        var after = violations.Time("occur_after", request.OccurAfter);
        var before = violations.Time("occur_before", request.OccurBefore);
        if (after is not null && before is not null && before <= after)
        {
            violations.Add("occur_before", "must be after occur_after");
        }

        if ((long)subjects.Count * datasetIds.Count > DataRequestRules.MaxSubjectDatasetPairs)
        {
            violations.Add("subject_ids", $"subjects × datasets must be at most {DataRequestRules.MaxSubjectDatasetPairs:N0}; split the request");
        }

        violations.ThrowIfAny();
        // The body a retry is compared with: the request as sent, but its subject ids keyed, since the comparison's digest is stored.
        var fingerprinted = request.Clone();
        fingerprinted.SubjectIds.Clear();
        fingerprinted.SubjectIds.AddRange(request.SubjectIds.Select(pseudonyms.Fingerprint));
        if (await IdempotentRequests.EarlierAsync<CreateDataRequestRequest, CreateDataRequestResponse>(database, context, request.RequestId, fingerprinted) is { } earlier)
        {
            return earlier;
        }

        var ask = new RequestedData(datasetIds, request.Purpose, fields, subjects, after, before);
        var subjectRefs = await requests.PrepareAsync(context.GetCaller(), ask, context.CancellationToken);
        return await IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, fingerprinted, async (session, caller) => new CreateDataRequestResponse
        {
            DataRequest = ToProto(await requests.CreateAsync(session, caller, ask, subjectRefs)),
        });
    }

    public override async Task<GetDataRequestResponse> GetDataRequest(GetDataRequestRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var id = violations.Uuid("data_request_id", request.DataRequestId);
        violations.ThrowIfAny();
        return new GetDataRequestResponse { DataRequest = ToProto(await requests.GetAsync(context.GetCaller(), id!, context.CancellationToken)) };
    }

    public override async Task<ListDataRequestsResponse> ListDataRequests(ListDataRequestsRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var size = PageToken.Size(request.PageSize, violations);
        var before = PageToken.Decode(request.PageToken, 1, violations)?[0];
        if (request.InstitutionId.Length > 0)
        {
            violations.OrganisationId("institution_id", request.InstitutionId);
        }

        violations.Enum("state", request.State, V1.DataRequestState.Unspecified, V1.DataRequestState.Approved, V1.DataRequestState.Rejected);
        violations.ThrowIfAny();

        var state = request.State == V1.DataRequestState.Unspecified ? (Model.DataRequestState?)null : (Model.DataRequestState)(int)request.State;
        var page = await requests.ListAsync(context.GetCaller(), request.InstitutionId.Length > 0 ? request.InstitutionId : null, state,
            string.IsNullOrEmpty(before) ? null : before, size + 1, context.CancellationToken);
        var response = new ListDataRequestsResponse();
        response.DataRequests.AddRange(page.Take(size).Select(ToProto));
        response.NextPageToken = PageToken.Next(page, size, r => r.Id);
        return response;
    }

    /// <summary>A repeated field of distinct values within bounds; each value checked by <paramref name="check"/> (null when refused).</summary>
    private static List<string> Distinct(
        FieldViolations violations, string field, Google.Protobuf.Collections.RepeatedField<string> values, int min, int max, Func<string, string, string?> check)
    {
        if (values.Count < min || values.Count > max)
        {
            violations.Add(field, min == 0 ? $"must name at most {max}" : $"must name {min} to {max}");
            return [];
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<string>(values.Count);
        for (var i = 0; i < values.Count; i++)
        {
            if (check($"{field}[{i}]", values[i]) is not { } value)
            {
                continue;
            }

            if (!seen.Add(value))
            {
                violations.Add($"{field}[{i}]", "is listed twice");
                continue;
            }

            result.Add(value);
        }

        return result;
    }

    private static string? Refuse(FieldViolations violations, string field, string description)
    {
        violations.Add(field, description);
        return null;
    }

    internal static V1.DataRequest ToProto(Model.DataRequest request)
    {
        var message = new V1.DataRequest
        {
            Id = request.Id,
            InstitutionId = request.InstitutionId,
            Purpose = request.Purpose,
            SubjectCount = request.SubjectCount,
            OccurAfter = request.OccurAfter is { } after ? Timestamp.FromDateTimeOffset(after) : null,
            OccurBefore = request.OccurBefore is { } before ? Timestamp.FromDateTimeOffset(before) : null,
            State = (V1.DataRequestState)(int)request.State,
            AllianceId = request.AllianceId ?? "",
            AllianceVersion = request.AllianceVersion,
            RulesVersion = request.RulesVersion,
            DecideTime = Timestamp.FromDateTimeOffset(request.DecidedAt),
            Identified = request.Identified,
            AuditSequence = request.AuditSequence,
        };
        message.DatasetIds.AddRange(request.DatasetIds);
        message.Fields.AddRange(request.Fields);
        message.Rejections.AddRange(request.Rejections.Select(r => new V1.Rejection { Code = (V1.RejectionCode)(int)r.Code, Subject = r.Subject, Message = r.Message }));
        return message;
    }
}
