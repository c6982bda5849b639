using System.Globalization;
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

/// <summary>
/// The DeliveryService RPCs. A fetch writes each page as it is recorded and waits for the transport
/// to take it before the next is read, so a slow reader holds the server back (HTTP/2 flow control)
/// instead of making it buffer the dataset.
/// </summary>
public sealed class DeliveryGrpcService(ExchangeDatabase database, Deliveries deliveries, DeliveryAccounts accounts, TimeProvider time)
    : DeliveryService.DeliveryServiceBase
{
    public override async Task FetchDelivery(FetchDeliveryRequest request, IServerStreamWriter<FetchDeliveryResponse> responseStream, ServerCallContext context)
    {
        var violations = new FieldViolations();
        string? requestId = null;
        (string, long)? resume = null;
        if (request.ResumeToken.Length > 0)
        {
            if (request.DataRequestId.Length > 0)
            {
                violations.Add("data_request_id", "must be empty when resume_token is given (the token names the delivery)");
            }

            if (PageToken.Decode(request.ResumeToken, 2, violations, "resume_token") is [var deliveryId, var page])
            {
                if (Guid.TryParse(deliveryId, out var id) && long.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                {
                    resume = (id.ToString("D"), number);
                }
                else
                {
                    violations.Add("resume_token", "is not a token this service gave");
                }
            }
        }
        else
        {
            requestId = violations.Uuid("data_request_id", request.DataRequestId);
        }

        if (request.PageSize is < 0 or > DeliveryRules.MaxPageSize)
        {
            violations.Add("page_size", $"must be between 0 and {DeliveryRules.MaxPageSize}");
        }

        violations.ThrowIfAny();
        var pageSize = request.PageSize == 0 ? DeliveryRules.DefaultPageSize : request.PageSize;
        await foreach (var message in deliveries.StreamAsync(context.GetCaller(), requestId, resume, pageSize, context.CancellationToken))
        {
            await responseStream.WriteAsync(ToProto(message), context.CancellationToken);
        }
    }

    public override async Task<GetDeliveryResponse> GetDelivery(GetDeliveryRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var id = violations.Uuid("delivery_id", request.DeliveryId);
        violations.ThrowIfAny();
        return new GetDeliveryResponse { Delivery = ToProto(await accounts.GetAsync(context.GetCaller(), id!, context.CancellationToken)) };
    }

    public override async Task<ListDeliveriesResponse> ListDeliveries(ListDeliveriesRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var size = PageToken.Size(request.PageSize, violations);
        var before = PageToken.Decode(request.PageToken, 1, violations)?[0];
        var requestId = request.DataRequestId.Length > 0 ? violations.Uuid("data_request_id", request.DataRequestId) : null;
        violations.ThrowIfAny();

        var page = await accounts.ListAsync(context.GetCaller(), requestId, string.IsNullOrEmpty(before) ? null : before, size + 1, context.CancellationToken);
        var response = new ListDeliveriesResponse { NextPageToken = PageToken.Next(page, size, d => d.Id) };
        response.Deliveries.AddRange(page.Take(size).Select(ToProto));
        return response;
    }

    public override Task<AttestPurgeResponse> AttestPurge(AttestPurgeRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        var id = violations.Uuid("delivery_id", request.DeliveryId);
        var purgedAt = violations.RequiredTime("purge_time", request.PurgeTime);
        violations.Text("statement", request.Statement, 1024);
        violations.ThrowIfAny();

        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) => new AttestPurgeResponse
        {
            Delivery = ToProto(await accounts.AttestPurgeAsync(session, caller, id!, purgedAt!.Value, request.Statement)),
        });
    }

    public override async Task<ListOverdueDeliveriesResponse> ListOverdueDeliveries(ListOverdueDeliveriesRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var size = PageToken.Size(request.PageSize, violations);
        var after = (Deadline: long.MinValue, Id: "");
        if (PageToken.Decode(request.PageToken, 2, violations) is [var deadline, var id])
        {
            if (long.TryParse(deadline, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ms))
            {
                after = (ms, id);
            }
            else
            {
                violations.Add("page_token", "is not a token this service gave");
            }
        }

        violations.ThrowIfAny();
        var page = await accounts.OverdueAsync(context.GetCaller(), after, size + 1, context.CancellationToken);
        var response = new ListOverdueDeliveriesResponse
        {
            NextPageToken = page.Count > size
                ? PageToken.Encode(page[size - 1].RetentionDeadline!.Value.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), page[size - 1].Id)
                : "",
        };
        response.Deliveries.AddRange(page.Take(size).Select(ToProto));
        return response;
    }

    private static FetchDeliveryResponse ToProto(DeliveryMessage message) => message switch
    {
        DeliveryOpened opened => new FetchDeliveryResponse
        {
            Started = new DeliveryStarted
            {
                DeliveryId = opened.Delivery.Id,
                DataRequestId = opened.Delivery.DataRequestId,
                Identified = opened.Identified,
                Fields = { opened.Fields },
                MaxRetentionDeadline = Timestamp.FromDateTimeOffset(opened.MaxRetentionDeadline),
                ResumedAfterPage = opened.ResumedAfterPage,
            },
        },
        DeliveredPage page => new FetchDeliveryResponse { Page = ToProto(page) },
        DeliveryClosed closed => new FetchDeliveryResponse
        {
            Summary = new DeliverySummary
            {
                DeliveryId = closed.Delivery.Id,
                Pages = closed.Delivery.Pages,
                DeliveredRecords = closed.Delivery.Delivered,
                Withheld = { Counts(closed.Delivery.Withheld) },
                RetentionDeadline = Time(closed.Delivery.RetentionDeadline),
            },
        },
        _ => throw new ArgumentOutOfRangeException(nameof(message), message, "not a delivery message"),
    };

    private static RecordPage ToProto(DeliveredPage page)
    {
        var message = new RecordPage
        {
            PageNumber = page.PageNumber,
            RetentionDeadline = Time(page.RetentionDeadline),
            ResumeToken = page.ResumeToken,
            AuditSequence = page.AuditSequence,
        };
        message.Withheld.AddRange(Counts(page.Withheld));
        foreach (var record in page.Records)
        {
            var delivered = new DeliveredRecord
            {
                DatasetId = record.DatasetId,
                Subject = record.Subject,
                RecordKey = record.RecordKey,
                OccurTime = Timestamp.FromDateTimeOffset(record.OccurredAt),
            };
            foreach (var (name, value) in record.Fields)
            {
                delivered.Fields[name] = value;
            }

            message.Records.Add(delivered);
        }

        return message;
    }

    internal static V1.Delivery ToProto(Model.Delivery delivery)
    {
        var message = new V1.Delivery
        {
            Id = delivery.Id,
            DataRequestId = delivery.DataRequestId,
            RecipientId = delivery.RecipientId,
            State = (V1.DeliveryState)(int)delivery.State,
            StopReason = delivery.StopReason,
            Pages = delivery.Pages,
            DeliveredRecords = delivery.Delivered,
            StartTime = Timestamp.FromDateTimeOffset(delivery.StartedAt),
            RetentionDeadline = Time(delivery.RetentionDeadline),
            PurgeAttestTime = Time(delivery.PurgeAttestedAt),
            PurgeTime = Time(delivery.PurgedAt),
            PurgeStatement = delivery.PurgeStatement ?? "",
        };
        message.Withheld.AddRange(Counts(delivery.Withheld));
        message.ControllerIds.AddRange(delivery.ControllerIds);
        return message;
    }

    private static IEnumerable<WithheldCount> Counts(IReadOnlyDictionary<string, long> withheld) =>
        withheld.OrderBy(w => w.Key, StringComparer.Ordinal).Select(w => new WithheldCount { Reason = w.Key, Records = w.Value });

    private static Timestamp? Time(DateTimeOffset? value) => value is { } time ? Timestamp.FromDateTimeOffset(time) : null;
}
