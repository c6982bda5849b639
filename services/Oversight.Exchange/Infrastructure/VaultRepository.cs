using System.Data.Common;
using System.Text.Json;
using Dapper;
using Oversight.BuildingBlocks.Data;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.Infrastructure;

/// <summary>A record as the vault stores it: sealed, with its blind index and keyed digest.</summary>
public sealed record SealedRecord(string RecordKey, byte[] SubjectRef, long OccurredAtMs, byte[] Sealed, byte[] ContentMac);

/// <summary>The vault's SQL: sealed records and the accounts of uploads.</summary>
public sealed class VaultRepository
{
    /// <summary>The stored digests of those of <paramref name="recordKeys"/> the dataset has.</summary>
    public async Task<Dictionary<string, byte[]>> StoredMacsAsync(DbSession session, string datasetId, IReadOnlyCollection<string> recordKeys) =>
        (await session.QueryAsync<MacRow>(ExchangeSql.StoredMacs(session.Dialect), new { DatasetId = datasetId, Keys = SqlDialect.JsonTexts(recordKeys) }))
        .ToDictionary(r => r.RecordKey, r => r.ContentMac, StringComparer.Ordinal);

    /// <summary>Deletes a subject's records from one dataset; returns how many there were.</summary>
    public Task<int> EraseSubjectAsync(DbSession session, string datasetId, byte[] subjectRef) =>
        session.ExecuteAsync(ExchangeSql.EraseSubject, new { DatasetId = datasetId, SubjectRef = subjectRef });

    public Task InsertAsync(DbSession session, string datasetId, IEnumerable<SealedRecord> records, DateTimeOffset at) =>
        session.ExecuteAsync(ExchangeSql.InsertRecord, records.Select(r => Parameters(datasetId, r, at)));

    /// <summary>Replaces stored records; returns how many it found to replace.</summary>
    public Task<int> ReplaceAsync(DbSession session, string datasetId, IEnumerable<SealedRecord> records, DateTimeOffset at) =>
        session.ExecuteAsync(ExchangeSql.ReplaceRecord, records.Select(r => Parameters(datasetId, r, at)));

    public async Task<UploadAccount?> UploadAsync(DbConnection connection, string ownerId, string uploadId, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<UploadRow>(new CommandDefinition(
            ExchangeSql.GetUpload, new { OwnerId = ownerId, UploadId = uploadId }, transaction, cancellationToken: cancellationToken)))?.ToDomain();

    /// <summary>False when the upload id is taken (by a stream that began first).</summary>
    public async Task<bool> TryInsertUploadAsync(DbSession session, string ownerId, string uploadId, string datasetId, DateTimeOffset at)
    {
        try
        {
            await session.ExecuteAsync(ExchangeSql.InsertUpload, new { OwnerId = ownerId, UploadId = uploadId, DatasetId = datasetId, At = at.ToUnixTimeMilliseconds() });
            return true;
        }
        catch (DbException exception) when (session.Dialect.IsUniqueViolation(exception))
        {
            return false;
        }
    }

    /// <summary>
    /// Adds a batch's counts and keeps its first rejections while the account has room, inside the
    /// batch's transaction; returns the account as stored after it, or null when the upload is no
    /// longer receiving (another stream completed it).
    /// </summary>
    public async Task<UploadAccount?> CountBatchAsync(DbSession session, string ownerId, string uploadId, BatchOutcome batch)
    {
        var counted = await session.ExecuteAsync(ExchangeSql.CountBatch, new
        {
            OwnerId = ownerId,
            UploadId = uploadId,
            batch.Accepted,
            batch.Replaced,
            batch.Unchanged,
            Rejected = batch.Rejections.Count,
        });
        if (counted != 1)
        {
            return null;
        }

        // The count above holds the row: the rejections read now are every stream's, and no other stream writes them before this commits.
        var account = (await UploadAsync(session.Connection, ownerId, uploadId, session.Transaction, session.CancellationToken))!;
        if (batch.Rejections.Count == 0 || account.Rejections.Count >= UploadAccount.MaxRejectionsKept)
        {
            return account;
        }

        var kept = account.Rejections.Concat(batch.Rejections).Take(UploadAccount.MaxRejectionsKept).ToList();
        await session.ExecuteAsync(ExchangeSql.KeepRejections, new { OwnerId = ownerId, UploadId = uploadId, Rejections = JsonSerializer.Serialize(kept, StoredJson.Options) });
        return account with { Rejections = kept };
    }

    public async Task<bool> CompleteUploadAsync(DbSession session, UploadAccount account, DateTimeOffset at) =>
        await session.ExecuteAsync(ExchangeSql.CompleteUpload, new { account.OwnerId, account.UploadId, At = at.ToUnixTimeMilliseconds() }) == 1;

    private static object Parameters(string datasetId, SealedRecord record, DateTimeOffset at) => new
    {
        DatasetId = datasetId,
        record.RecordKey,
        record.SubjectRef,
        record.OccurredAtMs,
        record.Sealed,
        record.ContentMac,
        At = at.ToUnixTimeMilliseconds(),
    };

    private sealed class MacRow
    {
        public string RecordKey { get; set; } = "";
        public byte[] ContentMac { get; set; } = [];
    }

    private sealed class UploadRow
    {
        public string OwnerId { get; set; } = "";
        public string UploadId { get; set; } = "";
        public string DatasetId { get; set; } = "";
        public long State { get; set; }
        public long Batches { get; set; }
        public long Accepted { get; set; }
        public long Replaced { get; set; }
        public long Unchanged { get; set; }
        public long Rejected { get; set; }
        public string Rejections { get; set; } = "[]";
        public long StartedAtMs { get; set; }
        public long? CompletedAtMs { get; set; }

        public UploadAccount ToDomain() => new(
            OwnerId, UploadId, DatasetId, (UploadState)State, Batches, Accepted, Replaced, Unchanged, Rejected,
            JsonSerializer.Deserialize<List<RecordRejection>>(Rejections, StoredJson.Options) ?? [], DateTimeOffset.FromUnixTimeMilliseconds(StartedAtMs),
            CompletedAtMs is { } completed ? DateTimeOffset.FromUnixTimeMilliseconds(completed) : null);
    }
}
