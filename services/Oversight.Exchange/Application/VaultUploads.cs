using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;
using Oversight.Exchange.Infrastructure;
using Oversight.Exchange.Infrastructure.Vault;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.Application;

/// <summary>
/// Uploads into the vault, batch by batch. Each batch is checked against the dataset's schema and
/// sealed under the dataset's key outside any transaction, then stored with its counts and its audit
/// entry, in a transaction it may share with the batches sealed while the one before committed: a
/// stream cut off keeps exactly the batches that committed, and its account says which. A record whose
/// keyed digest matches the stored one is unchanged and not written; one whose digest differs
/// replaces it.
/// </summary>
public sealed class VaultUploads(ExchangeDatabase database, DatasetRepository datasets, VaultRepository vault, DatasetKeys keys, ExchangeAudit audit, TimeProvider time)
{
    /// <summary>
    /// Most batches one transaction stores, and most sealed batches waiting for the store: bounds the
    /// time the vault's writer is held and the memory an upload takes (a run with 32 was faster at a
    /// million records and peaked at 275 MB, docs/benchmarks.md).
    /// </summary>
    public const int MaxBatchesPerTransaction = 8;

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

    /// <summary>
    /// Stores an upload's batches in order and returns its account after the last. Two stages run at
    /// once: this one checks and seals each batch as it arrives, outside any transaction, while the
    /// other stores the sealed ones. A store takes every batch sealed while the one before it committed
    /// (up to <see cref="MaxBatchesPerTransaction"/>) into one transaction, so the commit's disk wait
    /// is shared when the vault is the slower stage, and a transaction never waits on the network.
    /// Each batch is still counted and audited as its own. When reading fails, the batches already
    /// sealed are stored before the failure is thrown, so the account says how far the upload got.
    /// </summary>
    public async Task<UploadAccount> StoreAsync(
        Caller caller, Dataset dataset, UploadAccount account, IAsyncEnumerable<IReadOnlyList<IncomingRecord>> batches, CancellationToken cancellationToken)
    {
        var key = await keys.ForAsync(dataset.Id, cancellationToken);
        using var storeFailed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var queue = Channel.CreateBounded<SealedBatch>(new BoundedChannelOptions(MaxBatchesPerTransaction) { SingleReader = true, SingleWriter = true });
        var store = Task.Run(() => StoreQueuedAsync(caller, dataset, account, queue.Reader, storeFailed), CancellationToken.None);
        Exception? readFailure = null;
        try
        {
            using var cipher = key.Cipher();
            await foreach (var records in batches.WithCancellation(storeFailed.Token))
            {
                await queue.Writer.WriteAsync(Seal(dataset, cipher, records), storeFailed.Token);
            }
        }
        catch (Exception exception)
        {
            readFailure = exception;
        }

        queue.Writer.Complete();
        // A failed store stops the reading: its own failure is thrown first, as the cause.
        var stored = await store;
        if (readFailure is not null)
        {
            ExceptionDispatchInfo.Throw(readFailure);
        }

        return stored;
    }

    private async Task<UploadAccount> StoreQueuedAsync(
        Caller caller, Dataset dataset, UploadAccount account, ChannelReader<SealedBatch> queue, CancellationTokenSource storeFailed)
    {
        try
        {
            var group = new List<SealedBatch>(MaxBatchesPerTransaction);
            while (await queue.WaitToReadAsync(storeFailed.Token))
            {
                group.Clear();
                while (group.Count < MaxBatchesPerTransaction && queue.TryRead(out var batch))
                {
                    group.Add(batch);
                }

                account = await StoreGroupAsync(caller, dataset, account, group, storeFailed.Token);
            }

            return account;
        }
        catch
        {
            await storeFailed.CancelAsync();
            throw;
        }
    }

    /// <summary>A batch checked against the schema and sealed: per record key, its first version's digest, its last version, and how later versions compare with the one before each.</summary>
    private sealed record SealedBatch(Dictionary<string, RecordVersions> Versions, List<RecordRejection> Rejections);

    private sealed record RecordVersions(byte[] FirstMac, SealedRecord Last, long Changed, long Same);

    private static SealedBatch Seal(Dataset dataset, RecordCipher cipher, IReadOnlyList<IncomingRecord> records)
    {
        var rejections = new List<RecordRejection>();
        var versions = new Dictionary<string, RecordVersions>(records.Count, StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (RecordRules.Check(dataset, record) is { } rejection)
            {
                rejections.Add(rejection);
                continue;
            }

            var occurredAtMs = record.OccurredAt!.Value.ToUnixTimeMilliseconds();
            var payload = RecordPayload.Encode(record.SubjectId, occurredAtMs, record.Fields);
            var mac = cipher.ContentMac(payload);
            var sealedRecord = new SealedRecord(record.RecordKey, cipher.SubjectRef(record.SubjectId), occurredAtMs, cipher.Seal(record.RecordKey, payload), mac);
            versions[record.RecordKey] = versions.TryGetValue(record.RecordKey, out var earlier)
                ? CryptographicOperations.FixedTimeEquals(earlier.Last.ContentMac, mac)
                    ? earlier with { Last = sealedRecord, Same = earlier.Same + 1 }
                    : earlier with { Last = sealedRecord, Changed = earlier.Changed + 1 }
                : new RecordVersions(mac, sealedRecord, 0, 0);
        }

        return new SealedBatch(versions, rejections);
    }

    private async Task<UploadAccount> StoreGroupAsync(Caller caller, Dataset dataset, UploadAccount account, IReadOnlyList<SealedBatch> group, CancellationToken cancellationToken)
    {
        var now = time.UtcNowToMillisecond();
        await using var session = await database.BeginAsync(cancellationToken);
        foreach (var batch in group)
        {
            account = await StoreBatchAsync(session, caller, dataset, account, batch, now);
        }

        await session.CommitAsync();
        return account;
    }

    private async Task<UploadAccount> StoreBatchAsync(DbSession session, Caller caller, Dataset dataset, UploadAccount account, SealedBatch batch, DateTimeOffset now)
    {
        var stored = batch.Versions.Count == 0 ? [] : await vault.StoredMacsAsync(session, dataset.Id, batch.Versions.Keys);
        var fresh = new List<SealedRecord>();
        var changed = new List<SealedRecord>();
        var (accepted, replaced, unchanged) = (0L, 0L, 0L);
        foreach (var (recordKey, version) in batch.Versions)
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

        // In the blind index's order: each of its pages is then visited once per batch, not once per record.
        fresh.Sort((a, b) => a.SubjectRef.AsSpan().SequenceCompareTo(b.SubjectRef));
        await vault.InsertAsync(session, dataset.Id, fresh, now);
        if (await vault.ReplaceAsync(session, dataset.Id, changed, now) != changed.Count)
        {
            // On SQL Server an erasure can delete a record between the digests' read and this write: the
            // batch would count a record it did not store. Nothing of the group is kept; the upload continues.
            throw new AbortedException($"Records of upload '{account.UploadId}' were erased while its batch was stored; nothing of it was stored. Continue the upload to send it again.");
        }

        if (fresh.Count > 0)
        {
            await datasets.AddToRecordCountAsync(session, dataset.Id, fresh.Count);
        }

        var outcome = new BatchOutcome(accepted, replaced, unchanged, batch.Rejections);
        var counted = await vault.CountBatchAsync(session, account.OwnerId, account.UploadId, outcome)
            ?? throw new AbortedException($"Upload '{account.UploadId}' was completed by another stream; nothing of this batch was stored.");
        await audit.RecordAsync(session, caller, "vault.batch_stored", $"dataset/{dataset.Id}",
            $"{outcome.Accepted} stored ({outcome.Replaced} replacing), {outcome.Unchanged} unchanged, {outcome.Rejections.Count} refused",
            new Dictionary<string, string>
            {
                ["upload_id"] = account.UploadId,
                ["batch"] = counted.Batches.ToString(CultureInfo.InvariantCulture),
                ["accepted"] = outcome.Accepted.ToString(CultureInfo.InvariantCulture),
                ["replaced"] = outcome.Replaced.ToString(CultureInfo.InvariantCulture),
                ["unchanged"] = outcome.Unchanged.ToString(CultureInfo.InvariantCulture),
                ["rejected"] = outcome.Rejections.Count.ToString(CultureInfo.InvariantCulture),
            });
        return counted;
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
