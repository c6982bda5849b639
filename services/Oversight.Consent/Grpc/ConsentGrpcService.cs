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

/// <summary>The ConsentService RPCs: validate the request's shape, check who may ask, delegate.</summary>
public sealed class ConsentGrpcService(
    ConsentDatabase database,
    ConsentRepository repository,
    ConsentRegister register,
    ConsentChecker checker,
    TimeProvider time) : ConsentService.ConsentServiceBase
{
    public override Task<GrantConsentResponse> GrantConsent(GrantConsentRequest request, ServerCallContext context)
    {
        var caller = context.GetCaller();
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        ConsentMapping.SubjectId(violations, "subject_id", request.SubjectId);
        var terms = ConsentMapping.ToTerms(request.Terms, time.UtcNowToMillisecond(), violations);
        violations.ThrowIfAny();

        return Idempotent(caller, request.RequestId, request, context, async session =>
        {
            var write = await register.GrantAsync(session, caller, request.SubjectId, terms!);
            return new GrantConsentResponse
            {
                Consent = ConsentMapping.ToProto(write.Artefact, time.GetUtcNow()),
                ReceiptJws = write.Artefact.ReceiptJws,
                ConsistencyToken = ConsistencyToken.Format(write.Sequence),
            };
        });
    }

    public override Task<AmendConsentResponse> AmendConsent(AmendConsentRequest request, ServerCallContext context)
    {
        var caller = context.GetCaller();
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        var consentId = violations.Uuid("consent_id", request.ConsentId);
        var terms = ConsentMapping.ToTerms(request.Terms, time.UtcNowToMillisecond(), violations);
        violations.ThrowIfAny();

        return Idempotent(caller, request.RequestId, request, context, async session =>
        {
            var write = await register.AmendAsync(session, caller, consentId!, terms!);
            return new AmendConsentResponse
            {
                Consent = ConsentMapping.ToProto(write.Artefact, time.GetUtcNow()),
                ReceiptJws = write.Artefact.ReceiptJws,
                ConsistencyToken = ConsistencyToken.Format(write.Sequence),
            };
        });
    }

    public override Task<PauseConsentResponse> PauseConsent(PauseConsentRequest request, ServerCallContext context)
    {
        var caller = context.GetCaller();
        var consentId = IdempotentRequests.ValidateChange(request.RequestId, "consent_id", request.ConsentId, request.Reason);
        return Idempotent(caller, request.RequestId, request, context, async session =>
        {
            var write = await register.PauseAsync(session, caller, consentId, NullIfEmpty(request.Reason));
            return new PauseConsentResponse { Consent = ConsentMapping.ToProto(write.Artefact, time.GetUtcNow()), ConsistencyToken = ConsistencyToken.Format(write.Sequence) };
        });
    }

    public override Task<ResumeConsentResponse> ResumeConsent(ResumeConsentRequest request, ServerCallContext context)
    {
        var caller = context.GetCaller();
        var consentId = IdempotentRequests.ValidateChange(request.RequestId, "consent_id", request.ConsentId, null);
        return Idempotent(caller, request.RequestId, request, context, async session =>
        {
            var write = await register.ResumeAsync(session, caller, consentId);
            return new ResumeConsentResponse { Consent = ConsentMapping.ToProto(write.Artefact, time.GetUtcNow()), ConsistencyToken = ConsistencyToken.Format(write.Sequence) };
        });
    }

    public override Task<RevokeConsentResponse> RevokeConsent(RevokeConsentRequest request, ServerCallContext context)
    {
        var caller = context.GetCaller();
        var consentId = IdempotentRequests.ValidateChange(request.RequestId, "consent_id", request.ConsentId, request.Reason);
        return Idempotent(caller, request.RequestId, request, context, async session =>
        {
            var write = await register.RevokeAsync(session, caller, consentId, NullIfEmpty(request.Reason));
            return new RevokeConsentResponse { Consent = ConsentMapping.ToProto(write.Artefact, time.GetUtcNow()), ConsistencyToken = ConsistencyToken.Format(write.Sequence) };
        });
    }

    public override async Task<GetConsentResponse> GetConsent(GetConsentRequest request, ServerCallContext context)
    {
        var artefact = await ReadableAsync(context, request.ConsentId);
        return new GetConsentResponse { Consent = ConsentMapping.ToProto(artefact, time.GetUtcNow()) };
    }

    public override async Task<GetConsentReceiptResponse> GetConsentReceipt(GetConsentReceiptRequest request, ServerCallContext context)
    {
        var artefact = await ReadableAsync(context, request.ConsentId);
        return new GetConsentReceiptResponse { ReceiptJws = artefact.ReceiptJws, KeyId = artefact.ReceiptKeyId };
    }

    public override async Task<ListConsentEventsResponse> ListConsentEvents(ListConsentEventsRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var size = PageToken.Size(request.PageSize, violations);
        var after = PageToken.DecodeSequence(request.PageToken, violations) ?? 0;

        violations.ThrowIfAny();

        var artefact = await ReadableAsync(context, request.ConsentId);
        await using var connection = await database.OpenAsync(context.CancellationToken);
        var changes = await repository.ListChangesAsync(connection, artefact.Id, after, size + 1, context.CancellationToken);
        var response = new ListConsentEventsResponse();
        response.Events.AddRange(changes.Take(size).Select(c => new ConsentEvent
        {
            State = (V1.ConsentState)c.Status,
            Reason = c.Reason ?? "",
            ActorId = c.ActorId,
            EventTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(c.ChangedAt),
            Version = c.Version,
        }));
        response.NextPageToken = PageToken.Next(changes, size, c => c.Sequence);

        return response;
    }

    public override async Task<ListConsentsResponse> ListConsents(ListConsentsRequest request, ServerCallContext context)
    {
        var caller = context.GetCaller();
        var violations = new FieldViolations();
        var bySubject = !string.IsNullOrEmpty(request.SubjectId);
        var byController = !string.IsNullOrEmpty(request.ControllerId);
        if (bySubject == byController)
        {
            violations.Add("subject_id", "exactly one of subject_id and controller_id must be set");
        }
        else if (bySubject)
        {
            ConsentMapping.SubjectId(violations, "subject_id", request.SubjectId);
        }
        else
        {
            violations.OrganisationId("controller_id", request.ControllerId);
        }

        var size = PageToken.Size(request.PageSize, violations);
        (long, string)? after = null;
        if (PageToken.Decode(request.PageToken, 2, violations) is { } parts)
        {
            if (long.TryParse(parts[0], out var created))
            {
                after = (created, parts[1]);
            }
            else
            {
                violations.Add("page_token", "is not a page token this service issued");
            }
        }

        violations.ThrowIfAny();

        // A platform sees only what it controls; the regulator sees everything.
        string? controllerFilter;
        if (caller.IsRegulator)
        {
            controllerFilter = byController ? request.ControllerId : null;
        }
        else if (caller.IsPlatform && (bySubject || request.ControllerId == caller.OrganisationId))
        {
            controllerFilter = caller.OrganisationId;
        }
        else
        {
            throw new PermissionDeniedException(
                "Consents are listed only by the platform that controls them or by the regulator.",
                bySubject ? "subject" : $"controller/{request.ControllerId}");
        }

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var page = await repository.ListAsync(connection, bySubject ? request.SubjectId : null, controllerFilter, after, size + 1, context.CancellationToken);
        var now = time.GetUtcNow();
        var response = new ListConsentsResponse();
        response.Consents.AddRange(page.Take(size).Select(a => ConsentMapping.ToProto(a, now)));
        if (page.Count > size)
        {
            var last = page[size - 1];
            response.NextPageToken = PageToken.Encode(
                last.CreatedAt.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture), last.Id);
        }

        return response;
    }

    public override async Task<CheckConsentResponse> CheckConsent(CheckConsentRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        ConsentMapping.SubjectId(violations, "subject_id", request.SubjectId);
        violations.OrganisationId("controller_id", request.ControllerId);
        violations.OrganisationId("recipient_id", request.RecipientId);
        violations.Text("purpose", request.Purpose, 64);
        violations.Text("data_category", request.DataCategory, 128);
        var recordTime = violations.Time("record_time", request.RecordTime);
        var minimum = Token(request.ConsistencyToken, violations);
        violations.ThrowIfAny();

        ConsentChecker.Authorise(context.GetCaller(), request.ControllerId, request.RecipientId);
        await checker.ValidateVocabularyAsync(request.Purpose, [request.DataCategory], "purpose", _ => "data_category", context.CancellationToken);

        var (result, sequence) = await checker.CheckOneAsync(
            request.SubjectId, request.DataCategory,
            new CheckQuery(request.ControllerId, request.RecipientId, request.Purpose, [request.SubjectId], [request.DataCategory], recordTime, minimum),
            context.CancellationToken);
        return new CheckConsentResponse { Decision = ConsentMapping.ToProto(result), ConsistencyToken = ConsistencyToken.Format(sequence) };
    }

    public override async Task<BatchCheckConsentResponse> BatchCheckConsent(BatchCheckConsentRequest request, ServerCallContext context)
    {
        var limits = checker.Limits;
        var violations = new FieldViolations();
        violations.OrganisationId("controller_id", request.ControllerId);
        violations.OrganisationId("recipient_id", request.RecipientId);
        violations.Text("purpose", request.Purpose, 64);
        DistinctList(violations, "subject_ids", request.SubjectIds, limits.MaxBatchSubjects, ConsentMapping.MaxSubjectIdLength);
        DistinctList(violations, "data_categories", request.DataCategories, limits.MaxBatchCategories, 128);
        if ((long)request.SubjectIds.Count * request.DataCategories.Count > limits.MaxBatchDecisions)
        {
            violations.Add("subject_ids", $"subjects × categories must be at most {limits.MaxBatchDecisions} decisions per call; split the batch");
        }

        var recordTime = violations.Time("record_time", request.RecordTime);
        var minimum = Token(request.ConsistencyToken, violations);
        var deliveryId = request.DeliveryId.Length == 0 ? null : violations.Uuid("delivery_id", request.DeliveryId);
        violations.ThrowIfAny();

        ConsentChecker.Authorise(context.GetCaller(), request.ControllerId, request.RecipientId);
        await checker.ValidateVocabularyAsync(request.Purpose, request.DataCategories, "purpose", i => $"data_categories[{i}]", context.CancellationToken);

        var (results, sequence) = await checker.CheckManyAsync(
            new CheckQuery(request.ControllerId, request.RecipientId, request.Purpose, request.SubjectIds, request.DataCategories, recordTime, minimum, deliveryId),
            context.CancellationToken);
        var response = new BatchCheckConsentResponse { ConsistencyToken = ConsistencyToken.Format(sequence) };
        response.Decisions.AddRange(results.Select(ConsentMapping.ToProto));
        return response;
    }

    private Task<TResponse> Idempotent<TRequest, TResponse>(
        Caller caller, string requestId, TRequest request, ServerCallContext context, Func<DbSession, Task<TResponse>> write)
        where TRequest : Google.Protobuf.IMessage<TRequest>
        where TResponse : Google.Protobuf.IMessage<TResponse>, new() =>
        IdempotentRequests.ExecuteAsync(database, context, time, requestId, request, (session, _) => write(session));

    /// <summary>Loads an artefact the caller may read: its controller, its recipient or the regulator.</summary>
    private async Task<ConsentArtefact> ReadableAsync(ServerCallContext context, string consentId)
    {
        var violations = new FieldViolations();
        var id = violations.Uuid("consent_id", consentId);
        violations.ThrowIfAny();

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var artefact = await repository.GetAsync(connection, id!, cancellationToken: context.CancellationToken)
            ?? throw new NotFoundException("consent", id!);
        var caller = context.GetCaller();
        if (caller.OrganisationId != artefact.ControllerId && caller.OrganisationId != artefact.Terms.RecipientId && !caller.IsRegulator)
        {
            throw new PermissionDeniedException("Only the consent's controller, its recipient or the regulator may read it.", $"consent/{id}");
        }

        return artefact;
    }

    private static long Token(string token, FieldViolations violations)
    {
        if (!ConsistencyToken.TryParse(token, out var sequence))
        {
            violations.Add("consistency_token", "is not a consistency token this service issued");
        }

        return sequence;
    }

    private static void DistinctList(FieldViolations violations, string field, Google.Protobuf.Collections.RepeatedField<string> values, int max, int maxLength)
    {
        if (values.Count == 0)
        {
            violations.Add(field, "must name at least one");
            return;
        }

        if (values.Count > max)
        {
            violations.Add(field, $"must name at most {max}");
            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < values.Count; i++)
        {
            if (violations.Text($"{field}[{i}]", values[i], maxLength) && !seen.Add(values[i]))
            {
                violations.Add($"{field}[{i}]", $"'{values[i]}' is listed twice");
            }
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
