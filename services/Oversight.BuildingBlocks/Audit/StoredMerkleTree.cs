using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// The log's tree as stored: leaf hashes in <c>audit_entry</c>, complete subtrees in
/// <c>audit_tree_node</c>. What a proof needs is fetched at once (see
/// <see cref="MerkleTree.PlannedAsync{T}"/>) and kept for the life of this object: stored subtrees never change.
/// </summary>
/// <param name="cache">
/// The log's shared cache of upper subtrees, read before the store and filled from it. Only for a
/// tree read outside a transaction: what a transaction reads may be its own, still uncommitted, writes.
/// </param>
public sealed class StoredMerkleTree(DbConnection connection, DbTransaction? transaction, SubtreeCache? cache = null) : MerkleTree
{
    /// <summary>How many ids one IN list carries at most (SQL Server takes 2,100 parameters).</summary>
    internal const int MaxIdsPerRead = 1000;

    /// <summary>
    /// Up to this many subtrees, SQLite reads each with one prepared point lookup rather than an IN
    /// list: Microsoft.Data.Sqlite compiles every statement on every call (no statement cache), and
    /// an IN list of n parameters costs more to compile and bind than n steps of one statement.
    /// </summary>
    private const int MaxPointLookups = 32;

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
        var wanted = new List<(int Level, long Index)>(subtrees.Count);
        foreach (var subtree in subtrees)
        {
            if (_read.ContainsKey(subtree))
            {
                continue;
            }

            if (cache is not null && cache.TryGet(subtree.Level, subtree.Index, out var cached))
            {
                // A copy: whoever holds a proof's hashes may write into them; the cache's stay as read.
                _read[subtree] = cached.ToArray();
                continue;
            }

            wanted.Add(subtree);
        }

        if (wanted.Count == 0)
        {
            return;
        }

        wanted = wanted.Distinct().ToList();
        if (wanted.Count <= MaxPointLookups && connection is SqliteConnection)
        {
            cancellationToken.ThrowIfCancellationRequested();
            LookUpEach(AuditSql.LeafHash, wanted.Where(s => s.Level == 0).ToList());
            LookUpEach(AuditSql.NodeHash, wanted.Where(s => s.Level > 0).ToList());
            return;
        }

        foreach (var chunk in wanted.Where(s => s.Level == 0).Chunk(MaxIdsPerRead))
        {
            foreach (var (id, hash) in await ReadAsync(AuditSql.LeafHashes, chunk.Select(s => s.Index), cancellationToken))
            {
                Keep((0, id), hash);
            }
        }

        foreach (var chunk in wanted.Where(s => s.Level > 0).Chunk(MaxIdsPerRead))
        {
            var byId = chunk.ToDictionary(s => MerkleHashing.NodeId(s.Level, s.Index));
            foreach (var (id, hash) in await ReadAsync(AuditSql.NodeHashes, byId.Keys, cancellationToken))
            {
                Keep(byId[id], hash);
            }
        }
    }

    /// <summary>
    /// One statement, prepared once and stepped once per subtree (leaves by sequence, nodes by node
    /// id). Synchronous: Microsoft.Data.Sqlite's async calls run synchronously anyway, and only add a task per step.
    /// </summary>
    private void LookUpEach(string sql, List<(int Level, long Index)> subtrees)
    {
        if (subtrees.Count == 0)
        {
            return;
        }

        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        var id = command.CreateParameter();
        id.ParameterName = "@Id";
        command.Parameters.Add(id);
        foreach (var subtree in subtrees)
        {
            id.Value = subtree.Level == 0 ? subtree.Index : MerkleHashing.NodeId(subtree.Level, subtree.Index);
            using var reader = command.ExecuteReader();
            if (reader.Read())
            {
                Keep(subtree, reader.GetFieldValue<byte[]>(0));
            }
        }
    }

    private void Keep((int Level, long Index) subtree, byte[] hash)
    {
        _read[subtree] = hash;
        if (cache is not null && transaction is null)
        {
            cache.Add(subtree.Level, subtree.Index, hash.ToArray());
        }
    }

    private Task<IEnumerable<(long Id, byte[] Hash)>> ReadAsync(string sql, IEnumerable<long> ids, CancellationToken cancellationToken) =>
        connection.QueryAsync<(long Id, byte[] Hash)>(new CommandDefinition(sql, new { Ids = ids.ToList() }, transaction, cancellationToken: cancellationToken));
}

/// <summary>DATA_LOSS: a hash the log must hold is not there. Only tampering or a lost write does that.</summary>
public sealed class AuditLogDamagedException(string message) : ServiceException(Google.Rpc.Code.DataLoss, message);
