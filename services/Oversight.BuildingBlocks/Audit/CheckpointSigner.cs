using NSec.Cryptography;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Messaging;
using Oversight.Contracts.Audit;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// Signs the log's checkpoints with its Ed25519 key and keeps every one. It never signs two that
/// disagree: under the head row's lock, a new checkpoint must be at least as large as the last and
/// its tree must prove consistent with the last one's root, or nothing is signed. Each checkpoint
/// is also published (<see cref="AuditCheckpointSigned"/>, through the outbox, in the same
/// transaction) so that other services can witness it.
/// </summary>
public sealed class CheckpointSigner(ModuleDatabase database, Key key, string origin, TimeProvider time, bool publish = true)
{
    public string Origin => origin;

    /// <summary>The public half; its name is the origin.</summary>
    public NoteKey PublicKey { get; } = NoteKey.Of(origin, key);

    /// <summary>The latest checkpoint as this process knows it: what it signs is known here at once.</summary>
    public LatestCheckpoint Latest { get; } = new(database, time);

    /// <summary>Signs the log as it is now, or returns the latest checkpoint when the log is still the one it covers.</summary>
    public async Task<SignedCheckpoint> SignAsync(CancellationToken cancellationToken)
    {
        await using var session = await database.BeginAsync(cancellationToken);
        var size = await session.ExecuteScalarAsync<long>(AuditSql.HoldHead);
        var latest = await AuditLogReader.LatestCheckpointAsync(session.Connection, session.Transaction, session.Dialect, cancellationToken);
        var tree = new StoredMerkleTree(session.Connection, session.Transaction);
        var root = await tree.RootAsync(size, cancellationToken);
        if (latest is not null && latest.TreeSize == size && latest.RootHash.AsSpan().SequenceEqual(root))
        {
            Latest.Signed(latest);
            return latest;
        }

        if (latest is not null && !await ExtendsAsync(tree, latest, size, root, cancellationToken))
        {
            throw new FailedPreconditionException("LOG_NOT_CONSISTENT", $"checkpoints/{latest.TreeSize}",
                $"The log of size {size} does not extend the checkpoint signed at size {latest.TreeSize}; refusing to sign. Verify the log.");
        }

        var checkpoint = new Checkpoint(origin, size, root);
        var note = SignedNote.Sign(checkpoint.Body(), PublicKey, key);
        var signedAt = time.UtcNowToMillisecond();
        await session.ExecuteAsync(AuditSql.InsertCheckpoint, new { TreeSize = size, RootHash = root, Note = note, SignedAtMs = signedAt.ToUnixTimeMilliseconds() });
        if (publish)
        {
            await Outbox.EnqueueAsync(session, Outbox.Stamp(new AuditCheckpointSigned
            {
                Origin = origin,
                TreeSize = size,
                RootHash = Convert.ToBase64String(root),
                Note = note,
            }, database.Module, signedAt, size));
        }

        await session.CommitAsync();
        var signed = new SignedCheckpoint(size, root, note, signedAt);
        Latest.Signed(signed);
        return signed;
    }

    private static async Task<bool> ExtendsAsync(MerkleTree tree, SignedCheckpoint last, long size, byte[] root, CancellationToken cancellationToken)
    {
        if (last.TreeSize > size)
        {
            return false;
        }

        if (last.TreeSize == 0)
        {
            return true;
        }

        var proof = await ConsistencyProof.CreateAsync(tree, last.TreeSize, size, cancellationToken);
        return proof.Verifies(last.RootHash, root);
    }
}
