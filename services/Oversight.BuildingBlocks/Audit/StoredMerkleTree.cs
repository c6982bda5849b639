using System.Data.Common;
using Dapper;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// The log's tree as stored: leaf hashes in <c>audit_entry</c>, complete subtrees in
/// <c>audit_tree_node</c>. What a proof needs is fetched with one query per table (see
/// <see cref="MerkleTree.PlannedAsync{T}"/>) and kept for the life of this object: stored subtrees never change.
/// </summary>
public sealed class StoredMerkleTree(DbConnection connection, DbTransaction? transaction) : MerkleTree
{
    /// <summary>How many ids one IN list carries at most (SQL Server takes 2,100 parameters).</summary>
    internal const int MaxIdsPerRead = 1000;

    private readonly Dictionary<(int Level, long Index), byte[]> _read = [];

    public override async Task<byte[]> CompleteSubtreeAsync(int level, long index, CancellationToken cancellationToken)
    {
        if (!_read.ContainsKey((level, index)))
        {
            await PrefetchAsync([(level, index)], cancellationToken);
        }

        return _read.TryGetValue((level, index), out var hash)
            ? hash
            : throw new AuditLogDamagedException($"The stored subtree ({level}, {index}) is missing: the log is damaged; verify it.");
    }

    public override async Task PrefetchAsync(IReadOnlyCollection<(int Level, long Index)> subtrees, CancellationToken cancellationToken)
    {
        var wanted = subtrees.Where(s => !_read.ContainsKey(s)).Distinct().ToList();
        foreach (var chunk in wanted.Where(s => s.Level == 0).Chunk(MaxIdsPerRead))
        {
            foreach (var (id, hash) in await ReadAsync(AuditSql.LeafHashes, chunk.Select(s => s.Index), cancellationToken))
            {
                _read[(0, id)] = hash;
            }
        }

        foreach (var chunk in wanted.Where(s => s.Level > 0).Chunk(MaxIdsPerRead))
        {
            var byId = chunk.ToDictionary(s => MerkleHashing.NodeId(s.Level, s.Index));
            foreach (var (id, hash) in await ReadAsync(AuditSql.NodeHashes, byId.Keys, cancellationToken))
            {
                _read[byId[id]] = hash;
            }
        }
    }

    private Task<IEnumerable<(long Id, byte[] Hash)>> ReadAsync(string sql, IEnumerable<long> ids, CancellationToken cancellationToken) =>
        connection.QueryAsync<(long Id, byte[] Hash)>(new CommandDefinition(sql, new { Ids = ids.ToList() }, transaction, cancellationToken: cancellationToken));
}

/// <summary>DATA_LOSS: a hash the log must hold is not there. Only tampering or a lost write does that.</summary>
public sealed class AuditLogDamagedException(string message) : ServiceException(Google.Rpc.Code.DataLoss, message);
