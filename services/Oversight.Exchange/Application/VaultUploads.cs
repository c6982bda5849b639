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
        // Per record key of the batch: its first version's digest (compared with the stored one), its last
        // version (the one written), and how its later versions compare with the one before each.
        var versions = new Dictionary<string, (byte[] FirstMac, SealedRecord Last, long Changed, long Same)>(StringComparer.Ordinal);
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
            var sealedRecord = new SealedRecord(record.RecordKey, key.SubjectRef(record.SubjectId), occurredAtMs, key.Seal(record.RecordKey, payload), mac);
            versions[record.RecordKey] = versions.TryGetValue(record.RecordKey, out var earlier)
                ? CryptographicOperations.FixedTimeEquals(earlier.Last.ContentMac, mac)
                    ? (earlier.FirstMac, sealedRecord, earlier.Changed, earlier.Same + 1)
                    : (earlier.FirstMac, sealedRecord, earlier.Changed + 1, earlier.Same)
                : (mac, sealedRecord, 0, 0);
        }

        var now = time.UtcNowToMillisecond();
        await using var session = await database.BeginAsync(cancellationToken);
        var stored = versions.Count == 0 ? [] : await vault.StoredMacsAsync(session, dataset.Id, versions.Keys);
        var fresh = new List<SealedRecord>();
        var changed = new List<SealedRecord>();
        var (accepted, replaced, unchanged) = (0L, 0L, 0L);
        foreach (var (recordKey, version) in versions)
        {
            // Counted as if each version came in an upload of its own, in order.
            var known = stored.TryGetValue(recordKey, out var storedMac);
            var firstChanges = !known || !CryptographicOperations.FixedTimeEquals(storedMac, version.FirstMac);
            accepted += (firstChanges ? 1 : 0) + version.Changed;
            replaced += (known && firstChanges ? 1 : 0) + version.Changed;
            unchanged += (firstChanges ? 0 : 1) + version.Same;
            if (!known)
            {
                fresh.Add(version.Last);
            }
            else if (!CryptographicOperations.FixedTimeEquals(storedMac, version.Last.ContentMac))
            {
                changed.Add(version.Last);
            }
        }

        await vault.InsertAsync(session, dataset.Id, fresh, now);
        await vault.ReplaceAsync(session, dataset.Id, changed, now);
        if (fresh.Count > 0)
        {
            await datasets.AddToRecordCountAsync(session, dataset.Id, fresh.Count);
        }

        var batch = new BatchOutcome(accepted, replaced, unchanged, rejections);
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
