using NSec.Cryptography;
using Oversight.BuildingBlocks.Audit;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>Each way whoever runs the database could rewrite the log, caught and named by the verifier.</summary>
public sealed class TamperTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_intact_log_verifies_with_no_problem()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(30);
        var checkpoint = await log.Signer.SignAsync(Cancel);
        await log.AppendAsync(4, first: 30);

        var report = await log.Verifier.VerifyAsync([checkpoint.Note], Cancel);
        Assert.Empty(report.Problems);
        Assert.Equal((34L, 34L, 2), (report.TreeSize, report.EntriesChecked, report.CheckpointsChecked));
        Assert.Equal(await log.Reader.RootAsync(34, Cancel), report.RecomputedRoot);
    }

    [Fact]
    public async Task Changed_bytes_of_one_entry_are_named_by_its_sequence()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(20);
        await log.TamperAsync("UPDATE audit_entry SET canonical = CAST('forged' AS BLOB) WHERE sequence = 13");

        var problem = Single(await log.Verifier.VerifyAsync([], Cancel), AuditLogProblemKind.EntryHashMismatch);
        Assert.Equal(13, problem.Position);
    }

    [Fact]
    public async Task A_changed_column_is_named_even_when_the_bytes_were_left_alone()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(20);
        await log.TamperAsync("UPDATE audit_entry SET outcome = 'refused' WHERE sequence = 6");

        Assert.Equal(6, Single(await log.Verifier.VerifyAsync([], Cancel), AuditLogProblemKind.EntryBytesMismatch).Position);
    }

    [Fact]
    public async Task A_deleted_entry_is_named_as_the_first_gap()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(20);
        await log.TamperAsync("DELETE FROM audit_entry WHERE sequence = 9");

        var problem = Single(await log.Verifier.VerifyAsync([], Cancel), AuditLogProblemKind.Gap);
        Assert.Equal(9, problem.Position);
    }

    [Fact]
    public async Task Two_swapped_entries_are_named_by_the_first_moved_one()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(20);
        // Move each row's whole content, hashes included, into the other's place.
        await log.TamperAsync("UPDATE audit_entry SET sequence = 1000000 WHERE sequence = 4");
        await log.TamperAsync("UPDATE audit_entry SET sequence = 4 WHERE sequence = 11");
        await log.TamperAsync("UPDATE audit_entry SET sequence = 11 WHERE sequence = 1000000");

        var report = await log.Verifier.VerifyAsync([], Cancel);
        Assert.Equal(4, Single(report, AuditLogProblemKind.EntryBytesMismatch).Position);
        Assert.Contains(report.Problems, p => p.Kind == AuditLogProblemKind.SubtreeMismatch);
    }

    [Fact]
    public async Task A_log_cut_short_behind_its_head_is_named_as_a_gap()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(20);
        await log.TamperAsync("DELETE FROM audit_entry WHERE sequence >= 15");

        var problem = Single(await log.Verifier.VerifyAsync([], Cancel), AuditLogProblemKind.Gap);
        Assert.Equal(15, problem.Position);
        Assert.Contains("head says 20", problem.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_log_truncated_with_its_head_and_tree_is_named_by_the_checkpoint_it_signed()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(20);
        await log.Signer.SignAsync(Cancel);
        await History.RewriteFromAsync(log, 12, 0);

        var report = await log.Verifier.VerifyAsync([], Cancel);
        var problem = Single(report, AuditLogProblemKind.CheckpointInconsistent);
        Assert.Equal(20, problem.Position);
        Assert.Contains("cut short", problem.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_history_rewritten_with_every_hash_recomputed_is_caught_only_by_a_checkpoint_someone_else_holds()
    {
        await using var log = await TestLog.CreateAsync();
        await using var witness = await TestLog.CreateAsync("oversight.test/witness");
        await log.AppendAsync(20);
        var published = await log.Signer.SignAsync(Cancel);
        await using (var session = await witness.Database.BeginAsync(Cancel))
        {
            Assert.Equal(WitnessOutcome.Stored, await witness.Witness.ReceiveAsync(session, published.Note));
            await session.CommitAsync();
        }

        // From entry 8 on, another past: entries, leaf hashes, subtrees and head all recomputed, own checkpoints gone.
        await History.RewriteFromAsync(log, 8, 14);
        await log.TamperAsync("DELETE FROM audit_checkpoint");

        Assert.Empty((await log.Verifier.VerifyAsync([], Cancel)).Problems);
        var held = (await witness.Witness.ListAsync(TestLog.Origin, "", -1, 10, Cancel)).Single();
        var report = await log.Verifier.VerifyAsync([held.Note], Cancel);
        Assert.Equal(20, Single(report, AuditLogProblemKind.CheckpointInconsistent).Position);
        var quick = await log.Verifier.CheckCheckpointAsync(held.Note, Cancel);
        Assert.Equal(AuditLogProblemKind.CheckpointInconsistent, quick!.Kind);
    }

    [Fact]
    public async Task An_old_checkpoint_signed_with_another_key_is_named()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(10);
        using var otherKey = Key.Create(SignatureAlgorithm.Ed25519);
        var root = await log.Reader.RootAsync(6, Cancel);
        var forged = SignedNote.Sign(new Checkpoint(TestLog.Origin, 6, root).Body(), NoteKey.Of(TestLog.Origin, otherKey), otherKey);

        var report = await log.Verifier.VerifyAsync([forged], Cancel);
        Assert.Equal(6, Single(report, AuditLogProblemKind.CheckpointBadSignature).Position);
        Assert.Equal(AuditLogProblemKind.CheckpointBadSignature, (await log.Verifier.CheckCheckpointAsync(forged, Cancel))!.Kind);

        // The same replayed into the log's own table is named too.
        await log.TamperAsync("INSERT INTO audit_checkpoint (tree_size, root_hash, note, signed_at_ms) VALUES (6, @Root, @Note, 0)", new { Root = root, Note = forged });
        Assert.Equal(6, Single(await log.Verifier.VerifyAsync([], Cancel), AuditLogProblemKind.CheckpointBadSignature).Position);
    }

    [Fact]
    public async Task A_stored_subtree_hash_that_was_changed_is_named()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(16);
        await log.TamperAsync("UPDATE audit_tree_node SET hash = @Hash WHERE level = 2 AND node_index = 1", new { Hash = new byte[32] });

        var problem = Single(await log.Verifier.VerifyAsync([], Cancel), AuditLogProblemKind.SubtreeMismatch);
        Assert.Contains("(2, 1)", problem.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_witnessed_checkpoint_of_this_log_that_holds_is_consistent()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(9);
        var checkpoint = await log.Signer.SignAsync(Cancel);
        await log.AppendAsync(5, first: 9);
        Assert.Null(await log.Verifier.CheckCheckpointAsync(checkpoint.Note, Cancel));
    }

    /// <summary>
    /// A rotated signing key: the checkpoints signed before it verify once the old verifier key is
    /// configured as a previous key of the same log, and only then (a key of another name never does).
    /// </summary>
    [Fact]
    public async Task Checkpoints_signed_before_a_key_rotation_verify_with_the_previous_key_configured()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(5);
        await log.Signer.SignAsync(Cancel);

        using var newKey = TestLog.NewKey();
        var rotated = new CheckpointSigner(log.Database, newKey, TestLog.Origin, log.Time);
        await log.AppendAsync(3, first: 5);
        await rotated.SignAsync(Cancel);

        var forgetful = new AuditLogVerifier(log.Database, rotated.PublicKey);
        Assert.Equal(5, Single(await forgetful.VerifyAsync([], Cancel), AuditLogProblemKind.CheckpointBadSignature).Position);

        var remembering = new AuditLogVerifier(log.Database, rotated.PublicKey, previousKeys: [log.Signer.PublicKey]);
        var report = await remembering.VerifyAsync([], Cancel);
        Assert.Empty(report.Problems);
        Assert.Equal(2, report.CheckpointsChecked);

        var stranger = new AuditLogVerifier(log.Database, rotated.PublicKey, previousKeys: [NoteKey.Of("oversight.test/other", log.Key)]);
        Assert.Equal(5, Single(await stranger.VerifyAsync([], Cancel), AuditLogProblemKind.CheckpointBadSignature).Position);
    }

    private static AuditLogProblem Single(AuditLogReport report, AuditLogProblemKind kind)
    {
        Assert.False(report.Intact);
        return Assert.Single(report.Problems, p => p.Kind == kind);
    }
}
