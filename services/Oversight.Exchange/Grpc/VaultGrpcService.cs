using System.Runtime.CompilerServices;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Exchange.Application;
using Oversight.Exchange.Model;
using Oversight.Exchange.V1;

namespace Oversight.Exchange.Grpc;

/// <summary>
/// The VaultService RPCs. An upload is read one message at a time while the batches before it are
/// stored, a bounded few ahead, so the server holds a few batches whatever the upload's size, and
/// HTTP/2 flow control holds a fast client back.
/// </summary>
public sealed class VaultGrpcService(VaultUploads uploads) : VaultService.VaultServiceBase
{
    public override async Task<UploadRecordsResponse> UploadRecords(IAsyncStreamReader<UploadRecordsRequest> requestStream, ServerCallContext context)
    {
        var caller = context.GetCaller();
        var cancellationToken = context.CancellationToken;
        if (!await requestStream.MoveNext(cancellationToken))
        {
            var violations = new FieldViolations();
            violations.Add("records", "the stream carried no batch; send at least one message with records");
            violations.ThrowIfAny();
        }

        var first = requestStream.Current;
        var firstViolations = new FieldViolations();
        IdempotentRequests.Validate(first.UploadId, firstViolations, "upload_id");
        var datasetId = firstViolations.Uuid("dataset_id", first.DatasetId);
        CheckRecordCount(first, 0, firstViolations);
        firstViolations.ThrowIfAny();

        var (dataset, account) = await uploads.OpenAsync(caller, first.UploadId, datasetId!, cancellationToken);
        account = await uploads.StoreAsync(caller, dataset, account, Batches(requestStream, first, account), cancellationToken);
        return new UploadRecordsResponse { Upload = ToProto(await uploads.CompleteAsync(caller, account, cancellationToken)) };
    }

    /// <summary>The stream's batches, the first one included; each later message is checked to belong to the same upload.</summary>
    private static async IAsyncEnumerable<IReadOnlyList<IncomingRecord>> Batches(
        IAsyncStreamReader<UploadRecordsRequest> requestStream, UploadRecordsRequest first, UploadAccount account, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return first.Records.Select(ToModel).ToList();
        for (var index = 1; await requestStream.MoveNext(cancellationToken); index++)
        {
            var message = requestStream.Current;
            var violations = new FieldViolations();
            if (message.UploadId != account.UploadId)
            {
                violations.Add("upload_id", $"message {index} names another upload than the stream's first message ('{RecordRules.Cut(account.UploadId)}')");
            }

            if (!string.Equals(message.DatasetId, account.DatasetId, StringComparison.OrdinalIgnoreCase))
            {
                violations.Add("dataset_id", $"message {index} names another dataset than the stream's first message ({account.DatasetId})");
            }

            CheckRecordCount(message, index, violations);
            violations.ThrowIfAny();
            yield return message.Records.Select(ToModel).ToList();
        }
    }

    private static void CheckRecordCount(UploadRecordsRequest message, int index, FieldViolations violations)
    {
        if (message.Records.Count is 0 or > DeliveryRules.MaxRecordsPerBatch)
        {
            violations.Add("records", $"message {index} must carry 1 to {DeliveryRules.MaxRecordsPerBatch} records");
        }
    }

    public override async Task<GetUploadResponse> GetUpload(GetUploadRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.UploadId, violations, "upload_id");
        violations.ThrowIfAny();
        return new GetUploadResponse { Upload = ToProto(await uploads.GetAsync(context.GetCaller(), request.UploadId, context.CancellationToken)) };
    }

    private static IncomingRecord ToModel(VaultRecord record) =>
        new(record.SubjectId, record.RecordKey, record.OccurTime is null ? null : ToTime(record.OccurTime), record.Fields);

    /// <summary>A time out of DateTimeOffset's range is as good as none: the record is refused for it.</summary>
    private static DateTimeOffset? ToTime(Timestamp timestamp) =>
        timestamp.Seconds is >= -62135596800 and <= 253402300799 && timestamp.Nanos is >= 0 and < 1_000_000_000 ? timestamp.ToDateTimeOffset() : null;

    private static V1.Upload ToProto(UploadAccount account)
    {
        var message = new V1.Upload
        {
            UploadId = account.UploadId,
            DatasetId = account.DatasetId,
            State = (V1.UploadState)(int)account.State,
            Batches = account.Batches,
            Accepted = account.Accepted,
            Replaced = account.Replaced,
            Unchanged = account.Unchanged,
            Rejected = account.Rejected,
            StartTime = Timestamp.FromDateTimeOffset(account.StartedAt),
            CompleteTime = account.CompletedAt is { } completed ? Timestamp.FromDateTimeOffset(completed) : null,
        };
        message.Rejections.AddRange(account.Rejections.Select(r => new V1.RecordRejection { RecordKey = r.RecordKey, Field = r.Field, Reason = r.Reason }));
        return message;
    }
}
