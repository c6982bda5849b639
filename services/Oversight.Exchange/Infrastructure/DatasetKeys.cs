using System.Collections.Concurrent;
using System.Data.Common;
using Dapper;
using Oversight.BuildingBlocks.Errors;
using Oversight.Exchange.Infrastructure.Vault;

namespace Oversight.Exchange.Infrastructure;

/// <summary>
/// Each dataset's data key: created and wrapped by the active master key on the first upload, kept
/// unwrapped in memory afterwards (the master key ring unwraps it once per process). Two first
/// uploads racing both try to insert; the primary key decides and the loser reads the winner's.
/// </summary>
public sealed class DatasetKeys(ExchangeDatabase database, MasterKeyRing ring, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, DataKey> _keys = new(StringComparer.Ordinal);

    public MasterKeyRing Ring => ring;

    /// <summary>The dataset's key, created when it has none yet.</summary>
    public async Task<DataKey> ForAsync(string datasetId, CancellationToken cancellationToken)
    {
        if (_keys.TryGetValue(datasetId, out var known))
        {
            return known;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        var stored = await ReadAsync(connection, datasetId, cancellationToken);
        if (stored is null)
        {
            var material = DataKey.NewKeyMaterial();
            var wrapped = ring.Wrap(material, datasetId);
            try
            {
                await using var session = await database.BeginAsync(cancellationToken);
                await session.ExecuteAsync(ExchangeSql.InsertDataKey, new
                {
                    DatasetId = datasetId, wrapped.MasterKeyId, WrappedKey = wrapped.Sealed, At = time.GetUtcNow().ToUnixTimeMilliseconds(),
                });
                await session.CommitAsync();
                return _keys.GetOrAdd(datasetId, new DataKey(datasetId, material));
            }
            catch (DbException exception) when (database.Dialect.IsUniqueViolation(exception))
            {
                stored = await ReadAsync(connection, datasetId, cancellationToken) ?? throw new InvalidOperationException("A data key vanished after its insert collided.");
            }
        }

        try
        {
            return _keys.GetOrAdd(datasetId, new DataKey(datasetId, ring.Unwrap(new WrappedDataKey(stored.MasterKeyId, stored.WrappedKey), datasetId)));
        }
        catch (VaultKeyException exception)
        {
            // The configuration lacks the master key this data key was wrapped with, or holds another under its id.
            throw new FailedPreconditionException("VAULT_KEY", $"dataset/{datasetId}", exception.Message);
        }
    }

    /// <summary>The dataset's key if it has one (a dataset without a key has no records); never creates one.</summary>
    public async Task<DataKey?> ExistingAsync(string datasetId, CancellationToken cancellationToken)
    {
        if (_keys.TryGetValue(datasetId, out var known))
        {
            return known;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        return await ReadAsync(connection, datasetId, cancellationToken) is null ? null : await ForAsync(datasetId, cancellationToken);
    }

    /// <summary>
    /// Re-wraps every data key not wrapped by the active master key, so an old master key can be
    /// dropped from the configuration. Records are not touched. Returns how many were re-wrapped, and how many
    /// could not be (under a master key the configuration lacks).
    /// </summary>
    public async Task<(int Rewrapped, int Skipped)> RewrapAllAsync(CancellationToken cancellationToken)
    {
        var count = 0;
        var skipped = 0;
        var after = "";
        while (true)
        {
            List<DataKeyRow> page;
            await using (var connection = await database.OpenAsync(cancellationToken))
            {
                page = (await connection.QueryAsync<DataKeyRow>(new CommandDefinition(
                    ExchangeSql.DataKeysToRewrap(database.Dialect), new { ActiveKeyId = ring.ActiveKeyId, AfterId = after, Limit = 100 },
                    cancellationToken: cancellationToken))).ToList();
            }

            if (page.Count == 0)
            {
                return (count, skipped);
            }

            foreach (var row in page)
            {
                WrappedDataKey rewrapped;
                try
                {
                    rewrapped = ring.Rewrap(new WrappedDataKey(row.MasterKeyId, row.WrappedKey), row.DatasetId);
                }
                catch (VaultKeyException)
                {
                    // A data key under a master key this configuration lacks: the others are re-wrapped all the same,
                    // and this one stays as it is (its dataset is refused, naming the key, until the key is configured).
                    skipped++;
                    continue;
                }

                await using var session = await database.BeginAsync(cancellationToken);
                count += await session.ExecuteAsync(ExchangeSql.RewrapDataKey, new
                {
                    row.DatasetId, rewrapped.MasterKeyId, WrappedKey = rewrapped.Sealed, At = time.GetUtcNow().ToUnixTimeMilliseconds(), ExpectedVersion = row.Version,
                });
                await session.CommitAsync();
            }

            after = page[^1].DatasetId;
        }
    }

    private static Task<DataKeyRow?> ReadAsync(DbConnection connection, string datasetId, CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<DataKeyRow>(new CommandDefinition(ExchangeSql.GetDataKey, new { DatasetId = datasetId }, cancellationToken: cancellationToken));

    private sealed class DataKeyRow
    {
        public string DatasetId { get; set; } = "";
        public string MasterKeyId { get; set; } = "";
        public byte[] WrappedKey { get; set; } = [];
        public long Version { get; set; }
    }
}
