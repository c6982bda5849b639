using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Oversight.Governance.V1;
using static Oversight.Cli.GlobalOptions;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace Oversight.Cli;

/// <summary>
/// The Governance command trees: organisations, the venture's shares, transfers, proposals,
/// executives, alliances, and the regulator's orders (mandates, the exchange freeze). The audit
/// log is AuditCommands' (audit list --service governance).
/// Every one calls the Governance service (port 5102 by default).
/// </summary>
internal static class GovernanceCommands
{
    private static readonly Option<string?> RequestIdOption = new("--request-id") { Description = "Idempotency key; reuse it to retry safely. Default: a new GUID." };

    public static IEnumerable<Command> Create() =>
        [Organisations(), Venture(), Transfers(), CapitalChanges(), Proposals(), Executives(), Alliances(), Mandates()];

    private static Command Organisations()
    {
        string[] kinds = ["platform", "institution", "regulator", "state_investor", "operator"];
        var id = new Argument<string>("id") { Description = "The organisation id: lowercase letters, digits, '.', '_' or '-'." };
        var registerKind = new Argument<string>("kind") { Description = "What it is: " + string.Join(", ", kinds) + "." }.AcceptOnlyFromAmong(kinds);
        var registerName = new Option<string>("--name") { Description = "Its legal name.", Required = true };
        var registerJurisdiction = new Option<string>("--jurisdiction") { Description = "Where it is established (ISO 3166-1 alpha-2).", DefaultValueFactory = _ => "CN" };
        var registerAffiliations = new Option<string[]>("--affiliation") { Description = "A registered organisation it is affiliated with; repeat for more.", AllowMultipleArgumentsPerToken = true };
        var register = new Command("register", "Registers an organisation (the operator or the regulator).")
        {
            id, registerKind, registerName, registerJurisdiction, registerAffiliations, RequestIdOption,
        };
        register.SetAction(Governance(async (parse, s) =>
        {
            var response = await s.Organisations.RegisterOrganisationAsync(new RegisterOrganisationRequest
            {
                RequestId = RequestId(parse),
                OrganisationId = parse.GetRequiredValue(id),
                Kind = OrganisationKindOf(parse.GetRequiredValue(registerKind)),
                Name = parse.GetRequiredValue(registerName),
                Jurisdiction = parse.GetRequiredValue(registerJurisdiction),
                Affiliations = { parse.GetValue(registerAffiliations) ?? [] },
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => GovernanceOutput.OrganisationDetails(response.Organisation));
        }));

        var name = new Option<string?>("--name") { Description = "The new legal name." };
        var jurisdiction = new Option<string?>("--jurisdiction") { Description = "The new jurisdiction." };
        var affiliations = new Option<string[]>("--affiliation") { Description = "Replaces the affiliations with these; repeat for more.", AllowMultipleArgumentsPerToken = true };
        var noAffiliations = new Option<bool>("--no-affiliations") { Description = "Clears the affiliations." };
        var expectedVersion = new Option<long?>("--expected-version") { Description = "Fail if the organisation is no longer at this version. Default: the version just read." };
        var update = new Command("update", "Changes an organisation's name, jurisdiction or affiliations; what is not given stays as it is.")
        {
            id, name, jurisdiction, affiliations, noAffiliations, expectedVersion, RequestIdOption,
        };
        update.Validators.Add(result =>
        {
            if (result.GetValue(name) is null && result.GetValue(jurisdiction) is null && result.GetValue(affiliations) is null or [] && !result.GetValue(noAffiliations))
            {
                result.AddError("Give something to change: --name, --jurisdiction, --affiliation or --no-affiliations.");
            }

            if (result.GetValue(affiliations) is [_, ..] && result.GetValue(noAffiliations))
            {
                result.AddError("Give --affiliation or --no-affiliations, not both.");
            }
        });
        update.SetAction(Governance(async (parse, s) =>
        {
            // The RPC replaces every mutable field, so read first and send back what is not changing;
            // the version read guards against overwriting someone else's change in between.
            var organisationId = parse.GetRequiredValue(id);
            var current = (await s.Organisations.GetOrganisationAsync(
                new GetOrganisationRequest { OrganisationId = organisationId }, cancellationToken: s.Cancellation)).Organisation;
            var response = await s.Organisations.UpdateOrganisationAsync(new UpdateOrganisationRequest
            {
                RequestId = RequestId(parse),
                OrganisationId = organisationId,
                ExpectedVersion = parse.GetValue(expectedVersion) ?? current.Version,
                Name = parse.GetValue(name) ?? current.Name,
                Jurisdiction = parse.GetValue(jurisdiction) ?? current.Jurisdiction,
                Affiliations =
                {
                    parse.GetValue(noAffiliations) ? [] : parse.GetValue(affiliations) is [_, ..] given ? given : current.Affiliations.ToArray(),
                },
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => GovernanceOutput.OrganisationDetails(response.Organisation));
        }));

        var get = GetCommand("Shows one organisation.", id,
            (s, organisationId) => s.Organisations.GetOrganisationAsync(new GetOrganisationRequest { OrganisationId = organisationId }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.OrganisationDetails(response.Organisation));

        var listKind = new Argument<string?>("kind") { Description = "Only organisations of this kind.", Arity = ArgumentArity.ZeroOrOne }.AcceptOnlyFromAmong(kinds);
        var list = new Command("list", "Lists the registered organisations by id.") { listKind };
        list.SetAction(Governance(async (parse, s) =>
        {
            var kind = parse.GetValue(listKind) is { } k ? OrganisationKindOf(k) : OrganisationKind.Unspecified;
            var response = await Session.AllPagesAsync(token => s.Organisations.ListOrganisationsAsync(
                new ListOrganisationsRequest { Kind = kind, PageToken = token }, cancellationToken: s.Cancellation));
            s.Output.Print(response, () => Output.Lines(response.Organisations, GovernanceOutput.OrganisationLine));
        }));

        return new Command("org", "Register, change and list the organisations (Governance).") { register, update, get, list };
    }

    private static Command Venture()
    {
        var classes = new Option<ShareClass[]>("--class")
        {
            Description = "A share class as ID:KIND:VOTES_PER_SHARE:AUTHORISED[:transferable|:non-transferable], KIND ordinary or management, "
                + "such as ordinary:ordinary:1:1000000 or management:management:0:1; repeat for each class. "
                + "Ordinary shares are transferable and the management share is not, unless stated.",
            HelpName = "ID:KIND:VOTES:AUTHORISED",
            Required = true,
            CustomParser = result => [.. result.Tokens.Select(t => ParseShareClass(t.Value, result)).OfType<ShareClass>()],
        };
        var allocations = new Option<Allocation[]>("--allocate")
        {
            Description = "Founders' shares as HOLDER:CLASS:QUANTITY, such as shopwave:ordinary:300000; repeat for each.",
            HelpName = "HOLDER:CLASS:QUANTITY",
            Required = true,
            CustomParser = result => [.. result.Tokens.Select(t => ParseAllocation(t.Value, result)).OfType<Allocation>()],
        };
        var found = new Command("found", "Founds the venture once: its share classes and the founders' allocations (the operator).")
        {
            classes, allocations, RequestIdOption,
        };
        found.SetAction(Governance(async (parse, s) =>
        {
            var response = await s.Shares.FoundVentureAsync(new FoundVentureRequest
            {
                RequestId = RequestId(parse),
                ShareClasses = { parse.GetRequiredValue(classes) },
                Allocations = { parse.GetRequiredValue(allocations) },
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => GovernanceOutput.CapTableDetails(response.CapTable));
        }));

        var asOf = new Option<long>("--as-of") { Description = "The ledger sequence to derive it at (see venture ledger). Default: now.", HelpName = "SEQ" };
        var capTable = new Command("cap-table", "Shows who holds what: shares, votes and percentages (shareholders, the operator, the regulator).") { asOf };
        capTable.SetAction(Governance(async (parse, s) =>
        {
            var response = await s.Shares.GetCapTableAsync(new GetCapTableRequest { AsOfSequence = parse.GetValue(asOf) }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => GovernanceOutput.CapTableDetails(response.CapTable));
        }));

        var ledger = new Command("ledger", "Lists every movement of shares, oldest first (the operator, the regulator).");
        ledger.SetAction(Governance(async (_, s) =>
        {
            var response = await Session.AllPagesAsync(token => s.Shares.ListLedgerEntriesAsync(new ListLedgerEntriesRequest { PageToken = token }, cancellationToken: s.Cancellation));
            s.Output.Print(response, () => Output.Lines(response.Entries, GovernanceOutput.LedgerLine));
        }));

        return new Command("venture", "Found the venture and read its share ledger (Governance).") { found, capTable, ledger };
    }

    private static Command Transfers()
    {
        var id = new Argument<string>("id") { Description = "The transfer id." };
        var buyer = new Option<string>("--buyer") { Description = "The registered platform or state investor buying.", Required = true };
        var quantity = new Option<long>("--quantity") { Description = "How many shares.", Required = true };
        var shareClass = new Option<string>("--class") { Description = "The share class.", DefaultValueFactory = _ => "ordinary" };
        var request = new Command("request", "Sells shares you hold: settles at once, or waits for the regulator when the buyer is new or reaches the threshold.")
        {
            buyer, quantity, shareClass, RequestIdOption,
        };
        request.SetAction(Governance(async (parse, s) =>
        {
            var response = await s.Shares.RequestShareTransferAsync(new RequestShareTransferRequest
            {
                RequestId = RequestId(parse),
                BuyerId = parse.GetRequiredValue(buyer),
                Quantity = parse.GetValue(quantity),
                ClassId = parse.GetRequiredValue(shareClass),
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => GovernanceOutput.TransferDetails(response.Transfer));
        }));

        var approve = StateChangeCommand("approve", "Approves a waiting transfer and settles it (the regulator).", id, Note(),
            (s, requestId, transferId, reason) => s.Shares.ApproveShareTransferAsync(
                new ApproveShareTransferRequest { RequestId = requestId, TransferId = transferId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.TransferDetails(response.Transfer));

        var reject = StateChangeCommand("reject", "Rejects a waiting transfer (the regulator).", id, RequiredReason(),
            (s, requestId, transferId, reason) => s.Shares.RejectShareTransferAsync(
                new RejectShareTransferRequest { RequestId = requestId, TransferId = transferId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.TransferDetails(response.Transfer));

        var cancel = StateChangeCommand("cancel", "Withdraws your waiting transfer (the seller).", id, Note(),
            (s, requestId, transferId, reason) => s.Shares.CancelShareTransferAsync(
                new CancelShareTransferRequest { RequestId = requestId, TransferId = transferId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.TransferDetails(response.Transfer));

        var get = GetCommand("Shows one transfer (its parties, the operator, the regulator).", id,
            (s, transferId) => s.Shares.GetShareTransferAsync(new GetShareTransferRequest { TransferId = transferId }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.TransferDetails(response.Transfer));

        var list = ListCommand("list", "Lists transfers, newest first; --state awaiting_regulator is the regulator's queue (the operator, the regulator).",
            StateFilter<ShareTransferState>("transfers"),
            (s, state, token) => s.Shares.ListShareTransfersAsync(new ListShareTransfersRequest { State = state, PageToken = token }, cancellationToken: s.Cancellation),
            response => Output.Lines(response.Transfers, GovernanceOutput.TransferLine));

        return new Command("transfer", "Transfer shares, and the regulator's approval (Governance).") { request, approve, reject, cancel, get, list };
    }

    private static Command CapitalChanges()
    {
        var id = new Argument<string>("id") { Description = "The capital change id (from proposal get, once an issuance or cancellation passed)." };
        var get = GetCommand("Shows one issuance or cancellation of shares a proposal passed (its holders, the operator, the regulator).", id,
            (s, capitalChangeId) => s.Shares.GetCapitalChangeAsync(new GetCapitalChangeRequest { CapitalChangeId = capitalChangeId }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.CapitalChangeDetails(response.CapitalChange));

        var list = ListCommand("list", "Lists issuances and cancellations of shares, newest first (the operator, the regulator).",
            StateFilter<CapitalChangeState>("capital changes"),
            (s, state, token) => s.Shares.ListCapitalChangesAsync(new ListCapitalChangesRequest { State = state, PageToken = token }, cancellationToken: s.Cancellation),
            response => Output.Lines(response.CapitalChanges, GovernanceOutput.CapitalChangeLine));

        var approve = StateChangeCommand("approve", "Approves a waiting issuance or cancellation and settles it in the ledger (the regulator).", id, Note(),
            (s, requestId, capitalChangeId, reason) => s.Shares.ApproveCapitalChangeAsync(
                new ApproveCapitalChangeRequest { RequestId = requestId, CapitalChangeId = capitalChangeId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.CapitalChangeDetails(response.CapitalChange));

        var reject = StateChangeCommand("reject", "Rejects a waiting issuance or cancellation (the regulator).", id, RequiredReason(),
            (s, requestId, capitalChangeId, reason) => s.Shares.RejectCapitalChangeAsync(
                new RejectCapitalChangeRequest { RequestId = requestId, CapitalChangeId = capitalChangeId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.CapitalChangeDetails(response.CapitalChange));

        return new Command("capital-change", "Issuances and cancellations of shares passed by proposal, and the regulator's approval (Governance).")
        {
            get, list, approve, reject,
        };
    }

    private static Command Proposals()
    {
        var id = new Argument<string>("id") { Description = "The proposal id." };
        var options = new ProposalOptions();
        var create = new Command("create", "Proposes a resolution to the shareholders (a shareholder with votes, or the operator).") { RequestIdOption };
        options.AddTo(create);
        create.SetAction(Governance(async (parse, s) =>
        {
            var request = options.Read(parse);
            request.RequestId = RequestId(parse);
            var response = await s.Proposals.CreateProposalAsync(request, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => GovernanceOutput.ProposalDetails(response.Proposal));
        }));

        var get = GetCommand("Shows a proposal, with its tally once closed.", id,
            (s, proposalId) => s.Proposals.GetProposalAsync(new GetProposalRequest { ProposalId = proposalId }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.ProposalDetails(response.Proposal));

        var choice = new Argument<string>("choice") { Description = "for, against or abstain." }.AcceptOnlyFromAmong("for", "against", "abstain");
        var vote = new Command("vote", "Casts or changes your ballot while voting is open; the last one before the close counts.") { id, choice, RequestIdOption };
        vote.SetAction(Governance(async (parse, s) =>
        {
            var response = await s.Proposals.CastBallotAsync(new CastBallotRequest
            {
                RequestId = RequestId(parse),
                ProposalId = parse.GetRequiredValue(id),
                Choice = System.Enum.Parse<VoteChoice>(parse.GetRequiredValue(choice), ignoreCase: true),
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () =>
                Console.WriteLine($"{response.HolderId} voted {Output.Label(response.Choice)} with {response.Weight.ToString("N0", CultureInfo.InvariantCulture)} votes at {Output.Time(response.CastTime)}"));
        }));

        var withdrawReason = new Option<string?>("--reason") { Description = "Why; at most 500 characters." };
        var withdraw = StateChangeCommand("withdraw", "Withdraws your proposal before voting opens.", id, withdrawReason,
            (s, requestId, proposalId, reason) => s.Proposals.WithdrawProposalAsync(
                new WithdrawProposalRequest { RequestId = requestId, ProposalId = proposalId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.ProposalDetails(response.Proposal));

        var cancel = StateChangeCommand("cancel", "Cancels a proposal before its tally: its ballots are not counted and its action is not carried out (the regulator).",
            id, RequiredReason(),
            (s, requestId, proposalId, reason) => s.Proposals.CancelProposalAsync(
                new CancelProposalRequest { RequestId = requestId, ProposalId = proposalId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.ProposalDetails(response.Proposal));

        var list = ListCommand("list", "Lists proposals, newest first (shareholders, the operator, the regulator).", StateFilter<ProposalState>("proposals"),
            (s, state, token) => s.Proposals.ListProposalsAsync(new ListProposalsRequest { State = state, PageToken = token }, cancellationToken: s.Cancellation),
            response => Output.Lines(response.Proposals, GovernanceOutput.ProposalLine));

        return new Command("proposal", "Propose, vote and follow the shareholders' resolutions (Governance).") { create, get, list, vote, withdraw, cancel };
    }

    private static Command Executives()
    {
        var id = new Argument<string>("id") { Description = "The appointment id (from proposal get, once the appointment passed)." };
        var at = TimeOptions.Time("--at", "Who was in office at this time. Default: now.");
        var list = new Command("list", "Lists who is in office, by role.") { at };
        list.SetAction(Governance(async (parse, s) =>
        {
            var time = parse.GetValue(at);
            var response = await s.Executives.ListExecutivesInOfficeAsync(
                new ListExecutivesInOfficeRequest { AtTime = time is null ? null : Timestamp.FromDateTimeOffset(time.Value) }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => Output.Lines(response.Appointments, GovernanceOutput.ExecutiveLine));
        }));

        var get = GetCommand("Shows one appointment.", id,
            (s, appointmentId) => s.Executives.GetAppointmentAsync(new GetAppointmentRequest { AppointmentId = appointmentId }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.AppointmentDetails(response.Appointment));

        var appointments = ListCommand("appointments", "Lists appointments in every state, newest first; executive list shows who is in office.",
            StateFilter<AppointmentState>("appointments"),
            (s, state, token) => s.Executives.ListAppointmentsAsync(new ListAppointmentsRequest { State = state, PageToken = token }, cancellationToken: s.Cancellation),
            response => Output.Lines(response.Appointments, GovernanceOutput.AppointmentLine));

        var effective = TimeOptions.Time("--effective", "When the approval takes effect: now or later, never in the past. Default: now.");
        var approve = new Command("approve", "Approves a passed appointment; the person is in office from --effective (the regulator).") { id, effective, RequestIdOption };
        approve.SetAction(Governance(async (parse, s) =>
        {
            var time = parse.GetValue(effective);
            var response = await s.Executives.ApproveAppointmentAsync(new ApproveAppointmentRequest
            {
                RequestId = RequestId(parse),
                AppointmentId = parse.GetRequiredValue(id),
                EffectiveTime = time is null ? null : Timestamp.FromDateTimeOffset(time.Value),
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => GovernanceOutput.AppointmentDetails(response.Appointment));
        }));

        var reject = StateChangeCommand("reject", "Rejects a passed appointment (the regulator).", id, RequiredReason(),
            (s, requestId, appointmentId, reason) => s.Executives.RejectAppointmentAsync(
                new RejectAppointmentRequest { RequestId = requestId, AppointmentId = appointmentId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.AppointmentDetails(response.Appointment));

        var revoke = StateChangeCommand("revoke", "Revokes an approved appointment, ending it (the regulator).", id, RequiredReason(),
            (s, requestId, appointmentId, reason) => s.Executives.RevokeAppointmentAsync(
                new RevokeAppointmentRequest { RequestId = requestId, AppointmentId = appointmentId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.AppointmentDetails(response.Appointment));

        var withdraw = StateChangeCommand("withdraw", "Withdraws an appointment still awaiting the regulator, say when the person declines (the operator).",
            id, RequiredReason(),
            (s, requestId, appointmentId, reason) => s.Executives.WithdrawAppointmentAsync(
                new WithdrawAppointmentRequest { RequestId = requestId, AppointmentId = appointmentId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.AppointmentDetails(response.Appointment));

        return new Command("executive", "The venture's executives and the regulator's approval (Governance).")
        {
            list, appointments, get, approve, reject, revoke, withdraw,
        };
    }

    private static Command Alliances()
    {
        var id = new Argument<string>("id") { Description = "The alliance id (from proposal get, once the alliance passed)." };
        var get = GetCommand("Shows one alliance and its scope.", id,
            (s, allianceId) => s.Alliances.GetAllianceAsync(new GetAllianceRequest { AllianceId = allianceId }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.AllianceDetails(response.Alliance));

        var approve = new Command("approve", "Approves a passed alliance: it becomes ACTIVE (the regulator).") { id, RequestIdOption };
        approve.SetAction(Governance(async (parse, s) =>
        {
            var response = await s.Alliances.ApproveAllianceAsync(
                new ApproveAllianceRequest { RequestId = RequestId(parse), AllianceId = parse.GetRequiredValue(id) }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => GovernanceOutput.AllianceDetails(response.Alliance));
        }));

        var reject = StateChangeCommand("reject", "Rejects a passed alliance (the regulator).", id, RequiredReason(),
            (s, requestId, allianceId, reason) => s.Alliances.RejectAllianceAsync(
                new RejectAllianceRequest { RequestId = requestId, AllianceId = allianceId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.AllianceDetails(response.Alliance));

        var suspend = StateChangeCommand("suspend", "Suspends an active alliance: its data access stops at once (the regulator).", id, RequiredReason(),
            (s, requestId, allianceId, reason) => s.Alliances.SuspendAllianceAsync(
                new SuspendAllianceRequest { RequestId = requestId, AllianceId = allianceId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.AllianceDetails(response.Alliance));

        var resume = StateChangeCommand("resume", "Resumes a suspended alliance (the regulator).", id, RequiredReason(),
            (s, requestId, allianceId, reason) => s.Alliances.ResumeAllianceAsync(
                new ResumeAllianceRequest { RequestId = requestId, AllianceId = allianceId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.AllianceDetails(response.Alliance));

        var list = ListCommand("list", "Lists alliances, newest first.", StateFilter<AllianceState>("alliances"),
            (s, state, token) => s.Alliances.ListAlliancesAsync(new ListAlliancesRequest { State = state, PageToken = token }, cancellationToken: s.Cancellation),
            response => Output.Lines(response.Alliances, GovernanceOutput.AllianceLine));

        return new Command("alliance", "Alliances with government-backed institutions and the regulator's decisions (Governance).")
        {
            get, list, approve, reject, suspend, resume,
        };
    }

    private static Command Mandates()
    {
        var legalReference = new Option<string>("--legal-reference") { Description = "The law or order it rests on.", Required = true };
        var recipient = new Option<string>("--recipient") { Description = "The registered organisation that may receive the data.", Required = true };
        var purposes = new Option<string[]>("--purpose") { Description = "A purpose it allows; repeat for more.", Required = true, AllowMultipleArgumentsPerToken = true };
        var categories = new Option<string[]>("--data-category") { Description = "A data category it allows; repeat for more.", Required = true, AllowMultipleArgumentsPerToken = true };
        var validFrom = TimeOptions.Time("--valid-from", "When it takes effect. Default: now.");
        var validUntil = TimeOptions.Time("--valid-until", "When it ends. Default: until repealed.");
        var enact = new Command("enact", "Enacts a statutory mandate: Consent's checks then allow these flows without consent (the regulator).")
        {
            legalReference, recipient, purposes, categories, validFrom, validUntil, RequestIdOption,
        };
        enact.SetAction(Governance(async (parse, s) =>
        {
            var from = parse.GetValue(validFrom);
            var until = parse.GetValue(validUntil);
            var response = await s.Orders.EnactStatutoryMandateAsync(new EnactStatutoryMandateRequest
            {
                RequestId = RequestId(parse),
                LegalReference = parse.GetRequiredValue(legalReference),
                RecipientId = parse.GetRequiredValue(recipient),
                Purposes = { parse.GetRequiredValue(purposes) },
                DataCategories = { parse.GetRequiredValue(categories) },
                ValidFrom = from is null ? null : Timestamp.FromDateTimeOffset(from.Value),
                ValidUntil = until is null ? null : Timestamp.FromDateTimeOffset(until.Value),
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => GovernanceOutput.MandateDetails(response.Mandate));
        }));

        var id = new Argument<string>("id") { Description = "The mandate id." };
        var repeal = StateChangeCommand("repeal", "Repeals a statutory mandate at once (the regulator).", id, RequiredReason(),
            (s, requestId, mandateId, reason) => s.Orders.RepealStatutoryMandateAsync(
                new RepealStatutoryMandateRequest { RequestId = requestId, MandateId = mandateId, Reason = reason }, cancellationToken: s.Cancellation),
            response => GovernanceOutput.MandateDetails(response.Mandate));

        var list = new Command("list", "Lists the statutory mandates, in force or repealed, oldest first.");
        list.SetAction(Governance(async (_, s) =>
        {
            var response = await Session.AllPagesAsync(token => s.Orders.ListStatutoryMandatesAsync(
                new ListStatutoryMandatesRequest { PageToken = token }, cancellationToken: s.Cancellation));
            s.Output.Print(response, () => Output.Lines(response.Mandates, GovernanceOutput.MandateLine));
        }));

        return new Command("mandate", "The regulator's statutory mandates (Governance).") { enact, repeal, list };
    }

    /// <summary>The regulator's orders about the whole exchange; they sit under <c>exchange</c> beside Exchange's own commands (ExchangeCommands).</summary>
    public static IEnumerable<Command> ExchangeOrders()
    {
        var reason = RequiredReason();
        var freeze = new Command("freeze", "Freezes the exchange: every delivery stops until it is unfrozen (the regulator, Governance).") { reason, RequestIdOption };
        freeze.SetAction(Governance(async (parse, s) =>
        {
            var response = await s.Orders.FreezeExchangeAsync(
                new FreezeExchangeRequest { RequestId = RequestId(parse), Reason = parse.GetRequiredValue(reason) }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => GovernanceOutput.ExchangeStatusDetails(response.Status));
        }));

        var unfreeze = new Command("unfreeze", "Lifts the freeze (the regulator, Governance).") { reason, RequestIdOption };
        unfreeze.SetAction(Governance(async (parse, s) =>
        {
            var response = await s.Orders.UnfreezeExchangeAsync(
                new UnfreezeExchangeRequest { RequestId = RequestId(parse), Reason = parse.GetRequiredValue(reason) }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => GovernanceOutput.ExchangeStatusDetails(response.Status));
        }));

        var status = new Command("status", "Tells whether the exchange is frozen (Governance).");
        status.SetAction(Governance(async (_, s) =>
        {
            var response = await s.Orders.GetExchangeStatusAsync(new GetExchangeStatusRequest(), cancellationToken: s.Cancellation);
            s.Output.Print(response, () => GovernanceOutput.ExchangeStatusDetails(response.Status));
        }));

        return [freeze, unfreeze, status];
    }

    private static Func<ParseResult, CancellationToken, Task<int>> Governance(Func<ParseResult, Session, Task> action) =>
        Remote(ServiceEndpoint.Governance, action);

    private static string RequestId(ParseResult parse) => parse.GetValue(RequestIdOption) ?? Guid.NewGuid().ToString();

    // string? like the optional notes, so StateChangeCommand takes either; being required, it is never null once parsed.
    private static Option<string?> RequiredReason() => new("--reason") { Description = "Why, 1 to 500 characters.", Required = true };

    private static Option<string?> Note() => new("--reason") { Description = "A note; at most 500 characters." };

    /// <summary>
    /// A command that moves one thing to another state: &lt;id&gt;, a --reason (required, or an optional
    /// note sent empty when not given) and --request-id; it makes one call and prints what comes back.
    /// </summary>
    private static Command StateChangeCommand<TResponse>(
        string name,
        string description,
        Argument<string> id,
        Option<string?> reason,
        Func<Session, string, string, string, AsyncUnaryCall<TResponse>> call,
        Action<TResponse> print)
        where TResponse : IMessage
    {
        var command = new Command(name, description) { id, reason, RequestIdOption };
        command.SetAction(Governance(async (parse, s) =>
        {
            var response = await call(s, RequestId(parse), parse.GetRequiredValue(id), parse.GetValue(reason) ?? "");
            s.Output.Print(response, () => print(response));
        }));
        return command;
    }

    /// <summary>A <c>get</c> command: shows the one thing with that &lt;id&gt;.</summary>
    private static Command GetCommand<TResponse>(string description, Argument<string> id, Func<Session, string, AsyncUnaryCall<TResponse>> call, Action<TResponse> print)
        where TResponse : IMessage
    {
        var command = new Command("get", description) { id };
        command.SetAction(Governance(async (parse, s) =>
        {
            var response = await call(s, parse.GetRequiredValue(id));
            s.Output.Print(response, () => print(response));
        }));
        return command;
    }

    /// <summary>A command that lists every page, filtered by --state (see <see cref="StateFilter"/>); unset sends the unspecified state.</summary>
    private static Command ListCommand<TState, TResponse>(
        string name,
        string description,
        Option<TState?> state,
        Func<Session, TState, string, AsyncUnaryCall<TResponse>> page,
        Action<TResponse> print)
        where TState : struct, System.Enum
        where TResponse : IMessage<TResponse>
    {
        var command = new Command(name, description) { state };
        command.SetAction(Governance(async (parse, s) =>
        {
            var filter = parse.GetValue(state) ?? default;
            var response = await Session.AllPagesAsync(token => page(s, filter, token));
            s.Output.Print(response, () => print(response));
        }));
        return command;
    }

    /// <summary>
    /// --state for a list: the state enum's values in lowercase without their prefix (awaiting_regulator,
    /// settled, …), as the text output prints them in capitals. Unset lists every state.
    /// </summary>
    internal static Option<TState?> StateFilter<TState>(string listed)
        where TState : struct, System.Enum
    {
        var states = System.Enum.GetValues<TState>().Where(v => !v.Equals(default(TState))).ToDictionary(v => Output.Label(v).ToLowerInvariant());
        return new Option<TState?>("--state")
        {
            Description = $"Only {listed} in this state: {string.Join(", ", states.Keys)}. Default: all.",
            HelpName = "STATE",
            CustomParser = result =>
            {
                var text = result.Tokens.Single().Value;
                if (states.TryGetValue(text.ToLowerInvariant(), out var state))
                {
                    return state;
                }

                result.AddError($"--state '{text}': write one of {string.Join(", ", states.Keys)}.");
                return null;
            },
        };
    }

    private static OrganisationKind OrganisationKindOf(string kind) => System.Enum.Parse<OrganisationKind>(kind.Replace("_", "", StringComparison.Ordinal), ignoreCase: true);

    private static ShareClass? ParseShareClass(string text, ArgumentResult result)
    {
        var parts = text.Split(':');
        if (parts.Length is < 4 or > 5 || parts[1] is not ("ordinary" or "management") || parts.Length == 5 && parts[4] is not ("transferable" or "non-transferable"))
        {
            result.AddError($"--class '{text}': write ID:KIND:VOTES_PER_SHARE:AUTHORISED[:transferable|:non-transferable] with KIND ordinary or management, "
                + "such as ordinary:ordinary:1:1000000 or management:management:0:1.");
            return null;
        }

        var votes = Quantity(parts[2], minimum: 0);
        var authorised = Quantity(parts[3], minimum: 1);
        if (votes is null || authorised is null)
        {
            result.AddError($"--class '{text}': votes per share must be a whole number (0 or more) and authorised shares a whole number of at least 1.");
            return null;
        }

        var kind = parts[1] == "ordinary" ? ShareClassKind.Ordinary : ShareClassKind.Management;
        return new ShareClass
        {
            Id = parts[0],
            Kind = kind,
            VotesPerShare = votes.Value,
            Authorised = authorised.Value,
            Transferable = parts.Length == 5 ? parts[4] == "transferable" : kind == ShareClassKind.Ordinary,
        };
    }

    private static Allocation? ParseAllocation(string text, ArgumentResult result)
    {
        var parts = text.Split(':');
        if (parts.Length != 3 || parts[0].Length == 0 || parts[1].Length == 0)
        {
            result.AddError($"--allocate '{text}': write HOLDER:CLASS:QUANTITY, such as shopwave:ordinary:300000.");
            return null;
        }

        if (Quantity(parts[2], minimum: 1) is not { } quantity)
        {
            result.AddError($"--allocate '{text}': the quantity must be a whole number of at least 1.");
            return null;
        }

        return new Allocation { HolderId = parts[0], ClassId = parts[1], Quantity = quantity };
    }

    /// <summary>A whole number of at least <paramref name="minimum"/>, digits only (no sign, no separators).</summary>
    public static long? Quantity(string text, long minimum) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= minimum ? value : null;
}
