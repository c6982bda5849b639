using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Messaging;
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
                if (!System.Text.RegularExpressions.Regex.IsMatch(request.Action.AppointExecutive.Role, "^[a-z0-9_]{1,32}$"))
                {
                    violations.Add("action.appoint_executive.role", "must be 1 to 32 lowercase letters, digits or '_', such as ceo");
                }

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
            default:
                violations.Add("action", "is required: a plain resolution, a rulebook change, an executive's appointment or removal, or an alliance's forming or termination");
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
                request.Action!.ToByteArray(), opensAt!.Value, closesAt!.Value, request.RelatedParties.Distinct(StringComparer.Ordinal).ToList());
            return new CreateProposalResponse { Proposal = ToProto(proposal) };
        });
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

        Model.OrderRules.ValidateScopeIds(scope.Purposes, scope.DataCategories, scope.Fields, $"{prefix}.scope", violations);
        var retention = violations.NonNegativeDuration($"{prefix}.scope.max_retention", scope.MaxRetention);
        if (retention <= TimeSpan.Zero || retention > TimeSpan.FromDays(3650))
        {
            violations.Add($"{prefix}.scope.max_retention", "must be positive and at most 3650 days");
        }

        var from = violations.RequiredTime($"{prefix}.scope.valid_from", scope.ValidFrom);
        var until = violations.RequiredTime($"{prefix}.scope.valid_until", scope.ValidUntil);
        if (from is not null && until is not null && until <= from)
        {
            violations.Add($"{prefix}.scope.valid_until", "must be after valid_from");
        }
    }

    public override async Task<GetProposalResponse> GetProposal(GetProposalRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations();
        var id = violations.Uuid("proposal_id", request.ProposalId);
        violations.ThrowIfAny();

        await using var connection = await database.OpenAsync(context.CancellationToken);
        var proposal = await repository.GetAsync(connection, id!, null, context.CancellationToken) ?? throw new NotFoundException("proposal", id!);
        var message = ToProto(proposal);
        if (message.Action.KindCase == ProposalAction.KindOneofCase.AppointExecutive && proposal.Tally?.Outcome == Model.ProposalOutcome.Passed)
        {
            message.AppointmentId = await executives.IdOfProposalAsync(connection, proposal.Id, context.CancellationToken) ?? "";
        }

        if (message.Action.KindCase == ProposalAction.KindOneofCase.FormAlliance && proposal.Tally?.Outcome == Model.ProposalOutcome.Passed)
        {
            message.AllianceId = await alliances.IdOfProposalAsync(connection, proposal.Id, context.CancellationToken) ?? "";
        }

        return new GetProposalResponse { Proposal = message };
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

    private V1.Proposal ToProto(Model.Proposal proposal)
    {
        var message = new V1.Proposal
        {
            Id = proposal.Id,
            Category = (V1.ProposalCategory)proposal.Category,
            Title = proposal.Title,
            Action = ProposalAction.Parser.ParseFrom(proposal.Action),
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
