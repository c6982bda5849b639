using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Governance.Application;
using Oversight.Governance.Infrastructure;
using Oversight.Governance.V1;

namespace Oversight.Governance.Grpc;

/// <summary>The ProposalService RPCs: validate the request's shape, delegate, translate.</summary>
public sealed class ProposalGrpcService(
    GovernanceDatabase database,
    ProposalRepository repository,
    ExecutiveRepository executives,
    AllianceRepository alliances,
    ShareRepository shares,
    VentureFounding founding,
    Proposals proposals,
    TimeProvider time) : ProposalService.ProposalServiceBase
{
    public override Task<CreateProposalResponse> CreateProposal(CreateProposalRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        violations.Enum("category", request.Category, V1.ProposalCategory.Ordinary, V1.ProposalCategory.Special, V1.ProposalCategory.ReservedMatter);
        violations.Text("title", request.Title, 200);
        switch (request.Action?.KindCase)
        {
            case ProposalAction.KindOneofCase.PlainResolution:
                violations.Text("action.plain_resolution.text", request.Action.PlainResolution.Text, 2000);
                break;
            case ProposalAction.KindOneofCase.RulebookChange:
                violations.Text("action.rulebook_change.summary", request.Action.RulebookChange.Summary, 2000);
                break;
            case ProposalAction.KindOneofCase.AppointExecutive:
                violations.Text("action.appoint_executive.person_name", request.Action.AppointExecutive.PersonName, 200);
                Model.Handles.Role(violations, "action.appoint_executive.role", request.Action.AppointExecutive.Role);
                break;
            case ProposalAction.KindOneofCase.RemoveExecutive:
                violations.Uuid("action.remove_executive.appointment_id", request.Action.RemoveExecutive.AppointmentId);
                break;
            case ProposalAction.KindOneofCase.FormAlliance:
                ValidateAlliance(request.Action.FormAlliance, violations);
                break;
            case ProposalAction.KindOneofCase.TerminateAlliance:
                violations.Uuid("action.terminate_alliance.alliance_id", request.Action.TerminateAlliance.AllianceId);
                break;
            case ProposalAction.KindOneofCase.IssueShares:
                ValidateLines("action.issue_shares.allocations", request.Action.IssueShares.Allocations, violations);
                break;
            case ProposalAction.KindOneofCase.CancelShares:
                ValidateLines("action.cancel_shares.cancellations", request.Action.CancelShares.Cancellations, violations);
                break;
            default:
                violations.Add("action", "is required: a plain resolution, a rulebook change, an executive's appointment or removal, "
                    + "an alliance's forming or termination, or an issuance or cancellation of shares");
                break;
        }

        var opensAt = violations.RequiredTime("open_time", request.OpenTime);
        var closesAt = violations.RequiredTime("close_time", request.CloseTime);
        if (request.RelatedParties.Count > 32)
        {
            violations.Add("related_parties", "must name at most 32");
        }

        for (var i = 0; i < request.RelatedParties.Count && i < 32; i++)
        {
            violations.OrganisationId($"related_parties[{i}]", request.RelatedParties[i]);
        }

        violations.ThrowIfAny();
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
        {
            var proposal = await proposals.CreateAsync(session, caller, (Model.ProposalCategory)request.Category, request.Title,
                ProposalMapping.ToModel(request.Action!), opensAt!.Value, closesAt!.Value, request.RelatedParties.Distinct(StringComparer.Ordinal).ToList());
            return new CreateProposalResponse { Proposal = ToProto(proposal) };
        });
    }

    /// <summary>The lines of an issuance or cancellation: 1 to 32, one per holder, each at least one share.</summary>
    private static void ValidateLines(string field, Google.Protobuf.Collections.RepeatedField<V1.Allocation> lines, FieldViolations violations)
    {
        if (lines.Count is < 1 or > 32)
        {
            violations.Add(field, "must hold 1 to 32 lines");
        }

        for (var i = 0; i < lines.Count && i < 32; i++)
        {
            if (violations.OrganisationId($"{field}[{i}].holder_id", lines[i].HolderId) && lines.Take(i).Any(l => l.HolderId == lines[i].HolderId))
            {
                violations.Add($"{field}[{i}].holder_id", $"'{lines[i].HolderId}' is listed twice");
            }

            violations.Text($"{field}[{i}].class_id", lines[i].ClassId, 32);
            Model.ShareQuantities.Validate(violations, $"{field}[{i}].quantity", lines[i].Quantity);
        }
    }

    private static void ValidateAlliance(FormAlliance form, FieldViolations violations)
    {
        const string prefix = "action.form_alliance";
        violations.OrganisationId($"{prefix}.institution_id", form.InstitutionId);
        if (form.Scope is not { } scope)
        {
            violations.Add($"{prefix}.scope", "is required");
            return;
        }

        var retention = violations.NonNegativeDuration($"{prefix}.scope.max_retention", scope.MaxRetention);
        var from = violations.RequiredTime($"{prefix}.scope.valid_from", scope.ValidFrom);
        var until = violations.RequiredTime($"{prefix}.scope.valid_until", scope.ValidUntil);
        Model.AllianceRules.ValidateScope(scope.Purposes, scope.DataCategories, scope.Fields, retention, from, until, $"{prefix}.scope", violations);
    }

    public override async Task<GetProposalResponse> GetProposal(GetProposalRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var id = violations.Uuid("proposal_id", request.ProposalId);
        violations.ThrowIfAny();

        await using var connection = await database.OpenAsync(context.CancellationToken);
        await RequireReaderAsync(connection, context);
        var proposal = await repository.GetAsync(connection, id!, null, context.CancellationToken) ?? throw new NotFoundException("proposal", id!);
        return new GetProposalResponse { Proposal = await WithOutcomeAsync(connection, proposal, context.CancellationToken) };
    }

    public override async Task<ListProposalsResponse> ListProposals(ListProposalsRequest request, ServerCallContext context)
    {
        var (size, after) = PageToken.ForFilteredList("state", System.Enum.IsDefined(request.State), request.PageSize, request.PageToken);
        await using var connection = await database.OpenAsync(context.CancellationToken);
        await RequireReaderAsync(connection, context);
        var state = request.State == V1.ProposalState.Unspecified ? (Model.ProposalState?)null : (Model.ProposalState)request.State;
        var page = await repository.ListAsync(connection, state, time.GetUtcNow(), after, size + 1, context.CancellationToken);
        var response = new ListProposalsResponse { NextPageToken = PageToken.Next(page, size, p => p.Id) };
        foreach (var proposal in page.Take(size))
        {
            response.Proposals.Add(await WithOutcomeAsync(connection, proposal, context.CancellationToken));
        }

        return response;
    }

    /// <summary>Proposals are for the shareholders, the operator and the regulator.</summary>
    private async Task RequireReaderAsync(System.Data.Common.DbConnection connection, ServerCallContext context)
    {
        var caller = context.GetCaller();
        if (caller.IsRegulator || caller.IsOperator)
        {
            return;
        }

        var (table, _) = await founding.CapTableAsync(connection, 0, null, context.CancellationToken);
        if (table.Holdings.All(h => h.HolderId != caller.OrganisationId))
        {
            throw new PermissionDeniedException("Proposals are for the shareholders, the operator and the regulator.", "proposals");
        }
    }

    /// <summary>The proposal with what its passing created: an appointment, an alliance or a change of capital.</summary>
    private async Task<V1.Proposal> WithOutcomeAsync(System.Data.Common.DbConnection connection, Model.Proposal proposal, CancellationToken cancellationToken)
    {
        var message = ToProto(proposal);
        if (proposal.Tally?.Outcome != Model.ProposalOutcome.Passed)
        {
            return message;
        }

        switch (message.Action.KindCase)
        {
            case ProposalAction.KindOneofCase.AppointExecutive:
                message.AppointmentId = await executives.IdOfProposalAsync(connection, proposal.Id, cancellationToken) ?? "";
                break;
            case ProposalAction.KindOneofCase.FormAlliance:
                message.AllianceId = await alliances.IdOfProposalAsync(connection, proposal.Id, cancellationToken) ?? "";
                break;
            case ProposalAction.KindOneofCase.IssueShares or ProposalAction.KindOneofCase.CancelShares:
                message.CapitalChangeId = await shares.CapitalChangeIdOfProposalAsync(connection, proposal.Id, cancellationToken) ?? "";
                break;
        }

        return message;
    }

    public override Task<CastBallotResponse> CastBallot(CastBallotRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        var id = violations.Uuid("proposal_id", request.ProposalId);
        violations.Enum("choice", request.Choice, V1.VoteChoice.For, V1.VoteChoice.Against, V1.VoteChoice.Abstain);
        violations.ThrowIfAny();

        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
        {
            var (weight, castAt) = await proposals.CastAsync(session, caller, id!, (Model.VoteChoice)request.Choice);
            return new CastBallotResponse { HolderId = caller.OrganisationId, Choice = request.Choice, Weight = weight, CastTime = Timestamp.FromDateTimeOffset(castAt) };
        });
    }

    public override Task<WithdrawProposalResponse> WithdrawProposal(WithdrawProposalRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        IdempotentRequests.Validate(request.RequestId, violations);
        var id = violations.Uuid("proposal_id", request.ProposalId);
        violations.Text("reason", request.Reason, 500, required: false);
        violations.ThrowIfAny();

        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new WithdrawProposalResponse
            {
                Proposal = ToProto(await proposals.WithdrawAsync(session, caller, id!, string.IsNullOrEmpty(request.Reason) ? null : request.Reason)),
            });
    }

    public override Task<CancelProposalResponse> CancelProposal(CancelProposalRequest request, ServerCallContext context)
    {
        var id = IdempotentRequests.ValidateChange(request.RequestId, "proposal_id", request.ProposalId, request.Reason, reasonRequired: true);
        return IdempotentRequests.ExecuteAsync(database, context, time, request.RequestId, request, async (session, caller) =>
            new CancelProposalResponse { Proposal = ToProto(await proposals.CancelAsync(session, caller, id, request.Reason)) });
    }

    private V1.Proposal ToProto(Model.Proposal proposal)
    {
        var message = new V1.Proposal
        {
            Id = proposal.Id,
            Category = (V1.ProposalCategory)proposal.Category,
            Title = proposal.Title,
            Action = ProposalMapping.ToProto(proposal.Action),
            ProposerId = proposal.ProposerId,
            OpenTime = Timestamp.FromDateTimeOffset(proposal.OpensAt),
            CloseTime = Timestamp.FromDateTimeOffset(proposal.ClosesAt),
            State = (V1.ProposalState)proposal.StateAt(time.GetUtcNow()),
            RelatedParties = { proposal.RelatedParties },
            RuleVersion = proposal.Rules.RuleVersion,
            Quorum = new V1.Fraction { Numerator = proposal.Rules.Quorum.Numerator, Denominator = proposal.Rules.Quorum.Denominator },
            Majority = new V1.Fraction { Numerator = proposal.Majority.Numerator, Denominator = proposal.Majority.Denominator },
            CreateTime = Timestamp.FromDateTimeOffset(proposal.CreatedAt),
            Version = proposal.Version,
            EndReason = proposal.EndReason ?? "",
        };
        if (proposal.Tally is { } tally)
        {
            message.Tally = new V1.TallyResult
            {
                EntitledWeight = tally.EntitledWeight,
                ForWeight = tally.For,
                AgainstWeight = tally.Against,
                AbstainWeight = tally.Abstain,
                Recused = { tally.Recused },
                Explanation = tally.Explanation,
                TallyTime = proposal.TalliedAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
            };
        }

        return message;
    }
}
