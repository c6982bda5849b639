using Google.Protobuf.Collections;
using Oversight.Exchange.V1;
using static Oversight.Cli.Output;

namespace Oversight.Cli;

/// <summary>Exchange's responses as readable text; <see cref="Output"/> prints them as JSON with --json.</summary>
internal static class ExchangeOutput
{
    private const int MaxRejectionsShown = 20;

    public static void DatasetDetails(Dataset dataset)
    {
        Field("dataset", dataset.Id);
        Field("name", dataset.Name);
        Field("owner", dataset.OwnerId);
        Field("category", dataset.DataCategory);
        Field("state", Label(dataset.State) + (dataset.RetireTime is null ? $" since {Time(dataset.PublishTime)}" : $", retired {Time(dataset.RetireTime)}"));
        Field("records", Progress.Count(dataset.RecordCount));
        if (dataset.Description.Length > 0)
        {
            Field("description", dataset.Description);
        }

        Field("fields", $"{dataset.Fields.Count}");
        foreach (var field in dataset.Fields)
        {
            Console.WriteLine($"  {field.Name,-24} {Label(field.Type).ToLowerInvariant(),-10} {Label(field.Sensitivity).ToLowerInvariant(),-10} {(field.Required ? "required" : "optional")}"
                + (field.Description.Length > 0 ? $"  {field.Description}" : ""));
        }
    }

    public static void DatasetLine(Dataset dataset) =>
        Console.WriteLine($"{dataset.Id}  {Label(dataset.State),-9} {dataset.OwnerId,-14} {dataset.DataCategory,-30} {Progress.Count(dataset.RecordCount),9} records  {dataset.Name}");

    public static void UploadDetails(Upload upload, IReadOnlyList<RecordRejection> unreadable, long read, Progress progress)
    {
        Field("upload", $"{upload.UploadId} ({Label(upload.State)}, {Plural(upload.Batches, "batch", "batches")})");
        Field("dataset", upload.DatasetId);
        Field("accepted", $"{Progress.Count(upload.Accepted)} (of which {Progress.Count(upload.Replaced)} replaced a stored record)");
        Field("unchanged", Progress.Count(upload.Unchanged));
        Field("rejected", Progress.Count(upload.Rejected + unreadable.Count)
            + (unreadable.Count > 0 ? $" ({Progress.Count(unreadable.Count)} unreadable in the file, never sent)" : ""));
        // The service keeps the first rejections of the whole upload; this run's unreadable lines come after them.
        var shown = upload.Rejections.Concat(unreadable).ToList();
        foreach (var rejection in shown.Take(MaxRejectionsShown))
        {
            Console.WriteLine($"  {rejection.RecordKey}  {(rejection.Field.Length > 0 ? rejection.Field + ": " : "")}{rejection.Reason}");
        }

        var more = upload.Rejected + unreadable.Count - Math.Min(shown.Count, MaxRejectionsShown);
        if (more > 0)
        {
            Console.WriteLine($"  … and {Progress.Count(more)} more");
        }

        Field("read", $"{Progress.Count(read)} records in {progress.Elapsed.TotalSeconds:0.0} s ({progress.Rate(read)})");
    }

    public static void RequestDetails(DataRequest request)
    {
        Field("request", request.Id);
        Field("state", request.State == DataRequestState.Approved
            ? $"APPROVED under alliance {request.AllianceId} (version {request.AllianceVersion}); subjects {(request.Identified ? "identified" : "pseudonymised")}"
            : Label(request.State));
        foreach (var rejection in request.Rejections)
        {
            Field("reason", $"{Label(rejection.Code)}: {rejection.Message}");
        }

        Field("institution", request.InstitutionId);
        Field("datasets", string.Join(", ", request.DatasetIds));
        Field("purpose", request.Purpose);
        Field("fields", string.Join(", ", request.Fields));
        Field("subjects", request.SubjectCount == 0 ? "all of the datasets'" : $"{Progress.Count(request.SubjectCount)} named");
        Field("occurred", (request.OccurAfter, request.OccurBefore) switch
        {
            (null, null) => "any time",
            (var after, null) => $"from {Time(after)}",
            (null, var before) => $"before {Time(before)}",
            var (after, before) => $"from {Time(after)} to {Time(before)}",
        });
        Field("decided", $"{Time(request.DecideTime)} under rules v{request.RulesVersion}, audit entry #{request.AuditSequence}");
    }

    public static void RequestLine(DataRequest request) =>
        Console.WriteLine(string.Join("  ",
            request.Id, $"{Label(request.State),-8}", request.InstitutionId, request.Purpose, string.Join(",", request.Fields),
            $"decided {Time(request.DecideTime)}",
            request.State == DataRequestState.Approved ? $"alliance {request.AllianceId}" : string.Join("; ", request.Rejections.Select(r => Label(r.Code)))));

    /// <param name="received">The records this run received (a resumed delivery's summary counts them all).</param>
    public static void SummaryDetails(DeliverySummary summary, string path, long received, Progress progress)
    {
        Field("delivery", summary.DeliveryId);
        Field("pages", Progress.Count(summary.Pages));
        Field("delivered", $"{Progress.Count(summary.DeliveredRecords)} records, written to {path}");
        Field("withheld", Withheld(summary.Withheld));
        Field("keep until", summary.RetentionDeadline is null ? "- (nothing was delivered)" : $"{Time(summary.RetentionDeadline)}, then purge it and attest (cli exchange attest)");
        Field("took", $"{progress.Elapsed.TotalSeconds:0.0} s ({progress.Rate(received)})");
    }

    public static void DeliveryDetails(Delivery delivery)
    {
        Field("delivery", delivery.Id);
        Field("state", Label(delivery.State) + (delivery.StopReason.Length > 0 ? $": {delivery.StopReason}" : ""));
        Field("request", delivery.DataRequestId);
        Field("recipient", delivery.RecipientId);
        Field("from", string.Join(", ", delivery.ControllerIds));
        Field("started", Time(delivery.StartTime));
        Field("pages", Progress.Count(delivery.Pages));
        Field("delivered", $"{Progress.Count(delivery.DeliveredRecords)} records");
        Field("withheld", Withheld(delivery.Withheld));
        Field("keep until", delivery.RetentionDeadline is null ? "-" : Time(delivery.RetentionDeadline));
        Field("purge", delivery.PurgeAttestTime is null
            ? "not attested"
            : $"purged {Time(delivery.PurgeTime)}, attested {Time(delivery.PurgeAttestTime)}: {delivery.PurgeStatement}");
    }

    public static void DeliveryLine(Delivery delivery) =>
        Console.WriteLine(string.Join("  ",
            delivery.Id, $"{Label(delivery.State),-9}", $"{delivery.RecipientId} <- {string.Join(",", delivery.ControllerIds)}",
            $"{Progress.Count(delivery.DeliveredRecords)} delivered", $"{Progress.Count(delivery.Withheld.Sum(w => w.Records))} withheld",
            $"keep until {Time(delivery.RetentionDeadline)}", delivery.PurgeAttestTime is null ? "not attested" : $"purge attested {Time(delivery.PurgeAttestTime)}"));

    /// <summary>"27 NO_CONSENT, 3 REVOKED": Consent's deny reasons without their DENY_REASON_ prefix; "none" when nothing was withheld.</summary>
    public static string Withheld(RepeatedField<WithheldCount> withheld) => withheld.Count == 0
        ? "none"
        : string.Join(", ", withheld.Select(w => $"{Progress.Count(w.Records)} {(w.Reason.StartsWith("DENY_REASON_", StringComparison.Ordinal) ? w.Reason["DENY_REASON_".Length..] : w.Reason)}"));

    private static string Plural(long count, string one, string many) => count == 1 ? $"1 {one}" : $"{Progress.Count(count)} {many}";
}
