using System.Data.Common;
using System.Threading.Channels;
using Dapper;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>A kind of damage the verifier names.</summary>
public enum AuditLogProblemKind
{
    /// <summary>An entry's stored bytes do not hash to its stored leaf hash.</summary>
    EntryHashMismatch = 1,
    /// <summary>An entry's columns do not encode to its stored bytes: its content or its place changed.</summary>
    EntryBytesMismatch = 2,
    /// <summary>A sequence is missing: an entry was deleted or the log cut short.</summary>
    Gap = 3,
    /// <summary>A stored subtree hash is missing or differs from the one recomputed from the entries.</summary>
    SubtreeMismatch = 4,
    /// <summary>A signed checkpoint is not consistent with the log as stored.</summary>
    CheckpointInconsistent = 5,
    /// <summary>A checkpoint is not signed by this log's key, or its note disagrees with what was stored.</summary>
    CheckpointBadSignature = 6,
}

/// <summary>One piece of damage: its kind, the entry sequence or tree size concerned, and what was seen.</summary>
public sealed record AuditLogProblem(AuditLogProblemKind Kind, long Position, string Description);

/// <summary>The result of verifying the whole log.</summary>
public sealed record AuditLogReport(long TreeSize, long EntriesChecked, byte[] RecomputedRoot, int CheckpointsChecked, IReadOnlyList<AuditLogProblem> Problems)
{
    public bool Intact => Problems.Count == 0;
}

/// <summary>
/// Verifies a log from its stored bytes alone. Entries are read a page at a time and folded into
/// the tree with a stack of complete subtrees (at most one per level), so memory stays flat at any
/// size: every leaf is recomputed from its bytes, every stored subtree compared with the recomputed
/// one, and every checkpoint — those this log signed and those others hold — compared with the root
/// recomputed at its size. It names the first entry problem of each kind and every checkpoint problem.
/// </summary>
public sealed class AuditLogVerifier(ModuleDatabase database, NoteKey logKey, int pageSize = 4096, IReadOnlyList<NoteKey>? previousKeys = null)
{
    /// <summary>For tests: read SQLite through ADO.NET, the path SQL Server takes, instead of SQLite's own API.</summary>
    internal AuditLogVerifier(ModuleDatabase database, NoteKey logKey, int pageSize, bool throughAdoNet)
        : this(database, logKey, pageSize)
    {
        _throughAdoNet = throughAdoNet;
    }

    private readonly bool _throughAdoNet;

    /// <summary>
    /// Checks one checkpoint of this log (one a witness holds) against the stored tree: this log's
    /// signature, and the root at its size. O(log n) reads; null when consistent.
    /// </summary>
    public async Task<AuditLogProblem?> CheckCheckpointAsync(string note, CancellationToken cancellationToken)
    {
        if (Signed(note) is not { } checkpoint)
        {
            return BadSignature(note);
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        var size = await connection.ExecuteScalarAsync<long>(new CommandDefinition(AuditSql.HeadSize, cancellationToken: cancellationToken));
        if (checkpoint.TreeSize > size)
        {
            return Beyond(checkpoint.TreeSize, size);
        }

        try
        {
            var root = await new StoredMerkleTree(connection, null).RootAsync(checkpoint.TreeSize, cancellationToken);
            return root.AsSpan().SequenceEqual(checkpoint.RootHash) ? null : Inconsistent(checkpoint.TreeSize, "its root differs from the stored tree's root at that size");
        }
        catch (AuditLogDamagedException damaged)
        {
            return Inconsistent(checkpoint.TreeSize, damaged.Message);
        }
    }

    public async Task<AuditLogReport> VerifyAsync(IEnumerable<string> heldNotes, CancellationToken cancellationToken)
    {
        var problems = new List<AuditLogProblem>();
        var reported = new HashSet<AuditLogProblemKind>();
        void First(AuditLogProblemKind kind, long position, string description)
        {
            if (reported.Add(kind))
            {
                problems.Add(new AuditLogProblem(kind, position, description));
            }
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        var size = await connection.ExecuteScalarAsync<long>(new CommandDefinition(AuditSql.HeadSize, cancellationToken: cancellationToken));
        var (targets, checkpointsChecked) = await CheckpointsToCheckAsync(connection, heldNotes, problems, cancellationToken);

        var stack = new List<(int Level, byte[] Hash)>();
        var position = 0L;
        var next = 0;
        void CheckTargetsAt(long treeSize)
        {
            for (; next < targets.Count && targets[next].TreeSize <= treeSize; next++)
            {
                var root = Fold(stack);
                if (targets[next].TreeSize == treeSize && !root.AsSpan().SequenceEqual(targets[next].RootHash))
                {
                    problems.Add(Inconsistent(treeSize, $"{targets[next].What} has a root the entries as stored do not give"));
                }
            }
        }

        // Reading (the database, and the columns checked against the bytes) runs one page ahead of
        // the folding (the hashes), each on its own thread: the two cost about the same per entry.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pages = Channel.CreateBounded<Page>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
        var reading = Task.Run(() => ReadPagesAsync(connection, size, pages.Writer, stop.Token), stop.Token);
        try
        {
            CheckTargetsAt(0);
            await foreach (var page in pages.Reader.ReadAllAsync(cancellationToken))
            {
                foreach (var row in page.Rows)
                {
                    if (row.Sequence != position)
                    {
                        First(AuditLogProblemKind.Gap, position, $"entries {position} to {row.Sequence - 1} are missing");
                    }

                    if (!row.ColumnsMatch)
                    {
                        First(AuditLogProblemKind.EntryBytesMismatch, row.Sequence, $"entry {row.Sequence}: its columns do not encode to its stored bytes");
                    }

                    var leaf = new byte[MerkleHashing.HashSize];
                    MerkleHashing.HashLeaf(row.Canonical, leaf);
                    if (!leaf.AsSpan().SequenceEqual(row.LeafHash))
                    {
                        First(AuditLogProblemKind.EntryHashMismatch, row.Sequence, $"entry {row.Sequence}: its stored bytes do not hash to its stored leaf hash");
                    }

                    stack.Add((0, leaf));
                    position++;
                    while (stack.Count >= 2 && stack[^1].Level == stack[^2].Level)
                    {
                        var level = stack[^1].Level + 1;
                        var hash = stack[^2].Hash;
                        MerkleHashing.HashChildren(hash, stack[^1].Hash, hash);
                        stack.RemoveAt(stack.Count - 1);
                        stack[^1] = (level, hash);
                        var index = (position >> level) - 1;
                        if (!page.Nodes.TryGetValue(MerkleHashing.NodeId(level, index), out var kept) || !kept.AsSpan().SequenceEqual(hash))
                        {
                            First(AuditLogProblemKind.SubtreeMismatch, index, $"subtree ({level}, {index}) is {(kept is null ? "missing" : "not the hash of its entries")}");
                        }
                    }

                    CheckTargetsAt(position);
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await reading.ContinueWith(static _ => { }, TaskScheduler.Default); // its fault, if any, surfaced through the channel
        }

        if (position < size)
        {
            First(AuditLogProblemKind.Gap, position, $"the head says {size} entries but only {position} are stored");
        }

        for (; next < targets.Count; next++)
        {
            problems.Add(Beyond(targets[next].TreeSize, position));
        }

        return new AuditLogReport(size, position, Fold(stack), checkpointsChecked, problems);
    }

    /// <summary>A page's entries and the stored subtrees they complete, by node id.</summary>
    private sealed record Page(List<EntryPageRow> Rows, Dictionary<long, byte[]> Nodes);

    /// <summary>
    /// Reads the entries below <paramref name="size"/> a page of sequences at a time, and the stored
    /// subtrees the page's entries complete: those inside the page as one range of node ids, the few
    /// larger ones that end in it by id.
    /// </summary>
    private async Task ReadPagesAsync(DbConnection connection, long size, ChannelWriter<Page> pages, CancellationToken cancellationToken)
    {
        try
        {
            using var columns = new EntryColumnCheck();
            await using var reads = _throughAdoNet ? new AdoEntryPages(connection) : EntryPages.On(connection, database.BusyTimeoutMs);
            var position = 0L; // where the page's first entry lands in the tree: entries read so far
            for (var from = 0L; from < size; from += pageSize)
            {
                var rows = new List<EntryPageRow>(pageSize);
                await reads.ReadEntriesAsync(from, Math.Min(from + pageSize, size), columns, rows, cancellationToken);
                if (rows.Count == 0)
                {
                    continue;
                }

                var stored = new Dictionary<long, byte[]>(rows.Count);
                await reads.ReadNodesAsync(2 * position, 2 * (position + rows.Count), stored, cancellationToken);
                await LargerNodesAsync(connection, position, position + rows.Count, stored, cancellationToken);
                position += rows.Count;
                await pages.WriteAsync(new Page(rows, stored), cancellationToken);
            }

            pages.Complete();
        }
        catch (Exception e)
        {
            pages.Complete(e);
        }
    }

    /// <summary>
    /// The stored subtrees leaves [from, to) complete that began before them, so have ids below the
    /// page's range (by <see cref="MerkleHashing.NodeId"/>, one inside [a, b) has an id in [2a, 2b)):
    /// one per trailing 1 bit of a position, a few per page.
    /// </summary>
    private static async Task LargerNodesAsync(DbConnection connection, long from, long to, Dictionary<long, byte[]> stored, CancellationToken cancellationToken)
    {
        var larger = new List<long>();
        for (var position = from; position < to; position++)
        {
            for (var (level, index) = (1, position); (index & 1) == 1; level++, index >>= 1)
            {
                var id = MerkleHashing.NodeId(level, index >> 1);
                if (id < 2 * from)
                {
                    larger.Add(id);
                }
            }
        }

        foreach (var chunk in larger.Chunk(StoredMerkleTree.MaxIdsPerRead))
        {
            var rows = await connection.QueryAsync<(long Id, byte[] Hash)>(new CommandDefinition(
                AuditSql.NodeHashes, new { Ids = chunk }, cancellationToken: cancellationToken));
            foreach (var (id, hash) in rows)
            {
                stored[id] = hash;
            }
        }
    }

    /// <summary>Own stored checkpoints and the held notes, by size; those not signed by this log are problems, not targets.</summary>
    private async Task<(List<(long TreeSize, byte[] RootHash, string What)> Targets, int Count)> CheckpointsToCheckAsync(
        DbConnection connection, IEnumerable<string> heldNotes, List<AuditLogProblem> problems, CancellationToken cancellationToken)
    {
        var targets = new List<(long TreeSize, byte[] RootHash, string What)>();
        var count = 0;
        for (var after = -1L; ;)
        {
            var page = (await connection.QueryAsync<AuditLogReader.CheckpointRow>(new CommandDefinition(
                AuditSql.CheckpointsAfter(database.Dialect), new { After = after, Limit = pageSize }, cancellationToken: cancellationToken))).ToList();
            foreach (var row in page)
            {
                count++;
                var checkpoint = Signed(row.Note);
                if (checkpoint is null || checkpoint.TreeSize != row.TreeSize || !checkpoint.RootHash.AsSpan().SequenceEqual(row.RootHash))
                {
                    problems.Add(new AuditLogProblem(AuditLogProblemKind.CheckpointBadSignature, row.TreeSize,
                        $"the stored checkpoint at size {row.TreeSize} is not signed by this log's key or disagrees with its note"));
                    continue;
                }

                targets.Add((row.TreeSize, row.RootHash, $"the checkpoint this log signed at size {row.TreeSize}"));
            }

            if (page.Count < pageSize)
            {
                break;
            }

            after = page[^1].TreeSize;
        }

        foreach (var note in heldNotes)
        {
            count++;
            if (Signed(note) is { } checkpoint)
            {
                targets.Add((checkpoint.TreeSize, checkpoint.RootHash, $"the checkpoint held elsewhere at size {checkpoint.TreeSize}"));
            }
            else
            {
                problems.Add(BadSignature(note));
            }
        }

        targets.Sort((a, b) => a.TreeSize.CompareTo(b.TreeSize));
        return (targets, count);
    }

    private Checkpoint? Signed(string note) =>
        SignedNote.Parse(note) is { } signed && SignedByThisLog(signed) && Checkpoint.Parse(signed.Text) is { } checkpoint && checkpoint.Origin == logKey.Name
            ? checkpoint
            : null;

    /// <summary>By the log's key, or by a key it signed with before a rotation (same name: the origin).</summary>
    private bool SignedByThisLog(SignedNote signed) =>
        signed.IsSignedBy(logKey) || (previousKeys ?? []).Any(key => key.Name == logKey.Name && signed.IsSignedBy(key));

    private static byte[] Fold(List<(int Level, byte[] Hash)> stack)
    {
        if (stack.Count == 0)
        {
            return MerkleHashing.EmptyRoot();
        }

        var root = stack[^1].Hash;
        for (var i = stack.Count - 2; i >= 0; i--)
        {
            root = MerkleHashing.HashChildren(stack[i].Hash, root);
        }

        return root;
    }

    private AuditLogProblem BadSignature(string note)
    {
        var size = Checkpoint.ParseNote(note)?.TreeSize ?? -1;
        return new AuditLogProblem(AuditLogProblemKind.CheckpointBadSignature, size,
            $"a checkpoint{(size >= 0 ? $" at size {size}" : "")} is not signed by this log's key '{logKey.Name}+{logKey.KeyIdHex}'");
    }

    private static AuditLogProblem Beyond(long treeSize, long size) =>
        Inconsistent(treeSize, $"it covers {treeSize} entries but the log holds only {size}: the log was cut short");

    private static AuditLogProblem Inconsistent(long treeSize, string why) =>
        new(AuditLogProblemKind.CheckpointInconsistent, treeSize, $"the checkpoint at size {treeSize} is not consistent with the log: {why}");
}
