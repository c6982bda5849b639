using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.Audit.V1;
using Oversight.BuildingBlocks.Audit;
using Oversight.Testing;

namespace Oversight.BuildingBlocks.Tests;

/// <summary><c>oversight.audit.v1.AuditLogService</c> over real gRPC: reads, proofs a client checks offline, authorisation, bad input.</summary>
public sealed class AuditLogServiceTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_regulator_pages_through_every_entry_in_order()
    {
        await using var host = await AuditTestHost.StartAsync();
        for (var i = 0; i < 7; i++)
        {
            await host.ActAsync(i % 2 == 0 ? "shopwave" : "paylink");
        }

        var regulator = host.Client();
        var first = await regulator.ListEntriesAsync(new ListEntriesRequest { PageSize = 4 }, cancellationToken: Cancel);
        var rest = await regulator.ListEntriesAsync(new ListEntriesRequest { PageSize = 4, PageToken = first.NextPageToken }, cancellationToken: Cancel);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (long)i), first.Entries.Concat(rest.Entries).Select(e => e.Sequence));
        Assert.Equal("", rest.NextPageToken);
        var entry = first.Entries[0];
        Assert.Equal(ByteString.CopyFrom(MerkleHashing.HashLeaf(entry.CanonicalBytes.Span)), entry.LeafHash);
    }

    [Fact]
    public async Task Any_other_caller_reads_only_the_entries_it_is_the_actor_of()
    {
        await using var host = await AuditTestHost.StartAsync();
        await host.ActAsync("shopwave");
        await host.ActAsync("paylink");
        var paylink = host.Client("paylink", "platform");

        var own = await paylink.ListEntriesAsync(new ListEntriesRequest(), cancellationToken: Cancel);
        Assert.Equal(["paylink"], own.Entries.Select(e => e.ActorId));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => paylink.ListEntriesAsync(new ListEntriesRequest { ActorId = "shopwave" }, cancellationToken: Cancel).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => paylink.GetEntryAsync(new GetEntryRequest { Sequence = 0 }, cancellationToken: Cancel).ResponseAsync);
        Assert.Equal(1, (await paylink.GetEntryAsync(new GetEntryRequest { Sequence = 1 }, cancellationToken: Cancel)).Entry.Sequence);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => paylink.VerifyLogAsync(new VerifyLogRequest(), cancellationToken: Cancel).ResponseAsync);
    }

    [Fact]
    public async Task Entries_are_found_by_a_raw_subject_id_the_service_hashes_and_filtered_by_time_action_and_resource()
    {
        await using var host = await AuditTestHost.StartAsync();
        var start = host.Time.GetUtcNow();
        await host.ActAsync("shopwave", subject: "subject-42");
        await host.ActAsync("shopwave", action: "consent.revoke", resource: "consents/2", subject: "subject-43");
        await host.ActAsync("shopwave", action: "consent.revoke", resource: "consents/3", subject: "subject-42");
        var regulator = host.Client();

        var bySubject = await regulator.ListEntriesAsync(new ListEntriesRequest { SubjectId = "subject-42" }, cancellationToken: Cancel);
        Assert.Equal([0L, 2L], bySubject.Entries.Select(e => e.Sequence));
        Assert.All(bySubject.Entries, e => Assert.Equal(host.Audit.Subjects.For("subject-42"), e.SubjectRef));
        Assert.Equal([1L, 2L], (await regulator.ListEntriesAsync(new ListEntriesRequest { Action = "consent.revoke" }, cancellationToken: Cancel)).Entries.Select(e => e.Sequence));
        Assert.Equal([1L], (await regulator.ListEntriesAsync(new ListEntriesRequest { Resource = "consents/2" }, cancellationToken: Cancel)).Entries.Select(e => e.Sequence));
        var window = await regulator.ListEntriesAsync(new ListEntriesRequest
        {
            StartTime = Timestamp.FromDateTimeOffset(start.AddSeconds(1)), EndTime = Timestamp.FromDateTimeOffset(start.AddSeconds(2)),
        }, cancellationToken: Cancel);
        Assert.Equal([1L], window.Entries.Select(e => e.Sequence));
    }

    [Fact]
    public async Task An_entry_comes_with_an_inclusion_proof_a_client_checks_offline_with_the_served_key()
    {
        await using var host = await AuditTestHost.StartAsync();
        for (var i = 0; i < 11; i++)
        {
            await host.ActAsync("shopwave");
        }

        var key = await host.Anonymous.GetLogPublicKeyAsync(new GetLogPublicKeyRequest(), cancellationToken: Cancel);
        var logKey = NoteKey.ParseVerifierKey(key.VerifierKey)!;
        Assert.Equal((AuditTestHost.Origin, AuditTestHost.Origin, key.KeyId), (key.Origin, logKey.Name, logKey.KeyIdHex));
        Assert.Equal(key.PublicKey.ToByteArray(), logKey.PublicKeyBytes);

        var answer = await host.Client().GetEntryAsync(new GetEntryRequest { Sequence = 6 }, cancellationToken: Cancel);
        var note = SignedNote.Parse(answer.Checkpoint.Note)!;
        Assert.True(note.IsSignedBy(logKey));
        var checkpoint = Audit.Checkpoint.Parse(note.Text)!;
        Assert.Equal(11, checkpoint.TreeSize);
        var leaf = MerkleHashing.HashLeaf(answer.Entry.CanonicalBytes.Span);
        Assert.True(InclusionProof.Verify(6, answer.TreeSize, leaf, checkpoint.RootHash, answer.InclusionPath.Select(h => h.ToByteArray()).ToList()));

        // Against an earlier size, proved against the root that size had.
        var earlier = await host.Client().GetEntryAsync(new GetEntryRequest { Sequence = 6, TreeSize = 7 }, cancellationToken: Cancel);
        Assert.Null(earlier.Checkpoint);
        var rootAtSeven = await host.Audit.Reader.RootAsync(7, Cancel);
        Assert.True(InclusionProof.Verify(6, 7, leaf, rootAtSeven, earlier.InclusionPath.Select(h => h.ToByteArray()).ToList()));
    }

    [Fact]
    public async Task A_consistency_proof_links_two_signed_checkpoints()
    {
        await using var host = await AuditTestHost.StartAsync();
        var regulator = host.Client();
        for (var i = 0; i < 5; i++)
        {
            await host.ActAsync("shopwave");
        }

        var old = (await regulator.GetCheckpointAsync(new GetCheckpointRequest(), cancellationToken: Cancel)).Checkpoint;
        for (var i = 0; i < 9; i++)
        {
            await host.ActAsync("paylink");
        }

        var current = (await host.Client("paylink", "platform").GetCheckpointAsync(new GetCheckpointRequest(), cancellationToken: Cancel)).Checkpoint;
        var proof = await regulator.GetConsistencyProofAsync(new GetConsistencyProofRequest { FromTreeSize = old.TreeSize, ToTreeSize = current.TreeSize }, cancellationToken: Cancel);
        Assert.Equal((5L, 14L), (old.TreeSize, current.TreeSize));
        Assert.True(ConsistencyProof.Verify(5, 14, old.RootHash.ToByteArray(), current.RootHash.ToByteArray(), proof.ConsistencyPath.Select(h => h.ToByteArray()).ToList()));
        Assert.Equal(old.Note, (await regulator.GetCheckpointAsync(new GetCheckpointRequest { TreeSize = 5 }, cancellationToken: Cancel)).Checkpoint.Note);
    }

    [Fact]
    public async Task The_regulator_verifies_the_whole_log_and_hears_of_a_checkpoint_another_key_signed()
    {
        await using var host = await AuditTestHost.StartAsync();
        await using var impostor = await TestLog.CreateAsync(AuditTestHost.Origin);
        for (var i = 0; i < 4; i++)
        {
            await host.ActAsync("shopwave");
            await impostor.AppendAsync(1, first: i);
        }

        var regulator = host.Client();
        var signed = (await regulator.GetCheckpointAsync(new GetCheckpointRequest(), cancellationToken: Cancel)).Checkpoint;
        var intact = await regulator.VerifyLogAsync(new VerifyLogRequest { CheckpointNotes = { signed.Note } }, cancellationToken: Cancel);
        Assert.Empty(intact.Problems);
        Assert.Equal((4L, 4L, 2), (intact.TreeSize, intact.EntriesChecked, intact.CheckpointsChecked));
        Assert.Equal(signed.RootHash, intact.RecomputedRootHash);

        var forged = (await impostor.Signer.SignAsync(Cancel)).Note;
        var report = await regulator.VerifyLogAsync(new VerifyLogRequest { CheckpointNotes = { forged } }, cancellationToken: Cancel);
        var problem = Assert.Single(report.Problems);
        Assert.Equal((ProblemKind.CheckpointBadSignature, 4L), (problem.Kind, problem.Position));
    }

    [Fact]
    public async Task A_checkpoint_is_signed_on_schedule_when_the_log_has_grown()
    {
        await using var host = await AuditTestHost.StartAsync();
        await host.ActAsync("shopwave");
        await host.ActAsync("shopwave");
        host.Time.Advance(AuditTestHost.CheckpointInterval);
        await Eventually.HoldsAsync(async () => (await host.Audit.Reader.LatestCheckpointAsync(Cancel))?.TreeSize == 2, "the schedule signed the log at size 2");
    }

    [Fact]
    public async Task Witnessed_checkpoints_are_listed_by_origin_and_paged()
    {
        await using var host = await AuditTestHost.StartAsync();
        await using var peer = await TestLog.CreateAsync("oversight.test/peer");
        for (var i = 0; i < 3; i++)
        {
            await peer.AppendAsync(1, first: i);
            await using var session = await host.Audit.Database.BeginAsync(Cancel);
            await host.Audit.Witness.ReceiveAsync(session, (await peer.Signer.SignAsync(Cancel)).Note);
            await session.CommitAsync();
        }

        var client = host.Client("paylink", "platform");
        var first = await client.ListWitnessedCheckpointsAsync(new ListWitnessedCheckpointsRequest { PageSize = 2, Origin = "oversight.test/peer" }, cancellationToken: Cancel);
        var rest = await client.ListWitnessedCheckpointsAsync(new ListWitnessedCheckpointsRequest { PageSize = 2, PageToken = first.NextPageToken }, cancellationToken: Cancel);
        Assert.Equal([1L, 2L, 3L], first.Checkpoints.Concat(rest.Checkpoints).Select(c => c.Checkpoint.TreeSize));
        Assert.All(first.Checkpoints, c => Assert.False(c.SignatureVerified));
    }

    [Fact]
    public async Task Only_the_public_key_is_served_without_a_token()
    {
        await using var host = await AuditTestHost.StartAsync();
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => host.Anonymous.ListEntriesAsync(new ListEntriesRequest(), cancellationToken: Cancel).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => host.Anonymous.GetCheckpointAsync(new GetCheckpointRequest(), cancellationToken: Cancel).ResponseAsync);
        Assert.NotEmpty((await host.Anonymous.GetLogPublicKeyAsync(new GetLogPublicKeyRequest(), cancellationToken: Cancel)).VerifierKey);
    }

    [Fact]
    public async Task Unknown_entries_and_checkpoint_sizes_are_not_found()
    {
        await using var host = await AuditTestHost.StartAsync();
        await host.ActAsync("shopwave");
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => host.Client().GetEntryAsync(new GetEntryRequest { Sequence = 5 }, cancellationToken: Cancel).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => host.Client().GetCheckpointAsync(new GetCheckpointRequest { TreeSize = 1 }, cancellationToken: Cancel).ResponseAsync);
    }

    [Fact]
    public async Task Bad_input_on_every_rpc_is_invalid_argument_naming_each_field()
    {
        await using var host = await AuditTestHost.StartAsync();
        await host.ActAsync("shopwave");
        await host.ActAsync("shopwave");
        var client = host.Client();

        Assert.Equal(["page_size", "page_token", "end_time", "actor_id", "subject_id"], await RpcAssert.InvalidFieldsAsync(() => client.ListEntriesAsync(new ListEntriesRequest
        {
            PageSize = -1, PageToken = "not-a-token", StartTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddDays(2)),
            EndTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddDays(1)), ActorId = "bad\u0001actor", SubjectId = new string('s', 129),
        }, cancellationToken: Cancel).ResponseAsync));
        Assert.Equal(["start_time"], await RpcAssert.InvalidFieldsAsync(() => client.ListEntriesAsync(
            new ListEntriesRequest { StartTime = new Timestamp { Seconds = long.MaxValue } }, cancellationToken: Cancel).ResponseAsync));
        Assert.Equal(["sequence", "tree_size"], await RpcAssert.InvalidFieldsAsync(() => client.GetEntryAsync(new GetEntryRequest { Sequence = -1, TreeSize = -1 }, cancellationToken: Cancel).ResponseAsync));
        Assert.Equal(["tree_size"], await RpcAssert.InvalidFieldsAsync(() => client.GetEntryAsync(new GetEntryRequest { Sequence = 1, TreeSize = 1 }, cancellationToken: Cancel).ResponseAsync));
        Assert.Equal(["tree_size"], await RpcAssert.InvalidFieldsAsync(() => client.GetEntryAsync(new GetEntryRequest { Sequence = 1, TreeSize = 3 }, cancellationToken: Cancel).ResponseAsync));
        Assert.Equal(["tree_size"], await RpcAssert.InvalidFieldsAsync(() => client.GetCheckpointAsync(new GetCheckpointRequest { TreeSize = -2 }, cancellationToken: Cancel).ResponseAsync));
        Assert.Equal(["from_tree_size", "to_tree_size"], await RpcAssert.InvalidFieldsAsync(() => client.GetConsistencyProofAsync(
            new GetConsistencyProofRequest { FromTreeSize = 0, ToTreeSize = -1 }, cancellationToken: Cancel).ResponseAsync));
        Assert.Equal(["to_tree_size"], await RpcAssert.InvalidFieldsAsync(() => client.GetConsistencyProofAsync(
            new GetConsistencyProofRequest { FromTreeSize = 1, ToTreeSize = 3 }, cancellationToken: Cancel).ResponseAsync));
        Assert.Equal(["page_size", "page_token"], await RpcAssert.InvalidFieldsAsync(() => client.ListWitnessedCheckpointsAsync(
            new ListWitnessedCheckpointsRequest { PageSize = 501, PageToken = "x" }, cancellationToken: Cancel).ResponseAsync));
        Assert.Equal(["page_token"], await RpcAssert.InvalidFieldsAsync(() => client.ListWitnessedCheckpointsAsync(
            new ListWitnessedCheckpointsRequest { PageToken = Data.PageToken.Encode("origin", "not-a-size") }, cancellationToken: Cancel).ResponseAsync));
        var note = (await client.GetCheckpointAsync(new GetCheckpointRequest(), cancellationToken: Cancel)).Checkpoint.Note;
        Assert.Equal(["checkpoint_notes[1]"], await RpcAssert.InvalidFieldsAsync(() => client.VerifyLogAsync(
            new VerifyLogRequest { CheckpointNotes = { note, "garbage" } }, cancellationToken: Cancel).ResponseAsync));
    }
}
