using System.Data.Common;
using Dapper;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// The log's tree as stored: leaf hashes in <c>audit_entry</c>, complete subtrees in
/// <c>audit_tree_node</c>. One primary-key read per subtree, so a proof is O(log n) reads.
/// </summary>
public sealed class StoredMerkleTree(DbConnection connection, DbTransaction? transaction) : MerkleTree
{
    public override async Task<byte[]> CompleteSubtreeAsync(int level, long index, CancellationToken cancellationToken)
    {
        var hash = level == 0
            ? await connection.ExecuteScalarAsync<byte[]>(new CommandDefinition(AuditSql.LeafHash, new { Index = index }, transaction, cancellationToken: cancellationToken))
            : await connection.ExecuteScalarAsync<byte[]>(new CommandDefinition(AuditSql.NodeHash, new { Level = level, Index = index }, transaction, cancellationToken: cancellationToken));
        return hash ?? throw new AuditLogDamagedException($"The stored subtree ({level}, {index}) is missing: the log is damaged; verify it.");
    }
}

/// <summary>DATA_LOSS: a hash the log must hold is not there. Only tampering or a lost write does that.</summary>
public sealed class AuditLogDamagedException(string message) : ServiceException(Google.Rpc.Code.DataLoss, message);
