using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Oversight.Audit.V1;
using V1 = Oversight.Audit.V1;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Security;

namespace Oversight.BuildingBlocks.Audit;

/// <summary>
/// <c>oversight.audit.v1.AuditLogService</c> over one module's log. The regulator reads every entry;
/// any other caller only those it is the actor of. Checkpoints, proofs and witnessed checkpoints
/// hold nothing but hashes, so any authenticated caller may have them; the public key needs no token.
/// </summary>
public sealed class AuditLogGrpcService<TDatabase>(ModuleAuditLog<TDatabase> audit) : AuditLogService.AuditLogServiceBase
    where TDatabase : ModuleDatabase
{
    private const int MaxHeldCheckpoints = 100;

    public override async Task<ListEntriesResponse> ListEntries(ListEntriesRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var size = PageToken.Size(request.PageSize, violations);
        var after = PageToken.DecodeSequence(request.PageToken, violations) ?? -1;
        var from = violations.Time("start_time", request.StartTime);
        var until = violations.Time("end_time", request.EndTime);
        if (from is not null && until is not null && until <= from)
        {
            violations.Add("end_time", "must be after start_time");
        }

        violations.Text("actor_id", request.ActorId, 128, required: false);
        violations.Text("action", request.Action, 100, required: false);
        violations.Text("resource", request.Resource, 200, required: false);
        violations.Text("subject_id", request.SubjectId, 128, required: false);
        violations.ThrowIfAny();

        var actor = OrNull(request.ActorId);
        var caller = context.GetCaller();
        if (!caller.IsRegulator)
        {
            if (actor is not null && actor != caller.OrganisationId)
            {
                throw new PermissionDeniedException("Only the regulator reads entries of other actors.", $"audit/entries?actor={actor}");
            }

            actor = caller.OrganisationId;
        }

        var filter = new AuditEntryFilter(from, until, actor, OrNull(request.Action), OrNull(request.Resource),
            OrNull(request.SubjectId) is { } subject ? audit.Subjects.For(subject) : null);
        var page = await audit.Reader.ListAsync(filter, after, size + 1, context.CancellationToken);
        var response = new ListEntriesResponse { NextPageToken = PageToken.Next(page, size, e => e.Sequence) };
        response.Entries.AddRange(page.Take(size).Select(ToMessage));
        return response;
    }

    public override async Task<GetEntryResponse> GetEntry(GetEntryRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        if (request.Sequence < 0)
        {
            violations.Add("sequence", "must not be negative");
        }

        if (request.TreeSize < 0)
        {
            violations.Add("tree_size", "must not be negative");
        }
        else if (request.TreeSize != 0 && request.TreeSize <= request.Sequence)
        {
            violations.Add("tree_size", "must be above sequence, or 0 for the latest checkpoint");
        }

        violations.ThrowIfAny();
        var cancellationToken = context.CancellationToken;
        // One connection for the reads (the entry, its checkpoint, the proof); signing, when the log grew, takes its own.
        await using var connection = await audit.Database.OpenAsync(cancellationToken);
        var entry = await audit.Reader.EntryAsync(connection, request.Sequence, cancellationToken)
            ?? throw new NotFoundException("audit entry", request.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var caller = context.GetCaller();
        if (!caller.IsRegulator && entry.ActorId != caller.OrganisationId && !AuditRecords.NamesParty(entry.Detail, caller.OrganisationId))
        {
            throw new PermissionDeniedException("Only the regulator reads entries of other actors, unless an entry names the caller as a party.", $"audit/entries/{entry.Sequence}");
        }

        SignedCheckpoint? checkpoint;
        long treeSize;
        if (request.TreeSize == 0)
        {
            // Known in memory: at once for what this process signed, within LatestCheckpoint.MaxAge for other replicas'.
            checkpoint = await LatestCoveringAsync(connection, entry, fromMemory: true, cancellationToken);
            treeSize = checkpoint.TreeSize;
        }
        else
        {
            var logSize = await audit.Reader.SizeAsync(connection, cancellationToken);
            if (request.TreeSize > logSize)
            {
                violations.Add("tree_size", $"must be at most the log's size, {logSize}");
                violations.ThrowIfAny();
            }

            treeSize = request.TreeSize;
            checkpoint = await audit.Reader.CheckpointAsync(connection, treeSize, cancellationToken);
        }

        var proof = await audit.Reader.InclusionProofAsync(connection, entry.Sequence, treeSize, cancellationToken);
        if (checkpoint is not null && !proof.Verifies(entry.LeafHash, checkpoint.RootHash))
        {
            // What this process keeps in memory (the latest checkpoint, upper subtrees) disagrees with the store,
            // which only a rewrite of the stored rows does: answer from the store alone, as the log now is.
            if (request.TreeSize == 0)
            {
                checkpoint = await LatestCoveringAsync(connection, entry, fromMemory: false, cancellationToken);
                treeSize = checkpoint.TreeSize;
            }

            proof = await InclusionProof.CreateAsync(new StoredMerkleTree(connection, null), entry.Sequence, treeSize, cancellationToken);
        }

        var response = new GetEntryResponse { Entry = ToMessage(entry), TreeSize = treeSize, Checkpoint = checkpoint is null ? null : ToMessage(checkpoint) };
        response.InclusionPath.AddRange(proof.Path.Select(ByteString.CopyFrom));
        return response;
    }

    /// <summary>The latest checkpoint if it covers the entry, else one signed now.</summary>
    private async Task<SignedCheckpoint> LatestCoveringAsync(System.Data.Common.DbConnection connection, AuditEntry entry, bool fromMemory, CancellationToken cancellationToken)
    {
        var latest = fromMemory
            ? await audit.Signer.Latest.GetAsync(connection, cancellationToken)
            : await AuditLogReader.LatestCheckpointAsync(connection, null, audit.Database.Dialect, cancellationToken);
        return latest is null || latest.TreeSize <= entry.Sequence ? await audit.Signer.SignAsync(cancellationToken) : latest;
    }

    public override async Task<GetCheckpointResponse> GetCheckpoint(GetCheckpointRequest request, ServerCallContext context)
    {
        if (request.TreeSize < 0)
        {
            var violations = new FieldViolations();
            violations.Add("tree_size", "must not be negative");
            violations.ThrowIfAny();
        }

        var checkpoint = request.TreeSize == 0
            ? await audit.Signer.SignAsync(context.CancellationToken)
            : await audit.Reader.CheckpointAsync(request.TreeSize, context.CancellationToken)
                ?? throw new NotFoundException("checkpoint", request.TreeSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new GetCheckpointResponse { Checkpoint = ToMessage(checkpoint) };
    }

    public override async Task<GetConsistencyProofResponse> GetConsistencyProof(GetConsistencyProofRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        if (request.FromTreeSize < 1)
        {
            violations.Add("from_tree_size", "must be at least 1");
        }

        if (request.ToTreeSize < request.FromTreeSize)
        {
            violations.Add("to_tree_size", "must be at least from_tree_size");
        }

        violations.ThrowIfAny();
        var logSize = await audit.Reader.SizeAsync(context.CancellationToken);
        if (request.ToTreeSize > logSize)
        {
            violations.Add("to_tree_size", $"must be at most the log's size, {logSize}");
            violations.ThrowIfAny();
        }

        var proof = await audit.Reader.ConsistencyProofAsync(request.FromTreeSize, request.ToTreeSize, context.CancellationToken);
        var response = new GetConsistencyProofResponse { FromTreeSize = proof.FromSize, ToTreeSize = proof.ToSize };
        response.ConsistencyPath.AddRange(proof.Path.Select(ByteString.CopyFrom));
        return response;
    }

    public override async Task<ListWitnessedCheckpointsResponse> ListWitnessedCheckpoints(ListWitnessedCheckpointsRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var size = PageToken.Size(request.PageSize, violations);
        violations.Text("origin", request.Origin, 200, required: false);
        var (afterOrigin, afterSize) = ("", -1L);
        if (PageToken.Decode(request.PageToken, 2, violations) is { } parts)
        {
            if (long.TryParse(parts[1], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var parsed))
            {
                (afterOrigin, afterSize) = (parts[0], parsed);
            }
            else
            {
                violations.Add("page_token", "is not a page token this service issued");
            }
        }

        violations.ThrowIfAny();
        var page = await audit.Witness.ListAsync(OrNull(request.Origin), afterOrigin, afterSize, size + 1, context.CancellationToken);
        var response = new ListWitnessedCheckpointsResponse
        {
            NextPageToken = page.Count > size
                ? PageToken.Encode(page[size - 1].Origin, page[size - 1].TreeSize.ToString(System.Globalization.CultureInfo.InvariantCulture))
                : "",
        };
        response.Checkpoints.AddRange(page.Take(size).Select(w => new V1.WitnessedCheckpoint
        {
            Checkpoint = new V1.Checkpoint { Origin = w.Origin, TreeSize = w.TreeSize, RootHash = ByteString.CopyFrom(w.RootHash), Note = w.Note },
            ReceiveTime = Timestamp.FromDateTimeOffset(w.ReceivedAt),
            SignatureVerified = w.SignatureVerified,
        }));
        return response;
    }

    public override async Task<VerifyLogResponse> VerifyLog(VerifyLogRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        if (request.CheckpointNotes.Count > MaxHeldCheckpoints)
        {
            violations.Add("checkpoint_notes", $"must hold at most {MaxHeldCheckpoints} notes");
        }

        for (var i = 0; i < request.CheckpointNotes.Count && i < MaxHeldCheckpoints; i++)
        {
            if (SignedNote.Parse(request.CheckpointNotes[i]) is null)
            {
                violations.Add($"checkpoint_notes[{i}]", "is not a signed note");
            }
        }

        violations.ThrowIfAny();
        if (!context.GetCaller().IsRegulator)
        {
            throw new PermissionDeniedException("Only the regulator verifies the whole log.", "audit/log");
        }

        var report = await audit.Verifier.VerifyAsync(request.CheckpointNotes, context.CancellationToken);
        var response = new VerifyLogResponse
        {
            TreeSize = report.TreeSize,
            EntriesChecked = report.EntriesChecked,
            RecomputedRootHash = ByteString.CopyFrom(report.RecomputedRoot),
            CheckpointsChecked = report.CheckpointsChecked,
        };
        response.Problems.AddRange(report.Problems.Select(p => new LogProblem { Kind = (ProblemKind)p.Kind, Position = p.Position, Description = p.Description }));
        return response;
    }

    [AllowAnonymous]
    public override Task<GetLogPublicKeyResponse> GetLogPublicKey(GetLogPublicKeyRequest request, ServerCallContext context)
    {
        var key = audit.Signer.PublicKey;
        return Task.FromResult(new GetLogPublicKeyResponse
        {
            Origin = audit.Signer.Origin,
            KeyName = key.Name,
            KeyId = key.KeyIdHex,
            PublicKey = ByteString.CopyFrom(key.PublicKeyBytes),
            VerifierKey = key.VerifierKey,
        });
    }

    private V1.Checkpoint ToMessage(SignedCheckpoint checkpoint) => new()
    {
        Origin = audit.Signer.Origin,
        TreeSize = checkpoint.TreeSize,
        RootHash = ByteString.CopyFrom(checkpoint.RootHash),
        Note = checkpoint.Note,
    };

    private static V1.AuditEntry ToMessage(AuditEntry entry)
    {
        var message = new V1.AuditEntry
        {
            Sequence = entry.Sequence,
            RecordTime = Timestamp.FromDateTimeOffset(entry.RecordedAt),
            ActorId = entry.ActorId,
            ActorKind = entry.ActorKind,
            Action = entry.Action,
            Resource = entry.Resource,
            Outcome = entry.Outcome,
            Reason = entry.Reason,
            SubjectRef = entry.SubjectRef ?? "",
            CanonicalBytes = ByteString.CopyFrom(entry.CanonicalBytes),
            LeafHash = ByteString.CopyFrom(entry.LeafHash),
        };
        foreach (var (name, value) in entry.Detail)
        {
            message.Detail[name] = value;
        }

        return message;
    }

    private static string? OrNull(string value) => string.IsNullOrEmpty(value) ? null : value;
}
