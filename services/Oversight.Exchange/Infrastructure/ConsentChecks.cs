using Grpc.Core;
using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Errors;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.Infrastructure;

/// <summary>
/// Consent's batch check on the delivery path, as the Exchange service, within the configured
/// deadline. Anything but a complete answer — no answer in time, an error, an answer that does not
/// match the question — is <see cref="UnavailableException"/>: the caller fails closed.
/// </summary>
public sealed class ConsentChecks(ConsentConnection consent, IOptions<ExchangeOptions> options)
{
    private static readonly Dictionary<int, string> ReasonNames =
        Consent.V1.ConsentReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("DenyReason").Values.ToDictionary(v => v.Number, v => v.Name);

    public async Task<IReadOnlyDictionary<string, SubjectDecision>> CheckAsync(
        string deliveryId, string controllerId, string recipientId, string purpose, string category, IReadOnlyCollection<string> subjectIds,
        CancellationToken cancellationToken)
    {
        // The delivery's id: its own earlier pages are not other uses of a consent with a frequency limit.
        var request = new Consent.V1.BatchCheckConsentRequest
        {
            DeliveryId = deliveryId, ControllerId = controllerId, RecipientId = recipientId, Purpose = purpose, DataCategories = { category },
        };
        request.SubjectIds.AddRange(subjectIds);
        Consent.V1.BatchCheckConsentResponse response;
        try
        {
            response = await consent.Checks.BatchCheckConsentAsync(request, consent.Call(options.Value.Consent.CheckDeadline, cancellationToken));
        }
        catch (RpcException exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Fail closed either way; but a refusal will not pass by itself, so it is not told as "retry later".
            if (exception.StatusCode is StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.Unauthenticated or StatusCode.NotFound
                or StatusCode.FailedPrecondition or StatusCode.Unimplemented)
            {
                var detail = exception.Status.Detail.Length > 200 ? exception.Status.Detail[..200] : exception.Status.Detail;
                throw new FailedPreconditionException("CONSENT_REFUSED", "consent",
                    $"Consent refused the delivery's check ({exception.StatusCode}: {detail}); nothing more is delivered until that is put right.");
            }

            throw new UnavailableException($"Consent did not answer the check ({exception.StatusCode}); nothing more is delivered. Resume the delivery later.");
        }

        if (response.Decisions.Count != subjectIds.Count)
        {
            throw new UnavailableException("Consent's answer did not match the check; nothing more is delivered. Resume the delivery later.");
        }

        var decisions = new Dictionary<string, SubjectDecision>(StringComparer.Ordinal);
        foreach (var decision in response.Decisions)
        {
            var allowed = decision.Decision == Consent.V1.Decision.Allow;
            decisions[decision.SubjectId] = new SubjectDecision(
                decision.SubjectId, allowed, OrNull(decision.ConsentId), OrNull(decision.MandateId), decision.DataLife?.ToTimeSpan(),
                allowed ? "" : ReasonName(decision.DenyReason), decision.RecordTimeRange?.StartTime?.ToDateTimeOffset(),
                decision.RecordTimeRange?.EndTime?.ToDateTimeOffset());
        }

        if (subjectIds.Any(s => !decisions.ContainsKey(s)))
        {
            throw new UnavailableException("Consent's answer did not name every subject checked; nothing more is delivered. Resume the delivery later.");
        }

        return decisions;
    }

    /// <summary>The reason as the proto names it (<c>DENY_REASON_REVOKED</c>), which is how deliveries count withheld records.</summary>
    private static string ReasonName(Consent.V1.DenyReason reason) =>
        ReasonNames.TryGetValue((int)reason, out var name) ? name : $"DENY_REASON_{(int)reason}";


    private static string? OrNull(string value) => value.Length == 0 ? null : value;
}
