using System.CommandLine;
using Google.Protobuf;
using Oversight.Audit.V1;
using Oversight.BuildingBlocks.Audit;
using static Oversight.Cli.GlobalOptions;
using AuditEntry = Oversight.Audit.V1.AuditEntry;
using Checkpoint = Oversight.BuildingBlocks.Audit.Checkpoint;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace Oversight.Cli;

/// <summary>
/// The audit commands, against the log of the service --service names (every service serves its own
/// <c>oversight.audit.v1.AuditLogService</c>). The proofs are verified here, with the building block's
/// own verification code and nothing from the service but hashes and signed notes: a service that
/// lies about its log is caught by the CLI, not trusted by it.
/// </summary>
internal static class AuditCommands
{
    /// <summary>How much of a detail value <c>audit entry</c> prints.</summary>
    private const int MaxDetailShown = 160;

    private static readonly Dictionary<string, ServiceEndpoint> Services = new()
    {
        ["consent"] = ServiceEndpoint.Consent,
        ["governance"] = ServiceEndpoint.Governance,
        ["exchange"] = ServiceEndpoint.Exchange,
    };

    private static readonly Option<string> ServiceOption = new Option<string>("--service")
    {
        Description = "Whose log: consent, governance or exchange (each service keeps its own).",
        Required = true,
    }.AcceptOnlyFromAmong([.. Services.Keys]);

    private static readonly Option<string> FileOption = new("--file")
    {
        Description = "The saved checkpoint file (JSON: the signed note and the verifier key it was verified with).",
        Required = true,
    };

    public static Command Create() =>
        new("audit", "A service's verifiable audit log: list it, prove an entry, keep a checkpoint and check the log only grew.")
        {
            List(), Entry(), CheckpointCommand(), Verify(), VerifyLog(), Witnessed(),
        };

    private static Command List()
    {
        var action = new Option<string?>("--action") { Description = "Only entries of this action, such as organisation.registered or access.denied." };
        var actor = new Option<string?>("--actor") { Description = "Only entries of this actor (an organisation id, or the service's name)." };
        var resource = new Option<string?>("--resource") { Description = "Only entries about this resource, such as organisation/shopwave." };
        var subject = new Option<string?>("--subject") { Description = "Only entries about this subject (the raw id; the service looks up its keyed hash, the log never holds the id)." };
        var from = TimeOptions.Time("--from", "Only entries recorded at or after this time.");
        var until = TimeOptions.Time("--until", "Only entries recorded before this time.");
        var pageSize = new Option<int>("--page-size") { Description = "Entries per page, 1 to 500 (the server's default, 50, when unset)." };
        var pageToken = new Option<string?>("--page-token") { Description = "The page after the one that printed this token." };
        var list = new Command("list", "Lists a log's entries, oldest first, one page at a time (the regulator sees all; anyone else the entries it is the actor of).")
        {
            ServiceOption, action, actor, resource, subject, from, until, pageSize, pageToken,
        };
        list.SetAction(Audit(async (parse, s) =>
        {
            // One page, not all: the log only grows.
            var response = await s.AuditLog.ListEntriesAsync(new ListEntriesRequest
            {
                PageSize = parse.GetValue(pageSize),
                PageToken = parse.GetValue(pageToken) ?? "",
                Action = parse.GetValue(action) ?? "",
                ActorId = parse.GetValue(actor) ?? "",
                Resource = parse.GetValue(resource) ?? "",
                SubjectId = parse.GetValue(subject) ?? "",
                StartTime = parse.GetValue(from) is { } start ? Timestamp.FromDateTimeOffset(start) : null,
                EndTime = parse.GetValue(until) is { } end ? Timestamp.FromDateTimeOffset(end) : null,
            }, cancellationToken: s.Cancellation);
            // --quiet: an entry's id is its sequence number, for audit entry SEQ.
            s.Output.Print(response, () =>
            {
                Output.Lines(response.Entries, EntryLine);
                if (response.NextPageToken.Length > 0)
                {
                    Console.WriteLine($"more: --page-token {response.NextPageToken}");
                }
            }, [.. response.Entries.Select(e => e.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
            return 0;
        }));
        return list;
    }

    private static Command Entry()
    {
        var sequence = new Argument<long>("sequence") { Description = "The entry's sequence number (the #N of audit list)." };
        var treeSize = new Option<long?>("--tree-size") { Description = "Prove it in the signed checkpoint of this size (one signed earlier). Default: the latest checkpoint." };
        var savedKey = new Option<string?>("--file")
        {
            Description = "Check the checkpoint's signature with the key saved in this file (by audit checkpoint save), not the one the service serves now.",
        };
        var entry = new Command("entry", "Fetches one entry with its inclusion proof and checkpoint, and verifies them here with the log's public key.")
        {
            ServiceOption, sequence, treeSize, savedKey,
        };
        entry.SetAction(Audit(async (parse, s) =>
        {
            var checks = new AuditChecks(s.Output.Report);
            var key = parse.GetValue(savedKey) is { } file ? (await SavedAsync(file, checks, s.Cancellation))?.Key : await ServedKeyAsync(s, checks);
            var requestedSize = parse.GetValue(treeSize);
            var response = await s.AuditLog.GetEntryAsync(
                new GetEntryRequest { Sequence = parse.GetValue(sequence), TreeSize = requestedSize ?? 0 }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => EntryDetails(response.Entry));
            if (key is null)
            {
                return checks.ExitCode;
            }

            if (!checks.Require(response.Checkpoint is not null, $"the service sent no signed checkpoint of size {response.TreeSize}, so the proof has no signed root to end at; "
                + "give --tree-size of a signed checkpoint, or leave it out for the latest"))
            {
                return checks.ExitCode;
            }

            if (SignedCheckpoint(response.Checkpoint!.Note, key, checks, "the checkpoint") is not { } checkpoint)
            {
                return checks.ExitCode;
            }

            // RFC 9162's inclusion check does not pin the tree size: the size must be the signed one, not the service's word.
            var sizeAgrees = checkpoint.TreeSize == response.TreeSize && (requestedSize is null || requestedSize == checkpoint.TreeSize);
            checks.Check(sizeAgrees, $"the proof is for the checkpoint's signed tree size, {checkpoint.TreeSize}",
                $"the service says the proof is for size {response.TreeSize}{(requestedSize is { } asked ? $" (asked: {asked})" : "")}, but the signed checkpoint is of size {checkpoint.TreeSize}");

            var bytes = response.Entry.CanonicalBytes.ToByteArray();
            var leaf = MerkleHashing.HashLeaf(bytes);
            checks.Check(leaf.AsSpan().SequenceEqual(response.Entry.LeafHash.Span),
                $"the leaf hash recomputed from the entry's canonical bytes is the stored one, {Hex(leaf)}",
                $"the entry's canonical bytes hash to {Hex(leaf)}, not to its stored leaf hash {Hex(response.Entry.LeafHash)}: its bytes or its hash were changed");
            checks.Check(CanonicalBytesOf(response.Entry).AsSpan().SequenceEqual(bytes),
                $"the fields shown encode to those bytes (sequence {response.Entry.Sequence} included)",
                "the fields shown do not encode to the entry's canonical bytes: the entry as shown is not the entry that was hashed");
            checks.Check(InclusionProof.Verify(response.Entry.Sequence, checkpoint.TreeSize, leaf, checkpoint.RootHash, [.. response.InclusionPath.Select(p => p.ToByteArray())]),
                $"the inclusion proof ({Plural(response.InclusionPath.Count, "hash", "hashes")}) leads from that leaf to the checkpoint's root {Hex(checkpoint.RootHash)}",
                $"the inclusion proof does not lead from entry {response.Entry.Sequence}'s leaf to the root of the signed checkpoint of size {checkpoint.TreeSize}: the entry is not in that log");
            Summary(checks, $"entry {response.Entry.Sequence} is in the log of {Entries(checkpoint.TreeSize)} that {key.Name} signed");
            return checks.ExitCode;
        }));
        return entry;
    }

    private static Command CheckpointCommand()
    {
        var save = new Command("save", "Saves the latest signed checkpoint and the verifier key it was verified with, for audit verify to check against later.")
        {
            ServiceOption, FileOption,
        };
        save.SetAction(Audit(async (parse, s) =>
        {
            var checks = new AuditChecks(s.Output.Report);
            var key = await ServedKeyAsync(s, checks);
            var response = await s.AuditLog.GetCheckpointAsync(new GetCheckpointRequest(), cancellationToken: s.Cancellation);
            s.Output.Print(response, () => { });
            if (key is null || SignedCheckpoint(response.Checkpoint.Note, key, checks, "the latest checkpoint") is not { } checkpoint)
            {
                Summary(checks, "");
                return checks.ExitCode;
            }

            var file = parse.GetRequiredValue(FileOption);
            await new SavedCheckpoint(key.VerifierKey, response.Checkpoint.Note, DateTimeOffset.UtcNow).WriteAsync(file, s.Cancellation);
            checks.Note($"saved the checkpoint of {Entries(checkpoint.TreeSize)} and the key {key.Name}+{key.KeyIdHex} to {file}");
            return checks.ExitCode;
        }));

        return new Command("checkpoint", "Signed checkpoints kept outside the service.") { save };
    }

    private static Command Verify()
    {
        var update = new Option<bool>("--update") { Description = "After a successful check, rewrite the file with the newer checkpoint (the same key)." };
        var verify = new Command("verify", "Checks that the log today extends a checkpoint saved earlier: the latest checkpoint signed by the SAVED key, and a consistency proof verified here.")
        {
            ServiceOption, FileOption, update,
        };
        verify.SetAction(Audit(async (parse, s) =>
        {
            var checks = new AuditChecks(s.Output.Report);
            var file = parse.GetRequiredValue(FileOption);
            if (await SavedAsync(file, checks, s.Cancellation) is not var (saved, key, old))
            {
                return checks.ExitCode;
            }

            var latest = (await s.AuditLog.GetCheckpointAsync(new GetCheckpointRequest(), cancellationToken: s.Cancellation)).Checkpoint;
            if (SignedCheckpoint(latest.Note, key, checks, "the latest checkpoint") is not { } now)
            {
                // Say whose key it is then: a rotated key is for the operator to explain, a forged one is evidence.
                var served = await s.AuditLog.GetLogPublicKeyAsync(new GetLogPublicKeyRequest(), cancellationToken: s.Cancellation);
                checks.Note($"the service now serves the key {served.KeyName}+{served.KeyId}; the saved key is {key.Name}+{key.KeyIdHex}");
                Summary(checks, "");
                return checks.ExitCode;
            }

            if (!checks.Check(now.TreeSize >= old.TreeSize, $"the log grew from {old.TreeSize} to {Entries(now.TreeSize)}",
                $"the latest checkpoint is of {Entries(now.TreeSize)}, fewer than the saved {old.TreeSize}: the log was cut short"))
            {
                Summary(checks, "");
                return checks.ExitCode;
            }

            IReadOnlyList<byte[]> path = [];
            if (now.TreeSize > old.TreeSize)
            {
                var proof = await s.AuditLog.GetConsistencyProofAsync(
                    new GetConsistencyProofRequest { FromTreeSize = old.TreeSize, ToTreeSize = now.TreeSize }, cancellationToken: s.Cancellation);
                path = [.. proof.ConsistencyPath.Select(p => p.ToByteArray())];
            }

            var consistent = ConsistencyProof.Verify(old.TreeSize, now.TreeSize, old.RootHash, now.RootHash, path);
            checks.Check(consistent,
                now.TreeSize == old.TreeSize
                    ? $"the latest checkpoint has the saved root {Hex(old.RootHash)}"
                    : $"the consistency proof ({Plural(path.Count, "hash", "hashes")}) shows the log of {Entries(now.TreeSize)} extends the saved one of {old.TreeSize}, only appended to",
                $"the logs are inconsistent: the log of {Entries(now.TreeSize)} does not extend the saved checkpoint of {old.TreeSize} (root {Hex(old.RootHash)}); "
                    + "its history was rewritten since, and both checkpoints are signed by the service's own key");
            if (consistent && parse.GetValue(update) && now.TreeSize > old.TreeSize)
            {
                await new SavedCheckpoint(saved.VerifierKey, latest.Note, DateTimeOffset.UtcNow).WriteAsync(file, s.Cancellation);
                checks.Note($"updated {file} to the checkpoint of {Entries(now.TreeSize)}");
            }

            Summary(checks, $"the log of {key.Name} only grew since the saved checkpoint");
            return checks.ExitCode;
        }));
        return verify;
    }

    private static Command VerifyLog()
    {
        var held = new Option<string[]>("--checkpoint-file")
        {
            Description = "A saved checkpoint file whose note the service must also prove consistent with its log as stored; repeat for more.",
            AllowMultipleArgumentsPerToken = true,
        };
        var witnessedBy = new Option<string[]>("--witnessed-by")
        {
            Description = "Another service (consent, governance or exchange) whose kept checkpoints of this log the service must also prove consistent with; "
                + "it is called at its $OVERSIGHT_…_ADDRESS or default address (--address is the log's service). Repeat for more.",
            AllowMultipleArgumentsPerToken = true,
        }.AcceptOnlyFromAmong([.. Services.Keys]);
        var verifyLog = new Command("verify-log", "Has the service recompute its whole log from the stored bytes and report every kind of damage (the regulator).")
        {
            ServiceOption, held, witnessedBy,
        };
        verifyLog.SetAction(Audit(async (parse, s) =>
        {
            var request = new VerifyLogRequest();
            foreach (var file in parse.GetValue(held) ?? [])
            {
                var (saved, problem) = await SavedCheckpoint.ReadAsync(file, s.Cancellation);
                if (saved is null)
                {
                    await Console.Error.WriteLineAsync($"error: {problem}");
                    return 1;
                }

                request.CheckpointNotes.Add(saved.CheckpointNote);
            }

            var witnesses = parse.GetValue(witnessedBy) ?? [];
            if (witnesses.Length > 0)
            {
                var origin = (await s.AuditLog.GetLogPublicKeyAsync(new GetLogPublicKeyRequest(), cancellationToken: s.Cancellation)).Origin;
                foreach (var witness in witnesses)
                {
                    var kept = await WithOtherServiceAsync(parse, Services[witness], w => Session.AllPagesAsync(token => w.AuditLog.ListWitnessedCheckpointsAsync(
                        new ListWitnessedCheckpointsRequest { Origin = origin, PageToken = token }, cancellationToken: w.Cancellation)), s.Cancellation);
                    s.Output.Report.WriteLine($"        {witness} keeps {Plural(kept.Checkpoints.Count, "checkpoint")} of {origin}");
                    request.CheckpointNotes.Add(kept.Checkpoints.Select(c => c.Checkpoint.Note));
                }
            }

            var response = await s.AuditLog.VerifyLogAsync(request, cancellationToken: s.Cancellation);
            s.Output.Print(response, () =>
            {
                foreach (var logProblem in response.Problems)
                {
                    Console.WriteLine($"PROBLEM {Output.Label(logProblem.Kind)} at {logProblem.Position}: {logProblem.Description}");
                }

                Console.WriteLine(response.Problems.Count == 0
                    ? $"verified {Entries(response.EntriesChecked)} and {Plural(response.CheckpointsChecked, "checkpoint")}: root {Hex(response.RecomputedRootHash)} of {Entries(response.TreeSize)}"
                    : $"{Plural(response.Problems.Count, "problem")} in {Entries(response.EntriesChecked)} checked (the head says {response.TreeSize}) and {Plural(response.CheckpointsChecked, "checkpoint")}");
            });
            return response.Problems.Count == 0 ? 0 : AuditChecks.FailedExitCode;
        }));
        return verifyLog;
    }

    private static Command Witnessed()
    {
        var origin = new Option<string?>("--origin") { Description = "Only checkpoints of this log, such as oversight/governance." };
        var witnessed = new Command("witnessed", "Lists the checkpoints of the other services' logs this service received and keeps (witnessing), by origin then size.")
        {
            ServiceOption, origin,
        };
        witnessed.SetAction(Audit(async (parse, s) =>
        {
            var response = await Session.AllPagesAsync(token => s.AuditLog.ListWitnessedCheckpointsAsync(
                new ListWitnessedCheckpointsRequest { Origin = parse.GetValue(origin) ?? "", PageToken = token }, cancellationToken: s.Cancellation));
            s.Output.Print(response, () => Output.Lines(response.Checkpoints, w => Console.WriteLine(string.Join("  ",
                w.Checkpoint.Origin, $"{Entries(w.Checkpoint.TreeSize),-12}", Hex(w.Checkpoint.RootHash), $"received {Output.Time(w.ReceiveTime)}",
                w.SignatureVerified ? "signature verified" : "signature NOT verified (no key configured for it)"))));
            return 0;
        }));
        return witnessed;
    }

    /// <summary>The served public key, checked to be one key (its verifier text, bytes and name agree); null when not.</summary>
    private static async Task<NoteKey?> ServedKeyAsync(Session s, AuditChecks checks)
    {
        var served = await s.AuditLog.GetLogPublicKeyAsync(new GetLogPublicKeyRequest(), cancellationToken: s.Cancellation);
        var key = NoteKey.ParseVerifierKey(served.VerifierKey);
        var agrees = key is not null && key.Name == served.KeyName && key.PublicKeyBytes.AsSpan().SequenceEqual(served.PublicKey.Span);
        checks.Check(agrees, $"the log's public key, as served: {served.VerifierKey}",
            $"the served key '{served.VerifierKey}' is not one C2SP Ed25519 verifier key agreeing with its key_name and public_key");
        return agrees ? key : null;
    }

    /// <summary>
    /// A checkpoint file, its key and its checkpoint, once that checkpoint verifies with that key (a
    /// file whose own note does not is not one to trust); null (a failed check) otherwise.
    /// </summary>
    private static async Task<(SavedCheckpoint File, NoteKey Key, Checkpoint Checkpoint)?> SavedAsync(string file, AuditChecks checks, CancellationToken cancellationToken)
    {
        var (saved, problem) = await SavedCheckpoint.ReadAsync(file, cancellationToken);
        if (!checks.Require(saved is not null, problem ?? ""))
        {
            return null;
        }

        var key = NoteKey.ParseVerifierKey(saved!.VerifierKey);
        if (!checks.Check(key is not null, $"the saved key {key?.Name}+{key?.KeyIdHex}", $"the saved verifier_key '{saved.VerifierKey}' is not a C2SP Ed25519 verifier key"))
        {
            return null;
        }

        return SignedCheckpoint(saved.CheckpointNote, key!, checks, $"the checkpoint saved {saved.SavedTime:u}") is { } checkpoint ? (saved, key!, checkpoint) : null;
    }

    /// <summary>The checkpoint a signed note carries, once its signature by <paramref name="key"/> has been checked; null (a failed check) otherwise.</summary>
    private static Checkpoint? SignedCheckpoint(string note, NoteKey key, AuditChecks checks, string what)
    {
        var signed = SignedNote.Parse(note);
        var checkpoint = signed is null ? null : Checkpoint.Parse(signed.Text);
        if (!checks.Require(checkpoint is not null, $"{what} is not a C2SP checkpoint in a signed note"))
        {
            return null;
        }

        var signers = string.Join(", ", signed!.Signatures.Select(line => $"{line.KeyName}+{line.KeyId:x8}"));
        if (!checks.Check(checkpoint!.Origin == key.Name && signed.IsSignedBy(key),
            $"{what} ({Entries(checkpoint.TreeSize)}, root {Hex(checkpoint.RootHash)}) is signed by {key.Name}+{key.KeyIdHex}",
            $"{what} is not signed by the key {key.Name}+{key.KeyIdHex}: its origin is {checkpoint.Origin}, its signatures are by {signers}"))
        {
            return null;
        }

        return checkpoint;
    }

    private static byte[] CanonicalBytesOf(AuditEntry entry) => CanonicalEntry.Encode(
        entry.Sequence, entry.RecordTime.ToDateTimeOffset(), entry.ActorId, entry.ActorKind, entry.Action, entry.Resource,
        entry.Outcome, entry.Reason, entry.SubjectRef.Length > 0 ? entry.SubjectRef : null, entry.Detail);

    private static void Summary(AuditChecks checks, string verified) =>
        checks.Note(checks.Failed ? "NOT VERIFIED: see the FAILED lines above" : $"verified: {verified}");

    public static void EntryLine(AuditEntry entry) =>
        Console.WriteLine($"#{entry.Sequence,-5} {Output.Time(entry.RecordTime)}  {entry.ActorId} ({entry.ActorKind})  {entry.Action}  {entry.Resource}  {entry.Outcome}  {entry.Reason}".TrimEnd());

    private static void EntryDetails(AuditEntry entry)
    {
        Output.Field("entry", $"#{entry.Sequence}, recorded {Output.Time(entry.RecordTime)}");
        Output.Field("actor", $"{entry.ActorId} ({entry.ActorKind})");
        Output.Field("action", $"{entry.Action} {entry.Resource}: {entry.Outcome}" + (entry.Reason.Length > 0 ? $", {entry.Reason}" : ""));
        if (entry.SubjectRef.Length > 0)
        {
            Output.Field("subject (hash)", entry.SubjectRef);
        }

        foreach (var (name, value) in entry.Detail.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            // A long value (a page's subject hashes) is cut here; --json shows it whole, and the checks use the whole entry.
            Output.Field($"  {name}", value.Length <= MaxDetailShown ? value : $"{value[..MaxDetailShown]}… ({value.Length:N0} characters)");
        }
    }

    private static string Entries(long count) => Plural(count, "entry", "entries");

    private static string Plural(long count, string one, string? many = null) => count == 1 ? $"1 {one}" : $"{count} {many ?? one + "s"}";

    private static string Hex(byte[] hash) => Convert.ToHexStringLower(hash);

    private static string Hex(ByteString hash) => Convert.ToHexStringLower(hash.Span);

    private static Func<ParseResult, CancellationToken, Task<int>> Audit(Func<ParseResult, Session, Task<int>> action) =>
        Remote(parse => Services[parse.GetRequiredValue(ServiceOption)], action);
}
