using System.CommandLine;
using System.CommandLine.Parsing;
using Grpc.Core;
using Oversight.Exchange.V1;
using static Oversight.Cli.GlobalOptions;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace Oversight.Cli;

/// <summary>
/// The Exchange commands, under <c>exchange</c> beside Governance's freeze orders: the catalog
/// (<c>dataset …</c>), uploads into the vault, data requests, fetching a delivery into a file, and
/// the data's life after it left (<c>delivery …</c>, <c>attest</c>, <c>overdue</c>). They call the
/// Exchange service (port 5103 by default).
/// </summary>
internal static class ExchangeCommands
{
    private const int DefaultBatchSize = 500;

    private static readonly Option<string?> RequestIdOption = new("--request-id") { Description = "Idempotency key; reuse it to retry safely. Default: a new GUID." };

    public static Command Create(IEnumerable<Command> freezeOrders)
    {
        var exchange = new Command("exchange",
            "The data exchange: datasets, uploads, requests, fetching deliveries, purges (Exchange); and the regulator's freeze of it (Governance).")
        {
            Datasets(), Upload(), Requests(), Fetch(), Deliveries(), Attest(), Overdue(),
        };
        foreach (var order in freezeOrders)
        {
            exchange.Subcommands.Add(order);
        }

        return exchange;
    }

    private static Command Datasets()
    {
        var name = new Option<string>("--name") { Description = "A short human name, 1 to 200 characters.", Required = true };
        var category = new Option<string>("--category")
        {
            Description = "Its data category from Consent's taxonomy (cli registry categories), such as user.financial.transactions.",
            Required = true,
        };
        var fields = new Option<DatasetField[]>("--field")
        {
            Description = "A field of its schema as NAME:TYPE:SENSITIVITY[:required], TYPE one of string, integer, decimal, boolean, date, timestamp "
                + "and SENSITIVITY ordinary or sensitive, such as amount:decimal:sensitive:required; repeat for each.",
            HelpName = "NAME:TYPE:SENSITIVITY[:required]",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
            CustomParser = result => [.. result.Tokens.Select(t => ParseField(t.Value, result)).OfType<DatasetField>()],
        };
        var description = new Option<string?>("--description") { Description = "What it holds; up to 4,096 characters." };
        var publish = new Command("publish", "Publishes a dataset; the calling platform owns it and uploads its records.") { name, category, fields, description, RequestIdOption };
        publish.SetAction(Exchange(async (parse, s) =>
        {
            var response = await s.Catalog.PublishDatasetAsync(new PublishDatasetRequest
            {
                RequestId = RequestId(parse),
                Name = parse.GetRequiredValue(name),
                DataCategory = parse.GetRequiredValue(category),
                Fields = { parse.GetRequiredValue(fields) },
                Description = parse.GetValue(description) ?? "",
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => ExchangeOutput.DatasetDetails(response.Dataset));
        }));

        var id = new Argument<string>("id") { Description = "The dataset id (from dataset list)." };
        var get = new Command("get", "Shows one dataset, its schema and its record count.") { id };
        get.SetAction(Exchange(async (parse, s) =>
        {
            var response = await s.Catalog.GetDatasetAsync(new GetDatasetRequest { DatasetId = parse.GetRequiredValue(id) }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => ExchangeOutput.DatasetDetails(response.Dataset));
        }));

        var owner = new Option<string?>("--owner") { Description = "Only this platform's datasets." };
        var underCategory = new Option<string?>("--category") { Description = "Only datasets in this category or below it." };
        var query = new Option<string?>("--query") { Description = "Only datasets whose name or description contains this text (any case)." };
        var includeRetired = new Option<bool>("--include-retired") { Description = "Retired datasets too." };
        var list = new Command("list", "Lists and searches the catalog, by name (every page).") { owner, underCategory, query, includeRetired };
        list.SetAction(Exchange(async (parse, s) =>
        {
            var response = await Session.AllPagesAsync(token => s.Catalog.ListDatasetsAsync(new ListDatasetsRequest
            {
                OwnerId = parse.GetValue(owner) ?? "",
                DataCategory = parse.GetValue(underCategory) ?? "",
                Query = parse.GetValue(query) ?? "",
                IncludeRetired = parse.GetValue(includeRetired),
                PageToken = token,
            }, cancellationToken: s.Cancellation));
            s.Output.Print(response, () => Output.Lines(response.Datasets, ExchangeOutput.DatasetLine));
        }));

        var retire = new Command("retire", "Retires a dataset: no new request may name it; approved ones go on (its owner).") { id, RequestIdOption };
        retire.SetAction(Exchange(async (parse, s) =>
        {
            var response = await s.Catalog.RetireDatasetAsync(
                new RetireDatasetRequest { RequestId = RequestId(parse), DatasetId = parse.GetRequiredValue(id) }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => ExchangeOutput.DatasetDetails(response.Dataset));
        }));

        return new Command("dataset", "The catalog of datasets platforms offer (Exchange).") { publish, get, list, retire };
    }

    private static Command Upload()
    {
        var dataset = new Option<string>("--dataset") { Description = "The dataset (yours) the records belong to.", HelpName = "ID", Required = true };
        var file = new Argument<string>("file")
        {
            Description = "The records: .csv with the header subject_id,record_key,occur_time,FIELD…, or .jsonl with one "
                + "{\"subject_id\": …, \"record_key\": …, \"occur_time\": \"RFC 3339\", \"fields\": {…}} a line.",
        };
        var uploadId = new Option<string?>("--upload-id")
        {
            HelpName = "ID",
            Description = "The upload's id; give the id of an upload that was cut off to continue it (records already stored count as unchanged). Default: a new one.",
        };
        var batchSize = new Option<int>("--batch-size") { Description = "Records per message, 1 to 1,000 (each committed on its own).", HelpName = "N", DefaultValueFactory = _ => DefaultBatchSize };
        batchSize.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 1000)
            {
                result.AddError("--batch-size must be 1 to 1,000.");
            }
        });
        var upload = new Command("upload", "Streams a file's records into one of your datasets, batch by batch, and prints what was stored and what was refused.")
        {
            dataset, file, uploadId, batchSize,
        };
        upload.SetAction(Remote(_ => ServiceEndpoint.Exchange, async (parse, s) =>
        {
            var path = parse.GetRequiredValue(file);
            if (RecordFiles.FormatOf(path) is not { } format)
            {
                await Console.Error.WriteLineAsync(RecordFiles.UnknownFormat(path));
                return 1;
            }

            if (!File.Exists(path))
            {
                await Console.Error.WriteLineAsync($"error: {path}: no such file.");
                return 1;
            }

            var id = parse.GetValue(uploadId) ?? Guid.NewGuid().ToString();
            try
            {
                return await UploadAsync(s, path, format, parse.GetRequiredValue(dataset), id, parse.GetValue(batchSize));
            }
            catch (RecordFileException exception)
            {
                await Console.Error.WriteLineAsync($"error: {path}: {exception.Message}.");
                return 1;
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"error: {path}: {exception.Message}");
                return 1;
            }
            catch (RpcException exception)
            {
                Output.Error(exception);
                if (exception.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled or StatusCode.Aborted
                    or StatusCode.ResourceExhausted or StatusCode.Unknown or StatusCode.Internal)
                {
                    await Console.Error.WriteLineAsync($"  the batches stored before the cut are kept; once the cause is gone, run the command again with --upload-id {id} to continue the upload.");
                }

                return 1;
            }
        }));
        return upload;
    }

    private static async Task<int> UploadAsync(Session s, string path, RecordFormat format, string datasetId, string uploadId, int batchSize)
    {
        var progress = new Progress("uploaded");
        var unreadable = new List<RecordRejection>();
        var read = 0L;
        AsyncClientStreamingCall<UploadRecordsRequest, UploadRecordsResponse>? call = null;
        try
        {
            using var reader = new StreamReader(path);
            var batch = new UploadRecordsRequest { UploadId = uploadId, DatasetId = datasetId };
            foreach (var item in RecordFiles.Read(reader, format))
            {
                if (item.Unreadable is { } rejection)
                {
                    unreadable.Add(rejection);
                    continue;
                }

                batch.Records.Add(item.Record);
                read++;
                if (batch.Records.Count == batchSize)
                {
                    call ??= s.Vault.UploadRecords(cancellationToken: s.Cancellation);
                    await SendAsync(call, batch, s.Cancellation);
                    batch = new UploadRecordsRequest { UploadId = uploadId, DatasetId = datasetId };
                    progress.Report(read);
                }
            }

            if (batch.Records.Count > 0)
            {
                call ??= s.Vault.UploadRecords(cancellationToken: s.Cancellation);
                await SendAsync(call, batch, s.Cancellation);
            }

            progress.Clear();
            if (call is null)
            {
                foreach (var rejection in unreadable.Take(20))
                {
                    await Console.Error.WriteLineAsync($"  {rejection.RecordKey}  {rejection.Reason}");
                }

                await Console.Error.WriteLineAsync($"error: {path}: no record to upload.");
                return 1;
            }

            await call.RequestStream.CompleteAsync();
            var response = await call.ResponseAsync;
            s.Output.Print(response, () => ExchangeOutput.UploadDetails(response.Upload, unreadable, read, progress), [response.Upload.UploadId]);
            if (s.Output.PrintsJson)
            {
                // --json prints the service's account alone; the lines it never saw are told apart.
                unreadable.ForEach(r => Console.Error.WriteLine($"unreadable: {r.RecordKey}  {r.Reason}"));
            }

            return 0;
        }
        finally
        {
            progress.Clear();
            call?.Dispose();
        }
    }

    /// <summary>Sends a batch; when the service already ended the call, its own status is the error, not the failed write's.</summary>
    private static async Task SendAsync(AsyncClientStreamingCall<UploadRecordsRequest, UploadRecordsResponse> call, UploadRecordsRequest batch, CancellationToken cancellationToken)
    {
        try
        {
            await call.RequestStream.WriteAsync(batch, cancellationToken);
        }
        catch (Exception exception) when (exception is RpcException or InvalidOperationException)
        {
            await call.ResponseAsync;
            throw;
        }
    }

    private static Command Requests()
    {
        var datasets = new Option<string[]>("--dataset") { Description = "A dataset to ask for; repeat for more (up to 16).", HelpName = "ID", Required = true, AllowMultipleArgumentsPerToken = true };
        var purpose = new Option<string>("--purpose") { Description = "Why, a registered purpose such as credit_assessment.", Required = true };
        var fields = new Option<string[]>("--field") { Description = "A field to receive (only these leave); repeat for more.", HelpName = "NAME", Required = true, AllowMultipleArgumentsPerToken = true };
        var subjects = new Option<string[]>("--subject") { Description = "Only this person's records; repeat for more. Default: every subject's.", HelpName = "ID", AllowMultipleArgumentsPerToken = true };
        var after = TimeOptions.Time("--occur-after", "Only records that occurred at or after this time.");
        var before = TimeOptions.Time("--occur-before", "Only records that occurred before this time.");
        var create = new Command("create", "Asks for data for a purpose (an institution, for itself); it is decided at once against your alliances, and every reason of a rejection is printed.")
        {
            datasets, purpose, fields, subjects, after, before, RequestIdOption,
        };
        create.SetAction(Exchange(async (parse, s) =>
        {
            var response = await s.DataRequests.CreateDataRequestAsync(new CreateDataRequestRequest
            {
                RequestId = RequestId(parse),
                DatasetIds = { parse.GetRequiredValue(datasets) },
                Purpose = parse.GetRequiredValue(purpose),
                Fields = { parse.GetRequiredValue(fields) },
                SubjectIds = { parse.GetValue(subjects) ?? [] },
                OccurAfter = parse.GetValue(after) is { } from ? Timestamp.FromDateTimeOffset(from) : null,
                OccurBefore = parse.GetValue(before) is { } until ? Timestamp.FromDateTimeOffset(until) : null,
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => ExchangeOutput.RequestDetails(response.DataRequest));
        }));

        var id = new Argument<string>("id") { Description = "The request id (from request create or list)." };
        var get = new Command("get", "Shows one request and its decision (its institution, the regulator, its datasets' owners).") { id };
        get.SetAction(Exchange(async (parse, s) =>
        {
            var response = await s.DataRequests.GetDataRequestAsync(new GetDataRequestRequest { DataRequestId = parse.GetRequiredValue(id) }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => ExchangeOutput.RequestDetails(response.DataRequest));
        }));

        var state = GovernanceCommands.StateFilter<DataRequestState>("requests");
        var institution = new Option<string?>("--institution") { Description = "Only this institution's (the regulator may name any). Default: all you may see." };
        var list = new Command("list", "Lists requests, newest first: an institution's own, or all for the regulator.") { state, institution };
        list.SetAction(Exchange(async (parse, s) =>
        {
            var response = await Session.AllPagesAsync(token => s.DataRequests.ListDataRequestsAsync(new ListDataRequestsRequest
            {
                State = parse.GetValue(state) ?? default,
                InstitutionId = parse.GetValue(institution) ?? "",
                PageToken = token,
            }, cancellationToken: s.Cancellation));
            s.Output.Print(response, () => Output.Lines(response.DataRequests, ExchangeOutput.RequestLine));
        }));

        return new Command("request", "Institutions' requests for data and their decisions (Exchange).") { create, get, list };
    }

    private static Command Fetch()
    {
        var request = new Argument<string>("request") { Description = "The approved request to fetch." };
        var output = new Option<string>("--out")
        {
            Description = "Where to write the records: .csv (columns dataset_id, subject, record_key, occur_time, then the fields) or .jsonl. "
                + "Replaced, unless --resume appends to it.",
            HelpName = "FILE",
            Required = true,
        };
        var pageSize = new Option<int>("--page-size") { Description = "Records per page, 1 to 1,000 (each page is consent-checked and audited on its own). Default: the service's, 500.", HelpName = "N" };
        var resume = new Option<string?>("--resume") { Description = "The resume token a cut-off fetch printed: continues that delivery after its last page written, appending to --out.", HelpName = "TOKEN" };
        var fetch = new Command("fetch", "Fetches an approved request's records into a file, page by page (the requesting institution), and prints what was delivered and withheld.")
        {
            request, output, pageSize, resume,
        };
        fetch.SetAction(Remote(_ => ServiceEndpoint.Exchange, async (parse, s) =>
        {
            var path = parse.GetRequiredValue(output);
            if (RecordFiles.FormatOf(path) is not { } format)
            {
                await Console.Error.WriteLineAsync(RecordFiles.UnknownFormat($"--out {path}"));
                return 1;
            }

            var token = parse.GetValue(resume);
            if (token is not null && !File.Exists(path))
            {
                await Console.Error.WriteLineAsync($"error: --resume appends to the file the cut-off fetch wrote, and {path} does not exist.");
                return 1;
            }

            return await FetchAsync(s, parse.GetRequiredValue(request), path, format, parse.GetValue(pageSize), token);
        }));
        return fetch;
    }

    private static async Task<int> FetchAsync(Session s, string requestId, string path, RecordFormat format, int pageSize, string? resumeToken)
    {
        var progress = new Progress("fetched");
        var lastToken = resumeToken;
        var started = false;
        var records = 0L;
        DeliveryFile? file = null;
        try
        {
            using var call = s.Deliveries.FetchDelivery(new FetchDeliveryRequest
            {
                DataRequestId = resumeToken is null ? requestId : "",
                PageSize = pageSize,
                ResumeToken = resumeToken ?? "",
            }, cancellationToken: s.Cancellation);
            await foreach (var message in call.ResponseStream.ReadAllAsync(s.Cancellation))
            {
                switch (message.KindCase)
                {
                    case FetchDeliveryResponse.KindOneofCase.Started:
                        if (!string.Equals(message.Started.DataRequestId, requestId, StringComparison.OrdinalIgnoreCase))
                        {
                            await Console.Error.WriteLineAsync($"error: the resume token is of a delivery of request {message.Started.DataRequestId}, not of {requestId}.");
                            return 1;
                        }

                        file = new DeliveryFile(path, format, message.Started.Fields, append: resumeToken is not null);
                        started = true;
                        break;
                    case FetchDeliveryResponse.KindOneofCase.Page:
                        foreach (var record in message.Page.Records)
                        {
                            file!.Write(record);
                        }

                        // Only a page the file holds whole may be resumed after.
                        file!.Flush();
                        lastToken = message.Page.ResumeToken;
                        records += message.Page.Records.Count;
                        progress.Report(records, $", page {message.Page.PageNumber}");
                        break;
                    case FetchDeliveryResponse.KindOneofCase.Summary:
                        progress.Clear();
                        var summary = message.Summary;
                        s.Output.Print(summary, () => ExchangeOutput.SummaryDetails(summary, path, records, progress), [summary.DeliveryId]);
                        break;
                }
            }

            return 0;
        }
        catch (Exception exception) when (exception is RpcException or IOException or UnauthorizedAccessException)
        {
            progress.Clear();
            if (exception is RpcException rpc)
            {
                Output.Error(rpc);
            }
            else
            {
                await Console.Error.WriteLineAsync($"error: --out {path}: {exception.Message}");
            }

            if (started || resumeToken is not null)
            {
                await Console.Error.WriteLineAsync(lastToken is null
                    ? "  no page was delivered; fetch again once the cause is gone."
                    : $"  {path} holds every page up to the cut; once the cause is gone, continue with: --resume {lastToken}");
            }

            return 1;
        }
        finally
        {
            progress.Clear();
            file?.Dispose();
        }
    }

    private static Command Deliveries()
    {
        var id = new Argument<string>("id") { Description = "The delivery id (printed by fetch)." };
        var get = new Command("get", "Shows one delivery: what was delivered and withheld, until when it may be kept, its purge (its recipient, its data's platforms, the regulator).") { id };
        get.SetAction(Exchange(async (parse, s) =>
        {
            var response = await s.Deliveries.GetDeliveryAsync(new GetDeliveryRequest { DeliveryId = parse.GetRequiredValue(id) }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => ExchangeOutput.DeliveryDetails(response.Delivery));
        }));

        var request = new Option<string?>("--request") { Description = "Only this request's deliveries.", HelpName = "ID" };
        var list = new Command("list", "Lists deliveries, newest first: a recipient's own, a platform's data, or all for the regulator.") { request };
        list.SetAction(Exchange(async (parse, s) =>
        {
            var response = await Session.AllPagesAsync(token => s.Deliveries.ListDeliveriesAsync(
                new ListDeliveriesRequest { DataRequestId = parse.GetValue(request) ?? "", PageToken = token }, cancellationToken: s.Cancellation));
            s.Output.Print(response, () => Output.Lines(response.Deliveries, ExchangeOutput.DeliveryLine));
        }));

        return new Command("delivery", "Deliveries and their data life (Exchange).") { get, list };
    }

    private static Command Attest()
    {
        var id = new Argument<string>("delivery") { Description = "The delivery purged." };
        var purgedAt = TimeOptions.Time("--purged-at", "When the data was purged: not in the future, not before the delivery.");
        purgedAt.Required = true;
        var statement = new Option<string>("--statement") { Description = "How it was purged, 1 to 1,024 characters.", HelpName = "TEXT", Required = true };
        var attest = new Command("attest", "Attests that you purged a delivery's data (its recipient, once).") { id, purgedAt, statement, RequestIdOption };
        attest.SetAction(Exchange(async (parse, s) =>
        {
            var response = await s.Deliveries.AttestPurgeAsync(new AttestPurgeRequest
            {
                RequestId = RequestId(parse),
                DeliveryId = parse.GetRequiredValue(id),
                PurgeTime = Timestamp.FromDateTimeOffset(parse.GetValue(purgedAt)!.Value),
                Statement = parse.GetRequiredValue(statement),
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => ExchangeOutput.DeliveryDetails(response.Delivery));
        }));
        return attest;
    }

    private static Command Overdue()
    {
        var overdue = new Command("overdue", "Lists deliveries kept past their retention deadline without a purge attestation, oldest first (the regulator; a platform its data's).");
        overdue.SetAction(Exchange(async (_, s) =>
        {
            var response = await Session.AllPagesAsync(token => s.Deliveries.ListOverdueDeliveriesAsync(
                new ListOverdueDeliveriesRequest { PageToken = token }, cancellationToken: s.Cancellation));
            s.Output.Print(response, () => Output.Lines(response.Deliveries, ExchangeOutput.DeliveryLine));
        }));
        return overdue;
    }

    /// <summary>NAME:TYPE:SENSITIVITY[:required|:optional].</summary>
    private static DatasetField? ParseField(string text, ArgumentResult result)
    {
        var parts = text.Split(':');
        if (parts.Length is < 3 or > 4 || parts[0].Length == 0
            || !System.Enum.TryParse<FieldType>(parts[1], ignoreCase: true, out var type) || type == FieldType.Unspecified || !char.IsLetter(parts[1][0])
            || !System.Enum.TryParse<FieldSensitivity>(parts[2], ignoreCase: true, out var sensitivity) || sensitivity == FieldSensitivity.Unspecified || !char.IsLetter(parts[2][0])
            || parts.Length == 4 && parts[3] is not ("required" or "optional"))
        {
            result.AddError($"--field '{text}': write NAME:TYPE:SENSITIVITY[:required] with TYPE string, integer, decimal, boolean, date or timestamp "
                + "and SENSITIVITY ordinary or sensitive, such as amount:decimal:sensitive:required.");
            return null;
        }

        return new DatasetField { Name = parts[0], Type = type, Sensitivity = sensitivity, Required = parts.Length == 4 && parts[3] == "required" };
    }

    private static Func<ParseResult, CancellationToken, Task<int>> Exchange(Func<ParseResult, Session, Task> action) =>
        Remote(ServiceEndpoint.Exchange, action);

    private static string RequestId(ParseResult parse) => parse.GetValue(RequestIdOption) ?? Guid.NewGuid().ToString();
}
