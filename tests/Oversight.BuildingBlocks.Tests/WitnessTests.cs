using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>Keeping the checkpoints other services publish: verified with their key when known, once, and equivocation noticed.</summary>
public sealed class WitnessTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_peer_checkpoint_is_kept_once_verified_with_the_peers_key()
    {
        await using var peer = await TestLog.CreateAsync("oversight.test/peer");
        await using var us = await TestLog.CreateAsync();
        await peer.AppendAsync(4);
        var note = (await peer.Signer.SignAsync(Cancel)).Note;
        var witness = new WitnessedCheckpoints(us.Database, TestLog.Origin, [peer.Signer.PublicKey], us.Time);

        Assert.Equal(WitnessOutcome.Stored, await ReceiveAsync(us.Database, witness, note));
        Assert.Equal(WitnessOutcome.AlreadyHeld, await ReceiveAsync(us.Database, witness, note));
        var held = Assert.Single(await witness.ListAsync(null, "", -1, 10, Cancel));
        Assert.Equal(("oversight.test/peer", 4L, true, note), (held.Origin, held.TreeSize, held.SignatureVerified, held.Note));
        Assert.Equal(us.Time.GetUtcNow().ToUnixTimeMilliseconds(), held.ReceivedAt.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task A_checkpoint_the_peers_key_did_not_sign_is_refused()
    {
        await using var peer = await TestLog.CreateAsync("oversight.test/peer");
        await using var impostor = await TestLog.CreateAsync("oversight.test/peer");
        await using var us = await TestLog.CreateAsync();
        await impostor.AppendAsync(2);
        var witness = new WitnessedCheckpoints(us.Database, TestLog.Origin, [peer.Signer.PublicKey], us.Time);

        Assert.Equal(WitnessOutcome.BadSignature, await ReceiveAsync(us.Database, witness, (await impostor.Signer.SignAsync(Cancel)).Note));
        Assert.Empty(await witness.ListAsync(null, "", -1, 10, Cancel));
    }

    [Fact]
    public async Task Two_roots_for_one_size_are_reported_as_conflicting_and_the_first_is_kept()
    {
        await using var peer = await TestLog.CreateAsync("oversight.test/peer");
        await using var us = await TestLog.CreateAsync();
        await peer.AppendAsync(3);
        var first = (await peer.Signer.SignAsync(Cancel)).Note;
        var other = SignedNote.Sign(new Checkpoint("oversight.test/peer", 3, new byte[32]).Body(), peer.Signer.PublicKey, peer.Key);
        var witness = new WitnessedCheckpoints(us.Database, TestLog.Origin, [], us.Time);

        Assert.Equal(WitnessOutcome.Stored, await ReceiveAsync(us.Database, witness, first));
        Assert.Equal(WitnessOutcome.Conflicting, await ReceiveAsync(us.Database, witness, other));
        var held = Assert.Single(await witness.ListAsync(null, "", -1, 10, Cancel));
        Assert.False(held.SignatureVerified); // no key configured for the peer: kept, marked unverified
        Assert.Equal(first, held.Note);
    }

    [Fact]
    public async Task Garbage_and_the_own_log_are_not_kept()
    {
        await using var us = await TestLog.CreateAsync();
        await us.AppendAsync(1);
        Assert.Equal(WitnessOutcome.Malformed, await ReceiveAsync(us.Database, us.Witness, "not a note"));
        Assert.Equal(WitnessOutcome.OwnLog, await ReceiveAsync(us.Database, us.Witness, (await us.Signer.SignAsync(Cancel)).Note));
    }

    [Fact]
    public async Task Witnessed_checkpoints_page_by_origin_then_size()
    {
        await using var a = await TestLog.CreateAsync("oversight.test/a");
        await using var b = await TestLog.CreateAsync("oversight.test/b");
        await using var us = await TestLog.CreateAsync();
        foreach (var peer in new[] { a, b })
        {
            for (var i = 0; i < 3; i++)
            {
                await peer.AppendAsync(1, first: i);
                await ReceiveAsync(us.Database, us.Witness, (await peer.Signer.SignAsync(Cancel)).Note);
            }
        }

        var first = await us.Witness.ListAsync(null, "", -1, 4, Cancel);
        Assert.Equal(["oversight.test/a:1", "oversight.test/a:2", "oversight.test/a:3", "oversight.test/b:1"], first.Select(w => $"{w.Origin}:{w.TreeSize}"));
        var rest = await us.Witness.ListAsync(null, first[^1].Origin, first[^1].TreeSize, 4, Cancel);
        Assert.Equal(["oversight.test/b:2", "oversight.test/b:3"], rest.Select(w => $"{w.Origin}:{w.TreeSize}"));
        Assert.Equal(3, (await us.Witness.ListAsync("oversight.test/b", "", -1, 10, Cancel)).Count);
    }

    private static async Task<WitnessOutcome> ReceiveAsync(ModuleDatabase database, WitnessedCheckpoints witness, string note)
    {
        await using var session = await database.BeginAsync(CancellationToken.None);
        var outcome = await witness.ReceiveAsync(session, note);
        await session.CommitAsync();
        return outcome;
    }
}
