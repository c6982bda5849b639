using System.Text;
using Oversight.BuildingBlocks.Audit;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>Appends in the caller's transaction, gapless under concurrency, and proofs from the stored tree in O(log n) reads.</summary>
public sealed class AuditLogStorageTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Appended_entries_take_sequences_from_zero_and_the_stored_tree_gives_every_root()
    {
        await using var log = await TestLog.CreateAsync();
        var entries = await log.AppendAsync(37);

        Assert.Equal(Enumerable.Range(0, 37).Select(i => (long)i), entries.Select(e => e.Sequence));
        Assert.Equal(37, await log.Reader.SizeAsync(Cancel));
        var leaves = entries.Select(e => e.LeafHash).ToList();
        for (var size = 0; size <= 37; size++)
        {
            Assert.Equal(MerkleHashing.Root(leaves.Take(size).ToList()), await log.Reader.RootAsync(size, Cancel));
        }

        // One node per complete subtree of size ≥ 2: n − popcount(n) of them, written as appends completed them.
        Assert.Equal(37 - 3, await log.ScalarAsync<long>("SELECT COUNT(*) FROM audit_tree_node"));
    }

    [Fact]
    public async Task Every_proof_from_the_stored_tree_verifies()
    {
        await using var log = await TestLog.CreateAsync();
        var entries = await log.AppendAsync(21);
        var leaves = entries.Select(e => e.LeafHash).ToList();
        for (var size = 1; size <= 21; size++)
        {
            var root = MerkleHashing.Root(leaves.Take(size).ToList());
            for (var i = 0; i < size; i++)
            {
                Assert.True((await log.Reader.InclusionProofAsync(i, size, Cancel)).Verifies(leaves[i], root));
            }

            for (var from = 1; from <= size; from++)
            {
                Assert.True((await log.Reader.ConsistencyProofAsync(from, size, Cancel)).Verifies(MerkleHashing.Root(leaves.Take(from).ToList()), root));
            }
        }
    }

    [Fact]
    public async Task A_proof_reads_logarithmically_many_subtrees_in_one_fetch()
    {
        await using var log = await TestLog.CreateAsync();
        var leaves = (await log.AppendAsync(1000)).Select(e => e.LeafHash).ToList();
        await using var connection = await log.Database.OpenAsync(Cancel);
        foreach (var (index, size) in new[] { (0L, 1000L), (999L, 1000L), (517L, 999L), (3L, 513L) })
        {
            var tree = new CountingTree(new StoredMerkleTree(connection, null));
            var proof = await InclusionProof.CreateAsync(tree, index, size, Cancel);
            Assert.True(proof.Verifies(leaves[(int)index], MerkleHashing.Root(leaves.Take((int)size).ToList())));
            Assert.Equal(1, tree.Fetches); // one query for leaves, one for nodes
            Assert.InRange(tree.Subtrees, 1, 2 * 10 + 2);
        }

        foreach (var (from, to) in new[] { (1L, 1000L), (999L, 1000L), (511L, 997L), (600L, 601L) })
        {
            var tree = new CountingTree(new StoredMerkleTree(connection, null));
            var proof = await ConsistencyProof.CreateAsync(tree, from, to, Cancel);
            Assert.True(proof.Verifies(MerkleHashing.Root(leaves.Take((int)from).ToList()), MerkleHashing.Root(leaves.Take((int)to).ToList())));
            Assert.Equal(1, tree.Fetches);
            Assert.InRange(tree.Subtrees, 1, 2 * 10 + 2);
        }
    }

    [Fact]
    public async Task A_rolled_back_change_leaves_no_entry_and_no_gap()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(3);
        await using (var session = await log.Database.BeginAsync(Cancel))
        {
            var entry = await log.Log.AppendAsync(session, TestLog.Record(99));
            Assert.Equal(3, entry.Sequence);
            // disposed without commit: the change it recorded failed
        }

        Assert.Equal(3, await log.Reader.SizeAsync(Cancel));
        var next = await log.AppendAsync(1, first: 100);
        Assert.Equal(3, next[0].Sequence);
        Assert.True((await log.Verifier.VerifyAsync([], Cancel)).Intact);
    }

    [Fact]
    public async Task Concurrent_transactions_on_several_connections_get_consecutive_sequences()
    {
        await using var log = await TestLog.CreateAsync();
        var committed = await ConcurrentAppends.RunAsync(log, writers: 8, transactionsPerWriter: 20, Cancel);

        var size = await log.Reader.SizeAsync(Cancel);
        Assert.Equal(committed.Count, size);
        Assert.Equal(Enumerable.Range(0, (int)size).Select(i => (long)i), committed.Select(e => e.Sequence).Order());
        var checkpoint = await log.Signer.SignAsync(Cancel);
        foreach (var entry in committed)
        {
            var stored = await log.Reader.EntryAsync(entry.Sequence, Cancel);
            Assert.Equal(entry.CanonicalBytes, stored!.CanonicalBytes);
            Assert.True((await log.Reader.InclusionProofAsync(entry.Sequence, size, Cancel)).Verifies(entry.LeafHash, checkpoint.RootHash));
        }

        Assert.True((await log.Verifier.VerifyAsync([], Cancel)).Intact);
    }

    [Fact]
    public async Task An_entry_holds_the_keyed_hash_of_its_subject_never_the_raw_id()
    {
        await using var log = await TestLog.CreateAsync();
        await using (var session = await log.Database.BeginAsync(Cancel))
        {
            await log.Log.AppendAsync(session, TestLog.Record(1, subject: "subject-raw-4711"));
            await session.CommitAsync();
        }

        var entry = await log.Reader.EntryAsync(0, Cancel);
        Assert.Equal(log.Subjects.For("subject-raw-4711"), entry!.SubjectRef);
        Assert.Matches("^[0-9a-f]{64}$", entry.SubjectRef);
        Assert.DoesNotContain("subject-raw-4711", Encoding.UTF8.GetString(entry.CanonicalBytes), StringComparison.Ordinal);
        var rowsNamingIt = await log.ScalarAsync<long>("""
            SELECT COUNT(*) FROM audit_entry
             WHERE actor_id LIKE '%4711%' OR resource LIKE '%4711%' OR reason LIKE '%4711%' OR subject_ref LIKE '%4711%'
                OR detail LIKE '%4711%' OR instr(canonical, CAST('subject-raw-4711' AS BLOB)) > 0
            """);
        Assert.Equal(0, rowsNamingIt);
        // Another key gives another reference: the reference reveals nothing without the key.
        Assert.NotEqual(entry.SubjectRef, new SubjectReference(new byte[32]).For("subject-raw-4711"));
    }

    [Fact]
    public async Task Listing_filters_by_time_actor_action_resource_and_subject()
    {
        await using var log = await TestLog.CreateAsync();
        var start = log.Time.GetUtcNow();
        await log.AppendAsync(10);
        await using (var session = await log.Database.BeginAsync(Cancel))
        {
            await log.Log.AppendAsync(session, TestLog.Record(10, actor: "paylink", subject: "s-1"));
            await session.CommitAsync();
        }

        Assert.Single(await log.Reader.ListAsync(new AuditEntryFilter(ActorId: "paylink"), -1, 50, Cancel));
        Assert.Single(await log.Reader.ListAsync(new AuditEntryFilter(SubjectRef: log.Subjects.For("s-1")), -1, 50, Cancel));
        Assert.Equal(4, (await log.Reader.ListAsync(new AuditEntryFilter(Action: "consent.grant"), -1, 50, Cancel)).Count);
        Assert.Single(await log.Reader.ListAsync(new AuditEntryFilter(Resource: "consents/c-7"), -1, 50, Cancel));
        var window = await log.Reader.ListAsync(new AuditEntryFilter(From: start.AddSeconds(2), Until: start.AddSeconds(5)), -1, 50, Cancel);
        Assert.Equal([2L, 3L, 4L], window.Select(e => e.Sequence));
        Assert.Equal([5L, 6L], (await log.Reader.ListAsync(new AuditEntryFilter(), 4, 2, Cancel)).Select(e => e.Sequence));
    }

    /// <summary>Counts the fetches a proof makes of the store and the subtrees they ask for.</summary>
    private sealed class CountingTree(MerkleTree inner) : MerkleTree
    {
        public int Fetches { get; private set; }

        public int Subtrees { get; private set; }

        public override Task<byte[]> CompleteSubtreeAsync(int level, long index, CancellationToken cancellationToken) =>
            inner.CompleteSubtreeAsync(level, index, cancellationToken);

        public override Task PrefetchAsync(IReadOnlyCollection<(int Level, long Index)> subtrees, CancellationToken cancellationToken)
        {
            Fetches++;
            Subtrees += subtrees.Count;
            return inner.PrefetchAsync(subtrees, cancellationToken);
        }
    }
}

/// <summary>Several writers, each on its own connection and transaction, appending at once; every fifth transaction rolls back.</summary>
internal static class ConcurrentAppends
{
    public static async Task<List<AuditEntry>> RunAsync(TestLog log, int writers, int transactionsPerWriter, CancellationToken cancellationToken)
    {
        var committed = new System.Collections.Concurrent.ConcurrentBag<AuditEntry>();
        using var start = new SemaphoreSlim(0);
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            await start.WaitAsync(cancellationToken);
            for (var t = 0; t < transactionsPerWriter; t++)
            {
                await using var session = await log.Database.BeginAsync(cancellationToken);
                var entry = await log.Log.AppendAsync(session, TestLog.Record(w * 1000 + t, actor: $"writer-{w}"));
                if (t % 5 == 4)
                {
                    continue; // rolled back: its sequence must be given to the next appender
                }

                await session.CommitAsync();
                committed.Add(entry);
            }
        }, cancellationToken)).ToList();
        start.Release(writers);
        await Task.WhenAll(tasks);
        return committed.ToList();
    }
}
