using System.Globalization;
using System.Runtime.CompilerServices;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts.Exchange;
using Oversight.Exchange.Infrastructure;
using Oversight.Exchange.Infrastructure.Vault;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.Application;

/// <summary>A record as it leaves: the subject as the recipient may see it, only the fields asked for.</summary>
public sealed record OutgoingRecord(string DatasetId, string Subject, string RecordKey, DateTimeOffset OccurredAt, IReadOnlyDictionary<string, string> Fields);

/// <summary>What a delivery stream carries, in order: one opening, pages, one closing.</summary>
public abstract record DeliveryMessage;

public sealed record DeliveryOpened(Delivery Delivery, bool Identified, IReadOnlyList<string> Fields, DateTimeOffset MaxRetentionDeadline, long ResumedAfterPage)
    : DeliveryMessage;

public sealed record DeliveredPage(
    long PageNumber, IReadOnlyList<OutgoingRecord> Records, IReadOnlyDictionary<string, long> Withheld, DateTimeOffset? RetentionDeadline, string ResumeToken,
    long AuditSequence) : DeliveryMessage;

public sealed record DeliveryClosed(Delivery Delivery) : DeliveryMessage;

/// <summary>
/// Deliveries (design §10.3). A page at a time: read the next sealed records of the request, open
/// them, ask Consent about that page's subjects (fail closed), keep only allowed subjects' records and
/// only the fields asked for, name subjects by the recipient's pseudonym unless identified data is
/// allowed, then record the page — cursor, counts, retention deadline, audit entries and the
/// DataDisclosed event — in one transaction before it leaves. The alliance and the freeze are read
/// again before every page, so a suspension, an expiry or a freeze stops a stream at its next page.
/// While one page is recorded and sent, the next is read, opened and checked.
/// </summary>
public sealed class Deliveries(
    ExchangeDatabase database,
    DataRequestRepository requests,
    DatasetRepository datasets,
    DeliveryRepository deliveries,
    GovernanceReadModels readModels,
    DatasetKeys keys,
    ConsentChecks consent,
    Pseudonyms pseudonyms,
    ModuleAuditLog<ExchangeDatabase> log,
    ExchangeAudit audit,
    TimeProvider time)
{
    public static string ResumeToken(string deliveryId, long pageNumber) => PageToken.Encode(deliveryId, pageNumber.ToString(CultureInfo.InvariantCulture));

    /// <summary>Starts a delivery of an approved request, or resumes one after the page a resume token names.</summary>
    public async IAsyncEnumerable<DeliveryMessage> StreamAsync(
        Caller caller, string? dataRequestId, (string DeliveryId, long AfterPage)? resume, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var run = await OpenAsync(caller, dataRequestId, resume, cancellationToken);
        yield return new DeliveryOpened(run.Delivery, run.Identified, run.Request.Fields, run.MaxRetentionDeadline, run.PageNumber);
        using var ahead = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var next = CheckPageAsync(run, run.Cursor, pageSize, ahead.Token);
        try
        {
            while (await StopOnFailureAsync(run, next) is { } page)
            {
                // The page after this one is read and checked while this one is recorded and sent.
                next = CheckPageAsync(run, page.Next, pageSize, ahead.Token);
                yield return await RecordPageAsync(run, page, cancellationToken);
            }
        }
        finally
        {
            // A stream ended early (a stop, a client gone) leaves no check running behind it.
            await ahead.CancelAsync();
            try
            {
                await next;
            }
            catch (Exception)
            {
                // The page it checked is never recorded or sent; its failure, if any, tells nothing more.
            }
        }

        yield return new DeliveryClosed(await CompleteAsync(run, cancellationToken));
    }

    private sealed class Run(DataRequest request, IReadOnlyList<Dataset> datasets, Delivery delivery, DeliveryCursor cursor, long pageNumber, bool identified,
        DateTimeOffset maxRetentionDeadline)
    {
        public DataRequest Request { get; } = request;
        public IReadOnlyList<Dataset> Datasets { get; } = datasets;
        public Delivery Delivery { get; set; } = delivery;
        public DeliveryCursor Cursor { get; set; } = cursor;
        public long PageNumber { get; set; } = pageNumber;
        public bool Identified { get; } = identified;
        public DateTimeOffset MaxRetentionDeadline { get; } = maxRetentionDeadline;
    }

    private async Task<Run> OpenAsync(Caller caller, string? dataRequestId, (string DeliveryId, long AfterPage)? resume, CancellationToken cancellationToken)
    {
        var now = time.UtcNowToMillisecond();
        await using var connection = await database.OpenAsync(cancellationToken);
        Delivery? resumed = null;
        if (resume is { } token)
        {
            resumed = await deliveries.GetAsync(connection, token.DeliveryId, null, cancellationToken) ?? throw new NotFoundException("delivery", token.DeliveryId);
            if (resumed.RecipientId != caller.OrganisationId)
            {
                throw new PermissionDeniedException("Only the recipient resumes its delivery.", $"delivery/{resumed.Id}");
            }

            RequireResumable(resumed);
            dataRequestId = resumed.DataRequestId;
        }

        var request = await requests.GetAsync(connection, dataRequestId!, null, cancellationToken) ?? throw new NotFoundException("data request", dataRequestId!);
        if (request.InstitutionId != caller.OrganisationId)
        {
            throw new PermissionDeniedException("Only the institution that asked fetches a request.", $"request/{request.Id}");
        }

        if (request.State != DataRequestState.Approved)
        {
            throw new FailedPreconditionException("REJECTED", $"request/{request.Id}", "The request was rejected; nothing is delivered for it.");
        }

        AllianceTerms alliance;
        try
        {
            alliance = await GateAsync(connection, request, now, cancellationToken);
        }
        catch (FailedPreconditionException exception)
        {
            // A fetch refused for the alliance or a freeze is a refusal like any other: on the log.
            await using var refusal = await database.BeginAsync(cancellationToken);
            await audit.RecordAsync(refusal, caller, "delivery.refused", $"request/{request.Id}", exception.Message,
                new Dictionary<string, string> { ["data_request_id"] = request.Id }, AuditOutcomes.Refused);
            await refusal.CommitAsync();
            throw;
        }

        var found = await datasets.GetManyAsync(connection, request.DatasetIds, null, cancellationToken);
        var ordered = request.DatasetIds.Select(id => found.First(d => d.Id == id)).ToList();
        var identified = request.Identified && alliance.IdentifiedData;
        var deadline = now + alliance.MaxRetention;

        await using var session = await database.BeginAsync(cancellationToken);
        if (resumed is null)
        {
            var controllers = ordered.Select(d => d.OwnerId).Distinct().Order(StringComparer.Ordinal).ToList();
            var delivery = new Delivery(Guid.CreateVersion7(now).ToString("D"), request.Id, caller.OrganisationId, controllers, DeliveryState.Streaming, "", 0, 0,
                new Dictionary<string, long>(), now, null, null, null, null, 1, controllers.ToDictionary(c => c, _ => DeliveryShare.None, StringComparer.Ordinal));
            await deliveries.InsertAsync(session, delivery);
            await audit.RecordAsync(session, caller, "delivery.started", $"delivery/{delivery.Id}", $"delivery of request {request.Id}",
                new Dictionary<string, string> { ["data_request_id"] = request.Id, ["alliance_id"] = alliance.AllianceId, [AuditRecords.Parties] = delivery.Parties });
            await session.CommitAsync();
            return new Run(request, ordered, delivery, DeliveryCursor.Start, 0, identified, deadline);
        }

        // Read again in the resume's transaction: the stream the client left may have recorded a page since
        // (it ends at its next page, since the resume changes the delivery's version).
        resumed = await deliveries.GetAsync(session.Connection, resumed.Id, session.Transaction, session.CancellationToken) ?? throw new NotFoundException("delivery", resumed.Id);
        RequireResumable(resumed);

        // Pages after the one the client says it has were sent but not received: they are sent again, checked again.
        var afterPage = resume!.Value.AfterPage;
        var kept = await deliveries.PagesUpToAsync(session, resumed.Id, afterPage);
        if (kept.Count != afterPage)
        {
            var violations = new FieldViolations();
            violations.Add("resume_token", $"names page {afterPage}, which this delivery never sent");
            violations.ThrowIfAny();
        }

        await deliveries.DeletePagesAfterAsync(session, resumed.Id, afterPage);
        // Each platform's share is counted again from the pages kept; its deadline, like the delivery's, stays the least of every page that left.
        var shares = resumed.ControllerIds.ToDictionary(c => c, _ => DeliveryShare.None, StringComparer.Ordinal);
        foreach (var page in kept)
        {
            var owner = ordered[page.End.DatasetIndex].OwnerId;
            shares[owner] = shares[owner].Add(page.Delivered, page.Withheld, page.RetentionDeadline);
        }

        foreach (var (controller, share) in shares)
        {
            shares[controller] = share with { RetentionDeadline = resumed.Shares?.GetValueOrDefault(controller)?.RetentionDeadline ?? share.RetentionDeadline };
            await deliveries.UpdateShareAsync(session, resumed.Id, controller, shares[controller]);
        }

        var totals = resumed with
        {
            State = DeliveryState.Streaming,
            StopReason = "",
            Pages = afterPage,
            Delivered = kept.Sum(p => p.Delivered),
            Withheld = WithheldCounts.Sum(kept.Select(p => p.Withheld)),
            // Pages sent again do not undo the ones sent before: the deadline stays the least of every page that left.
            RetentionDeadline = resumed.RetentionDeadline,
            Shares = shares,
        };
        if (!await deliveries.UpdateAsync(session, totals, resumed.Version))
        {
            throw new AbortedException($"Delivery {resumed.Id} is being resumed by another stream.");
        }

        await audit.RecordAsync(session, caller, "delivery.resumed", $"delivery/{resumed.Id}", $"resumed after page {afterPage}",
            new Dictionary<string, string> { ["data_request_id"] = request.Id, ["after_page"] = afterPage.ToString(CultureInfo.InvariantCulture), [AuditRecords.Parties] = resumed.Parties });
        await session.CommitAsync();
        var cursor = afterPage == 0 ? DeliveryCursor.Start : kept[^1].End;
        return new Run(request, ordered, totals with { Version = resumed.Version + 1 }, cursor, afterPage, identified, deadline);
    }

    /// <summary>A page read, opened and checked with Consent: what is left is to record it and send it.</summary>
    /// <param name="End">Where the page ends, in its own dataset (what a resume continues after).</param>
    /// <param name="Next">Where the next page starts: a short page ends its dataset, so the next one starts on the next dataset without reading this one again.</param>
    private sealed record CheckedPage(
        Dataset Dataset, IReadOnlyList<StoredRecord> Rows, IReadOnlyList<DecodedRecord> Opened, IReadOnlyDictionary<string, SubjectDecision> Decisions,
        DeliveryCursor End, DeliveryCursor Next);

    /// <summary>
    /// Reads, opens and checks the page after <paramref name="after"/>; null when every record of the
    /// request has been sent. It writes nothing, so it runs while the page before it is recorded and
    /// sent; a failure is thrown as a <see cref="ServiceException"/>, and the delivery is stopped with it
    /// only once the page before is recorded (<see cref="StopOnFailureAsync"/>).
    /// </summary>
    private async Task<CheckedPage?> CheckPageAsync(Run run, DeliveryCursor after, int pageSize, CancellationToken cancellationToken)
    {
        var cursor = after;
        while (cursor.DatasetIndex < run.Datasets.Count)
        {
            var dataset = run.Datasets[cursor.DatasetIndex];
            IReadOnlyList<StoredRecord> rows;
            await using (var connection = await database.OpenAsync(cancellationToken))
            {
                rows = await deliveries.RecordsAsync(connection, run.Request, dataset.Id, cursor.AfterRecordKey, pageSize, cancellationToken);
            }

            if (rows.Count == 0)
            {
                cursor = new DeliveryCursor(cursor.DatasetIndex + 1, "");
                continue;
            }

            var opened = await OpenRecordsAsync(dataset, rows, cancellationToken);
            var decisions = await consent.CheckAsync(run.Delivery.Id, dataset.OwnerId, run.Request.InstitutionId, run.Request.Purpose, dataset.DataCategory,
                opened.Select(r => r.SubjectId).Distinct(StringComparer.Ordinal).ToList(), cancellationToken);
            var end = new DeliveryCursor(cursor.DatasetIndex, rows[^1].RecordKey);
            return new CheckedPage(dataset, rows, opened, decisions, end, rows.Count < pageSize ? new DeliveryCursor(cursor.DatasetIndex + 1, "") : end);
        }

        return null;
    }

    /// <summary>The checked page; or, when reading, opening or checking it failed, the delivery stopped (resumable) and the failure thrown.</summary>
    private async Task<CheckedPage?> StopOnFailureAsync(Run run, Task<CheckedPage?> checking)
    {
        try
        {
            return await checking;
        }
        catch (ServiceException exception) when (exception is UnavailableException or FailedPreconditionException)
        {
            await StopAsync(run, exception.Message);
            throw;
        }
    }

    private async Task<IReadOnlyList<DecodedRecord>> OpenRecordsAsync(Dataset dataset, IReadOnlyList<StoredRecord> rows, CancellationToken cancellationToken)
    {
        try
        {
            var key = await keys.ForAsync(dataset.Id, cancellationToken);
            using var cipher = key.Cipher();
            return rows.Select(r => RecordPayload.Decode(cipher.Open(r.RecordKey, r.Sealed))).ToList();
        }
        catch (Exception exception) when (exception is VaultKeyException or FormatException)
        {
            throw new FailedPreconditionException("VAULT_KEY", $"dataset/{dataset.Id}", $"A record of dataset {dataset.Id} does not open: {exception.Message}");
        }
    }

    private static void RequireResumable(Delivery delivery)
    {
        if (delivery.State == DeliveryState.Completed)
        {
            throw new FailedPreconditionException("COMPLETED", $"delivery/{delivery.Id}", "This delivery is complete; fetch the request again for a new delivery.");
        }

        if (delivery.PurgeAttestedAt is not null)
        {
            throw new FailedPreconditionException("ATTESTED", $"delivery/{delivery.Id}", "The recipient attested this delivery's purge; it is not resumed. Fetch the request again for a new delivery.");
        }
    }

    private async Task<DeliveredPage> RecordPageAsync(Run run, CheckedPage checkedPage, CancellationToken cancellationToken)
    {
        var (dataset, rows, opened, decisions) = (checkedPage.Dataset, checkedPage.Rows, checkedPage.Opened, checkedPage.Decisions);
        var now = time.UtcNowToMillisecond();
        var outgoing = new List<OutgoingRecord>(rows.Count);
        var withheld = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var disclosed = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var pseudonymsOfRecipient = run.Identified ? null : pseudonyms.Of(run.Request.InstitutionId);
        for (var i = 0; i < rows.Count; i++)
        {
            var record = opened[i];
            var decision = decisions[record.SubjectId];
            var occurredAt = DateTimeOffset.FromUnixTimeMilliseconds(record.OccurredAtMs);
            if (!decision.AllowsRecordAt(occurredAt))
            {
                var reason = decision.Allowed ? SubjectDecision.RecordTimeNotCovered : decision.DenyReason;
                withheld[reason] = withheld.GetValueOrDefault(reason) + 1;
                continue;
            }

            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in run.Request.Fields)
            {
                if (record.Fields.TryGetValue(name, out var value))
                {
                    fields[name] = value;
                }
            }

            outgoing.Add(new OutgoingRecord(dataset.Id, pseudonymsOfRecipient?.For(record.SubjectId) ?? record.SubjectId,
                rows[i].RecordKey, occurredAt, fields));
            if (seen.Add(record.SubjectId))
            {
                disclosed.Add(record.SubjectId);
            }
        }

        var pageNumber = run.PageNumber + 1;
        var delivery = run.Delivery;
        var withheldCount = withheld.Values.Sum();

        await using var session = await database.BeginAsync(cancellationToken);
        // The alliance and the freeze, read inside the page's transaction: a suspension or a freeze that
        // committed at any time before, during the consent check included, stops the page before it is
        // recorded or sent.
        AllianceTerms alliance;
        try
        {
            alliance = await GateAsync(session.Connection, run.Request, now, session.CancellationToken, session.Transaction);
        }
        catch (FailedPreconditionException exception)
        {
            // This transaction holds the one writer: end it before the stop writes.
            await session.DisposeAsync();
            await StopAsync(run, exception.Message);
            throw;
        }

        DateTimeOffset? deadline = outgoing.Count == 0 ? null : Retention.Deadline(now, alliance.MaxRetention, disclosed.Select(s => decisions[s].DataLife));
        var detail = new Dictionary<string, string>
        {
            ["data_request_id"] = run.Request.Id,
            ["dataset_id"] = dataset.Id,
            ["page"] = pageNumber.ToString(CultureInfo.InvariantCulture),
            ["delivered"] = outgoing.Count.ToString(CultureInfo.InvariantCulture),
            ["withheld"] = withheldCount.ToString(CultureInfo.InvariantCulture),
            // Who may read the entry: the recipient and the platform whose data this page carried (not the delivery's other platforms).
            [AuditRecords.Parties] = PageParties(delivery, dataset),
            // The subjects whose data left, each by a keyed hash of this delivery and the subject: the service
            // finds a subject's entries on an authorised call, while no reader can join the refs of two
            // deliveries (a ref shared across recipients would link their pseudonyms).
            ["subject_refs"] = string.Join(' ', disclosed.Select(subject => DisclosureRef(delivery.Id, subject))),
        };
        var entry = await audit.RecordAsync(session, new Caller(delivery.RecipientId, Contracts.Governance.OrganisationKinds.Institution, null),
            "delivery.page", $"delivery/{delivery.Id}", $"page {pageNumber}: {outgoing.Count} record(s) delivered, {withheldCount} withheld", detail);
        if (withheldCount > 0)
        {
            await audit.RecordServiceAsync(session, "delivery.withheld", $"delivery/{delivery.Id}",
                string.Join(", ", withheld.Select(w => $"{w.Value} {w.Key}")),
                new Dictionary<string, string>(withheld.ToDictionary(w => w.Key, w => w.Value.ToString(CultureInfo.InvariantCulture)))
                {
                    ["page"] = pageNumber.ToString(CultureInfo.InvariantCulture), ["dataset_id"] = dataset.Id, [AuditRecords.Parties] = PageParties(delivery, dataset),
                });
        }

        var page = new DeliveryPage(pageNumber, checkedPage.End, outgoing.Count, withheld, deadline, entry.Sequence);
        await deliveries.InsertPageAsync(session, delivery.Id, page, now);
        var share = (delivery.Shares?.GetValueOrDefault(dataset.OwnerId) ?? DeliveryShare.None).Add(outgoing.Count, withheld, deadline);
        await deliveries.UpdateShareAsync(session, delivery.Id, dataset.OwnerId, share);
        var updated = delivery with
        {
            Shares = new Dictionary<string, DeliveryShare>(delivery.Shares ?? new Dictionary<string, DeliveryShare>(), StringComparer.Ordinal) { [dataset.OwnerId] = share },
            Pages = pageNumber,
            Delivered = delivery.Delivered + outgoing.Count,
            Withheld = WithheldCounts.Sum([delivery.Withheld, withheld]),
            RetentionDeadline = Retention.Earliest(delivery.RetentionDeadline, deadline),
        };
        if (!await deliveries.UpdateAsync(session, updated, delivery.Version))
        {
            throw new AbortedException($"Delivery {delivery.Id} changed under this stream (resumed by another, or its purge attested); this one ends.");
        }

        if (disclosed.Count > 0)
        {
            await ExchangeEvents.EnqueueAsync(session, new DataDisclosed
            {
                DeliveryId = delivery.Id,
                ControllerId = dataset.OwnerId,
                RecipientId = delivery.RecipientId,
                Purpose = run.Request.Purpose,
                DataCategories = [dataset.DataCategory],
                Subjects = disclosed.Select(s => new DisclosedSubject { SubjectId = s, ConsentId = decisions[s].ConsentId, MandateId = decisions[s].MandateId }).ToList(),
                DisclosedAt = now,
                AuditSequence = entry.Sequence,
            }, now, updated.Version + 1);
        }

        await session.CommitAsync();
        run.Delivery = updated with { Version = delivery.Version + 1 };
        run.PageNumber = pageNumber;
        run.Cursor = checkedPage.Next;
        return new DeliveredPage(pageNumber, outgoing, withheld, deadline, ResumeToken(delivery.Id, pageNumber), entry.Sequence);
    }

    private async Task<Delivery> CompleteAsync(Run run, CancellationToken cancellationToken)
    {
        await using var session = await database.BeginAsync(cancellationToken);
        var completed = run.Delivery with { State = DeliveryState.Completed };
        if (!await deliveries.UpdateAsync(session, completed, run.Delivery.Version))
        {
            throw new AbortedException($"Delivery {run.Delivery.Id} changed under this stream (resumed by another, or its purge attested); this one ends.");
        }

        await audit.RecordServiceAsync(session, "delivery.completed", $"delivery/{completed.Id}",
            $"{completed.Pages} page(s): {completed.Delivered} record(s) delivered, {completed.Withheld.Values.Sum()} withheld",
            new Dictionary<string, string> { ["data_request_id"] = completed.DataRequestId, [AuditRecords.Parties] = completed.Parties });
        await session.CommitAsync();
        return completed with { Version = completed.Version + 1 };
    }

    /// <summary>Marks the delivery stopped (it may be resumed once the cause is gone); never masks the cause.</summary>
    private async Task StopAsync(Run run, string reason)
    {
        try
        {
            await using var session = await database.BeginAsync(CancellationToken.None);
            var stopped = run.Delivery with { State = DeliveryState.Stopped, StopReason = reason.Length > 500 ? reason[..500] : reason };
            if (await deliveries.UpdateAsync(session, stopped, run.Delivery.Version))
            {
                await audit.RecordServiceAsync(session, "delivery.stopped", $"delivery/{stopped.Id}", stopped.StopReason,
                    new Dictionary<string, string> { ["data_request_id"] = stopped.DataRequestId, [AuditRecords.Parties] = stopped.Parties });
                await session.CommitAsync();
                run.Delivery = stopped with { Version = stopped.Version + 1 };
            }
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException or TimeoutException)
        {
            // The stop is told to the caller either way; the delivery stays resumable.
        }
    }

    /// <summary>The alliance the request was approved under, if data may flow under it now and the exchange is not frozen.</summary>
    private async Task<AllianceTerms> GateAsync(
        System.Data.Common.DbConnection connection, DataRequest request, DateTimeOffset now, CancellationToken cancellationToken,
        System.Data.Common.DbTransaction? transaction = null)
    {
        var alliance = await readModels.AllianceAsync(connection, request.AllianceId!, transaction, cancellationToken);
        if (alliance is null || !alliance.OpenAt(now))
        {
            var why = alliance?.Standing switch
            {
                AllianceStanding.Suspended => "is suspended",
                AllianceStanding.Ended => "has ended",
                AllianceStanding.Active => "is not valid at this time",
                _ => "is not known",
            };
            throw new FailedPreconditionException("ALLIANCE", $"alliance/{request.AllianceId}", $"Alliance {request.AllianceId} {why}; nothing is delivered under it.");
        }

        var standing = await readModels.ExchangeStandingAsync(connection, transaction, cancellationToken);
        if (standing.Frozen)
        {
            throw new FailedPreconditionException("FROZEN", "exchange", $"The exchange is frozen by the regulator ({standing.Reason}); nothing is delivered until it is unfrozen.");
        }

        return alliance;
    }

    /// <summary>How a page's entry names a disclosed subject: the log's keyed hash of the delivery and the subject.</summary>
    public string DisclosureRef(string deliveryId, string subjectId) => log.Subjects.For($"delivery:{deliveryId}:{subjectId}");

    private static string PageParties(Delivery delivery, Dataset dataset) =>
        dataset.OwnerId == delivery.RecipientId ? delivery.RecipientId : $"{delivery.RecipientId} {dataset.OwnerId}";

}
