using Oversight.Audit.V1;
using Oversight.BuildingBlocks.Audit;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>What GetEntry keeps in memory: the latest checkpoint and the upper stored subtrees, never serving what the log does not hold.</summary>
public sealed class AuditReadCacheTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_checkpoint_signed_in_this_process_is_served_at_once()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(3);
        await log.Signer.SignAsync(Cancel);
        await using var connection = await log.Database.OpenAsync(Cancel);
        Assert.Equal(3, (await log.Signer.Latest.GetAsync(connection, Cancel))!.TreeSize);

        await log.AppendAsync(2, first: 3);
        var signed = await log.Signer.SignAsync(Cancel);

        var served = await log.Signer.Latest.GetAsync(connection, Cancel);
        Assert.Equal((5L, signed.Note), (served!.TreeSize, served.Note));
    }

    [Fact]
    public async Task A_checkpoint_another_replica_signed_is_served_once_the_known_one_is_older_than_the_bound()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(3);
        await log.Signer.SignAsync(Cancel);
        await log.AppendAsync(2, first: 3); // the test clock moves a second per append
        await using var connection = await log.Database.OpenAsync(Cancel);
        Assert.Equal(3, (await log.Signer.Latest.GetAsync(connection, Cancel))!.TreeSize);

        // Another replica: the same log, key and database, its own process (and its own LatestCheckpoint).
        var replica = new CheckpointSigner(log.Database, log.Key, TestLog.Origin, log.Time);
        Assert.Equal(5, (await replica.SignAsync(Cancel)).TreeSize);
        Assert.Equal(3, (await log.Signer.Latest.GetAsync(connection, Cancel))!.TreeSize); // within the bound, and still a proof of entries 0–2

        log.Time.Advance(LatestCheckpoint.MaxAge);
        Assert.Equal(5, (await log.Signer.Latest.GetAsync(connection, Cancel))!.TreeSize);
    }

    [Fact]
    public async Task Once_the_bound_has_passed_the_latest_checkpoint_is_the_one_the_database_holds()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(3);
        await log.Signer.SignAsync(Cancel);
        await log.AppendAsync(2, first: 3);
        await log.Signer.SignAsync(Cancel);
        await log.TamperAsync("DELETE FROM audit_checkpoint WHERE tree_size = 5");
        await using var connection = await log.Database.OpenAsync(Cancel);
        Assert.Equal(5, (await log.Signer.Latest.GetAsync(connection, Cancel))!.TreeSize);

        // A read without the cache would see size 3 now; with it, so does GetEntry, MaxAge later at most.
        log.Time.Advance(LatestCheckpoint.MaxAge);
        Assert.Equal(3, (await log.Signer.Latest.GetAsync(connection, Cancel))!.TreeSize);
        await log.TamperAsync("DELETE FROM audit_checkpoint");
        log.Time.Advance(LatestCheckpoint.MaxAge);
        Assert.Null(await log.Signer.Latest.GetAsync(connection, Cancel));
    }

    [Fact]
    public async Task Proofs_through_the_subtree_cache_equal_those_read_from_the_store_alone()
    {
        await using var log = await TestLog.CreateAsync();
        var leaves = (await log.AppendAsync(300)).Select(e => e.LeafHash).ToList();
        var cached = new AuditLogReader(log.Database, new SubtreeCache(minLevel: 1));
        await using var connection = await log.Database.OpenAsync(Cancel);
        foreach (var size in new long[] { 300, 257, 256, 129, 2 })
        {
            var root = MerkleHashing.Root(leaves.Take((int)size).ToList());
            for (var round = 0; round < 2; round++)
            {
                for (var i = 0L; i < size; i += 7)
                {
                    var fromCache = await cached.InclusionProofAsync(connection, i, size, Cancel);
                    var fromStore = await InclusionProof.CreateAsync(new StoredMerkleTree(connection, null), i, size, Cancel);
                    Assert.Equal(fromStore.Path, fromCache.Path);
                    Assert.True(fromCache.Verifies(leaves[(int)i], root));
                }
            }
        }

        Assert.True(cached.Subtrees.TryGet(8, 0, out _)); // the level-8 subtree every proof at 300 shares was kept
    }

    [Fact]
    public async Task A_cached_subtree_is_not_served_for_another_log()
    {
        await using var first = await TestLog.CreateAsync();
        await using var second = await TestLog.CreateAsync();
        var firstLeaves = (await first.AppendAsync(40)).Select(e => e.LeafHash).ToList();
        var secondLeaves = (await second.AppendAsync(40, first: 1000)).Select(e => e.LeafHash).ToList();
        var firstReader = new AuditLogReader(first.Database, new SubtreeCache(minLevel: 1));
        var secondReader = new AuditLogReader(second.Database, new SubtreeCache(minLevel: 1));
        var (firstRoot, secondRoot) = (MerkleHashing.Root(firstLeaves), MerkleHashing.Root(secondLeaves));
        Assert.NotEqual(firstRoot, secondRoot);

        for (var i = 0; i < 40; i++)
        {
            Assert.True((await firstReader.InclusionProofAsync(i, 40, Cancel)).Verifies(firstLeaves[i], firstRoot));
            Assert.True((await secondReader.InclusionProofAsync(i, 40, Cancel)).Verifies(secondLeaves[i], secondRoot));
        }
    }

    [Fact]
    public async Task Subtrees_read_inside_a_transaction_are_not_cached()
    {
        await using var log = await TestLog.CreateAsync();
        var cache = new SubtreeCache(minLevel: 1);
        await using (var session = await log.Database.BeginAsync(Cancel))
        {
            for (var i = 0; i < 4; i++)
            {
                await log.Log.AppendAsync(session, TestLog.Record(i));
            }

            // Written by this transaction, which rolls back: a cache that kept them would serve subtrees the log never held.
            var tree = new StoredMerkleTree(session.Connection, session.Transaction, cache);
            await tree.RootAsync(4, Cancel);
        }

        Assert.False(cache.TryGet(2, 0, out _));
        Assert.False(cache.TryGet(1, 0, out _));
    }

    [Fact]
    public void The_subtree_cache_holds_no_more_than_its_slots_and_only_its_levels()
    {
        var cache = new SubtreeCache(minLevel: 3, slots: 4);
        for (var index = 0L; index < 100; index++)
        {
            cache.Add(3, index, [(byte)index]);
        }

        cache.Add(2, 0, [42]);
        var held = Enumerable.Range(0, 100).Count(index => cache.TryGet(3, index, out var hash) && hash[0] == index);
        Assert.InRange(held, 1, 4);
        Assert.False(cache.TryGet(2, 0, out _));
    }

    [Fact]
    public async Task GetEntry_on_a_log_rewritten_under_its_caches_answers_from_the_store()
    {
        await using var host = await AuditTestHost.StartAsync();
        for (var i = 0; i < 4; i++)
        {
            await host.ActAsync("shopwave", resource: $"consents/{i}");
        }

        var client = host.Client();
        var before = await client.GetEntryAsync(new GetEntryRequest { Sequence = 2 }, cancellationToken: Cancel);
        Assert.Equal(4, before.TreeSize);

        // Another past from entry 1 on, every hash recomputed, the checkpoints gone; the host's clock stands still, so its latest checkpoint is still "fresh".
        await using (var session = await host.Audit.Database.BeginAsync(Cancel))
        {
            await session.ExecuteAsync("DELETE FROM audit_entry WHERE sequence >= 1");
            await session.ExecuteAsync("DELETE FROM audit_tree_node WHERE (node_index + 1) * (1 << level) > 1");
            await session.ExecuteAsync("UPDATE audit_log_head SET size = 1");
            await session.ExecuteAsync("DELETE FROM audit_checkpoint");
            for (var i = 0; i < 3; i++)
            {
                await host.Audit.Log.AppendAsync(session, new AuditRecord("shopwave", "platform", "consent.grant", $"consents/forged-{i}", AuditOutcomes.Succeeded));
            }

            await session.CommitAsync();
        }

        var after = await client.GetEntryAsync(new GetEntryRequest { Sequence = 2 }, cancellationToken: Cancel);
        Assert.Equal("consents/forged-1", after.Entry.Resource);
        Assert.True(InclusionProof.Verify(2, after.TreeSize, after.Entry.LeafHash.Span, after.Checkpoint.RootHash.Span, after.InclusionPath.Select(p => p.ToByteArray()).ToList()));
    }
}
