using Dapper;
using NSec.Cryptography;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Errors;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>C2SP checkpoints and signed notes, interoperable with Go's sumdb/note; never two inconsistent checkpoints.</summary>
public sealed class CheckpointTests
{
    // golang.org/x/mod/sumdb/note's documented example: a public test key and the note it signs.
    private const string PeterVerifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    private const string PeterPrivateKey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    private const string PeterText = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    private const string PeterNote = PeterText + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public void A_note_signed_here_is_byte_for_byte_the_one_go_sumdb_note_signs()
    {
        var seed = Convert.FromBase64String(PeterPrivateKey["PRIVATE+KEY+PeterNeumann+c74f20a3+".Length..])[1..];
        using var key = Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey);
        var noteKey = NoteKey.Of("PeterNeumann", key);

        Assert.Equal("c74f20a3", noteKey.KeyIdHex);
        Assert.Equal(PeterVerifierKey, noteKey.VerifierKey);
        Assert.Equal(PeterNote, SignedNote.Sign(PeterText, noteKey, key));
        Assert.True(SignedNote.Parse(PeterNote)!.IsSignedBy(NoteKey.ParseVerifierKey(PeterVerifierKey)!));
    }

    [Fact]
    public void A_note_is_refused_for_another_key_another_name_or_a_changed_text()
    {
        var peter = NoteKey.ParseVerifierKey(PeterVerifierKey)!;
        using var other = TestLog.NewKey();
        Assert.False(SignedNote.Parse(PeterNote)!.IsSignedBy(NoteKey.Of("PeterNeumann", other)));
        Assert.False(SignedNote.Parse(PeterNote)!.IsSignedBy(peter with { Name = "PeterNeuman" }));
        Assert.False(SignedNote.Parse(PeterNote.Replace("answer", "ANSWER", StringComparison.Ordinal))!.IsSignedBy(peter));
        Assert.Null(SignedNote.Parse(PeterText));
        Assert.Null(SignedNote.Parse(PeterText + "\n- PeterNeumann AAAA\n"));
        Assert.Null(NoteKey.ParseVerifierKey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
        Assert.Null(NoteKey.ParseVerifierKey("PeterNeumann+c74f20a3"));
        Assert.Null(NoteKey.ParseVerifierKey("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
    }

    [Fact]
    public void A_verifier_key_whose_base64_holds_a_plus_parses()
    {
        // transparency-dev/formats' test key "TEST", whose key material's base64 contains '+'.
        var key = NoteKey.ParseVerifierKey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6");
        Assert.NotNull(key);
        Assert.Equal(("TEST", "7997405c"), (key.Name, key.KeyIdHex));
        for (var i = 0; i < 50; i++)
        {
            using var random = TestLog.NewKey();
            var generated = NoteKey.Of("oversight/consent", random);
            Assert.Equal(generated.PublicKeyBytes, NoteKey.ParseVerifierKey(generated.VerifierKey)!.PublicKeyBytes);
        }
    }

    [Fact]
    public async Task A_checkpoint_is_the_c2sp_body_in_a_note_signed_by_the_log_key()
    {
        await using var log = await TestLog.CreateAsync();
        var entries = await log.AppendAsync(5);
        var signed = await log.Signer.SignAsync(Cancel);

        var root = MerkleHashing.Root(entries.Select(e => e.LeafHash).ToList());
        var body = $"{TestLog.Origin}\n5\n{Convert.ToBase64String(root)}\n";
        Assert.StartsWith(body + "\n\u2014 " + TestLog.Origin + " ", signed.Note, StringComparison.Ordinal);
        var note = SignedNote.Parse(signed.Note)!;
        Assert.Equal(body, note.Text);
        Assert.True(note.IsSignedBy(log.Signer.PublicKey));
        Assert.Equal(log.Signer.PublicKey.KeyId, note.Signatures.Single().KeyId);
        var checkpoint = Checkpoint.Parse(note.Text)!;
        Assert.Equal((TestLog.Origin, 5L), (checkpoint.Origin, checkpoint.TreeSize));
        Assert.Equal(root, checkpoint.RootHash);
    }

    [Theory]
    [InlineData("origin\n5\n")]
    [InlineData("origin\n05\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")]
    [InlineData("origin\n-5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")]
    [InlineData("origin\n5\nAAAA\n")]
    [InlineData("origin\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")]
    public void A_malformed_checkpoint_body_does_not_parse(string body) => Assert.Null(Checkpoint.Parse(body));

    [Fact]
    public void A_checkpoint_body_with_extension_lines_round_trips()
    {
        var checkpoint = new Checkpoint("example.com/log", 12, new byte[32], ["extension one"]);
        var parsed = Checkpoint.Parse(checkpoint.Body())!;
        Assert.Equal(checkpoint.Body(), parsed.Body());
        Assert.Equal(["extension one"], parsed.Extensions!);
    }

    [Fact]
    public async Task Signing_a_log_that_did_not_grow_returns_the_last_checkpoint_and_a_grown_one_signs_anew()
    {
        await using var log = await TestLog.CreateAsync();
        var empty = await log.Signer.SignAsync(Cancel);
        Assert.Equal(0, empty.TreeSize);
        Assert.Equal(MerkleHashing.EmptyRoot(), empty.RootHash);
        await log.AppendAsync(3);
        var first = await log.Signer.SignAsync(Cancel);
        var again = await log.Signer.SignAsync(Cancel);
        Assert.Equal(first.Note, again.Note);
        await log.AppendAsync(2, first: 3);
        var second = await log.Signer.SignAsync(Cancel);

        Assert.Equal([0L, 3L, 5L], await Sizes(log));
        Assert.True((await log.Reader.ConsistencyProofAsync(3, 5, Cancel)).Verifies(first.RootHash, second.RootHash));
        // Each checkpoint went to the outbox in its transaction, for the other services to witness.
        Assert.Equal(3, await log.ScalarAsync<long>("SELECT COUNT(*) FROM outbox_message WHERE message_type = 'Oversight.Contracts.Audit.AuditCheckpointSigned'"));
    }

    [Fact]
    public async Task A_log_whose_history_was_rewritten_is_never_signed()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(6);
        var honest = await log.Signer.SignAsync(Cancel);
        await History.RewriteFromAsync(log, 2, 4);

        var refused = await Assert.ThrowsAsync<FailedPreconditionException>(() => log.Signer.SignAsync(Cancel));
        Assert.Equal("LOG_NOT_CONSISTENT", refused.ViolationType);
        Assert.Equal([honest.TreeSize], await Sizes(log));
    }

    [Fact]
    public async Task A_log_cut_short_below_its_last_checkpoint_is_never_signed()
    {
        await using var log = await TestLog.CreateAsync();
        await log.AppendAsync(6);
        await log.Signer.SignAsync(Cancel);
        await History.RewriteFromAsync(log, 4, 0);

        await Assert.ThrowsAsync<FailedPreconditionException>(() => log.Signer.SignAsync(Cancel));
    }

    private static async Task<List<long>> Sizes(TestLog log)
    {
        await using var connection = await log.Database.OpenAsync(Cancel);
        return (await connection.QueryAsync<long>("SELECT tree_size FROM audit_checkpoint ORDER BY tree_size")).ToList();
    }
}

/// <summary>What whoever runs the database can do to the history: drop everything from an entry on and append another past, every hash recomputed.</summary>
internal static class History
{
    public static async Task RewriteFromAsync(TestLog log, long from, int newEntries)
    {
        await log.TamperAsync("DELETE FROM audit_entry WHERE sequence >= @From", new { From = from });
        await log.TamperAsync("DELETE FROM audit_tree_node WHERE (node_index + 1) * (1 << level) > @From", new { From = from });
        await log.TamperAsync("UPDATE audit_log_head SET size = @From", new { From = from });
        await log.AppendAsync(newEntries, first: 500);
    }
}
