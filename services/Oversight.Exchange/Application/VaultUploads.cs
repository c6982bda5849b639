using System.Globalization;
using System.Security.Cryptography;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Exchange.Infrastructure;
using Oversight.Exchange.Infrastructure.Vault;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.Application;

/// <summary>
/// Uploads into the vault, batch by batch. Each batch is checked against the dataset's schema, sealed
/// under the dataset's key outside any transaction, then stored in one transaction with its counts
/// and its audit entry: a stream cut off keeps exactly the batches that committed. A record whose
/// keyed digest matches the stored one is unchanged and not written; one whose digest differs
/// replaces it.
/// </summary>
public sealed class VaultUploads(ExchangeDatabase database, DatasetRepository datasets, VaultRepository vault, DatasetKeys keys, ExchangeAudit audit, TimeProvider time)
{
    /// <summary>The upload's dataset and account, opened on its first batch (or continued, if it was cut off before it completed).</summary>
    public async Task<(Dataset Dataset, UploadAccount Account)> OpenAsync(Caller caller, string uploadId, string datasetId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var dataset = await datasets.GetAsync(connection, datasetId, null, cancellationToken) ?? throw new NotFoundException("dataset", datasetId);
        if (dataset.OwnerId != caller.OrganisationId)
        {
            throw new PermissionDeniedException("Only the dataset's owner uploads its records.", $"dataset/{datasetId}");
        }

        var account = await vault.UploadAsync(connection, caller.OrganisationId, uploadId, null, cancellationToken);
        if (account is null)
        {
            await using var session = await database.BeginAsync(cancellationToken);
            if (await vault.TryInsertUploadAsync(session, caller.OrganisationId, uploadId, datasetId, time.UtcNowToMillisecond()))
            {
                await session.CommitAsync();
            }

            account = await vault.UploadAsync(connection, caller.OrganisationId, uploadId, null, cancellationToken)
                ?? throw new AbortedException($"Upload '{uploadId}' could not be opened; retry.");
        }

        if (account.DatasetId != datasetId)
        {
            var violations = new FieldViolations();
            violations.Add("dataset_id", $"upload '{uploadId}' is an upload into dataset {account.DatasetId}; choose a new upload_id");
            violations.ThrowIfAny();
        }

        if (account.State == UploadState.Completed)
        {
            throw new AlreadyExistsException($"Upload '{uploadId}' completed; send new records under a new upload_id.");
        }

        return (dataset, account);
    }

    public async Task<UploadAccount> StoreBatchAsync(Caller caller, Dataset dataset, UploadAccount account, IReadOnlyList<IncomingRecord> records, CancellationToken cancellationToken)
    {
        var key = await keys.ForAsync(dataset.Id, cancellationToken);
        var rejections = new List<RecordRejection>();
        // Later records of the batch with the same key win, as if they had come in later batches.
        var sealedRecords = new Dictionary<string, SealedRecord>(StringComparer.Ordinal);
        var repeats = 0L;
        foreach (var record in records)
        {
            if (RecordRules.Check(dataset, record) is { } rejection)
            {
                rejections.Add(rejection);
                continue;
            }

            var occurredAtMs = record.OccurredAt!.Value.ToUnixTimeMilliseconds();
            var payload = RecordPayload.Encode(record.SubjectId, occurredAtMs, record.Fields);
            var mac = key.ContentMac(payload);
            if (sealedRecords.TryGetValue(record.RecordKey, out var earlier))
            {
                repeats += CryptographicOperations.FixedTimeEquals(earlier.ContentMac, mac) ? 0 : 1;
            }

            sealedRecords[record.RecordKey] = new SealedRecord(record.RecordKey, key.SubjectRef(record.SubjectId), occurredAtMs, key.Seal(record.RecordKey, payload), mac);
        }

        var now = time.UtcNowToMillisecond();
        await using var session = await database.BeginAsync(cancellationToken);
        var stored = sealedRecords.Count == 0 ? [] : await vault.StoredMacsAsync(session, dataset.Id, sealedRecords.Keys);
        var fresh = new List<SealedRecord>();
        var changed = new List<SealedRecord>();
        var unchanged = (long)(records.Count - rejections.Count - sealedRecords.Count) - repeats;
        foreach (var record in sealedRecords.Values)
        {
            if (!stored.TryGetValue(record.RecordKey, out var storedMac))
            {
                fresh.Add(record);
            }
            else if (CryptographicOperations.FixedTimeEquals(storedMac, record.ContentMac))
            {
                unchanged++;
            }
            else
            {
                changed.Add(record);
            }
        }

        await vault.InsertAsync(session, dataset.Id, fresh, now);
        await vault.ReplaceAsync(session, dataset.Id, changed, now);
        if (fresh.Count > 0)
        {
            await datasets.AddToRecordCountAsync(session, dataset.Id, fresh.Count);
        }

        var batch = new BatchOutcome(fresh.Count + changed.Count + repeats, changed.Count + repeats, unchanged, rejections);
        var kept = account.Rejections.Concat(rejections).Take(UploadAccount.MaxRejectionsKept).ToList();
        if (!await vault.CountBatchAsync(session, account, batch, kept))
        {
            throw new AbortedException($"Upload '{account.UploadId}' was completed by another stream; nothing of this batch was stored.");
        }

        await audit.RecordAsync(session, caller, "vault.batch_stored", $"dataset/{dataset.Id}",
            $"{batch.Accepted} stored ({batch.Replaced} replacing), {batch.Unchanged} unchanged, {rejections.Count} refused",
            new Dictionary<string, string>
            {
                ["upload_id"] = account.UploadId,
                ["batch"] = (account.Batches + 1).ToString(CultureInfo.InvariantCulture),
                ["accepted"] = batch.Accepted.ToString(CultureInfo.InvariantCulture),
                ["replaced"] = batch.Replaced.ToString(CultureInfo.InvariantCulture),
                ["unchanged"] = batch.Unchanged.ToString(CultureInfo.InvariantCulture),
                ["rejected"] = rejections.Count.ToString(CultureInfo.InvariantCulture),
            });
        await session.CommitAsync();
        return account with
        {
            Batches = account.Batches + 1,
            Accepted = account.Accepted + batch.Accepted,
            Replaced = account.Replaced + batch.Replaced,
            Unchanged = account.Unchanged + batch.Unchanged,
            Rejected = account.Rejected + rejections.Count,
            Rejections = kept,
        };
    }

    public async Task<UploadAccount> CompleteAsync(Caller caller, UploadAccount account, CancellationToken cancellationToken)
    {
        var now = time.UtcNowToMillisecond();
        await using var session = await database.BeginAsync(cancellationToken);
        if (!await vault.CompleteUploadAsync(session, account, now))
        {
            throw new AlreadyExistsException($"Upload '{account.UploadId}' was completed by another stream.");
        }

        await audit.RecordAsync(session, caller, "vault.upload_completed", $"dataset/{account.DatasetId}",
            $"{account.Batches} batch(es): {account.Accepted} stored, {account.Unchanged} unchanged, {account.Rejected} refused",
            new Dictionary<string, string> { ["upload_id"] = account.UploadId });
        await session.CommitAsync();
        return account with { State = UploadState.Completed, CompletedAt = now };
    }

    public async Task<UploadAccount> GetAsync(Caller caller, string uploadId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await vault.UploadAsync(connection, caller.OrganisationId, uploadId, null, cancellationToken) ?? throw new NotFoundException("upload", uploadId);
    }
}
