using System.Data.Common;
using Dapper;
using Google.Protobuf;
using Oversight.BuildingBlocks.Data;
using Oversight.Governance.Grpc;
using Oversight.Governance.Model;

namespace Oversight.Governance.Infrastructure;

/// <summary>The SQL of proposals and ballots.</summary>
public sealed class ProposalRepository(GovernanceDatabase database)
{
    public async Task<Proposal?> GetAsync(DbConnection connection, string id, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(GovernanceSql.GetProposal, new { Id = id }, transaction, cancellationToken: cancellationToken)))?.ToDomain();

    public Task InsertAsync(DbSession session, Proposal proposal) =>
        session.ExecuteAsync(GovernanceSql.InsertProposal, new
        {
            proposal.Id,
            Category = (int)proposal.Category,
            proposal.Title,
            Action = ProposalMapping.ToProto(proposal.Action).ToByteArray(),
            proposal.ProposerId,
            OpenAt = proposal.OpensAt.ToUnixTimeMilliseconds(),
            CloseAt = proposal.ClosesAt.ToUnixTimeMilliseconds(),
            RelatedParties = string.Join(' ', proposal.RelatedParties),
            proposal.Rules.RuleVersion,
            QuorumNum = proposal.Rules.Quorum.Numerator,
            QuorumDen = proposal.Rules.Quorum.Denominator,
            MajorityNum = proposal.Majority.Numerator,
            MajorityDen = proposal.Majority.Denominator,
            CreatedAt = proposal.CreatedAt.ToUnixTimeMilliseconds(),
        });

    public async Task<bool> WithdrawAsync(DbSession session, Proposal proposal, string? reason, DateTimeOffset at) =>
        await session.ExecuteAsync(GovernanceSql.WithdrawProposal,
            new { proposal.Id, ExpectedVersion = proposal.Version, Reason = reason, At = at.ToUnixTimeMilliseconds() }) == 1;

    public async Task<bool> CancelAsync(DbSession session, Proposal proposal, string reason, DateTimeOffset at) =>
        await session.ExecuteAsync(GovernanceSql.CancelProposal,
            new { proposal.Id, ExpectedVersion = proposal.Version, Reason = reason, At = at.ToUnixTimeMilliseconds() }) == 1;

    /// <summary>Proposals newest first, in one state as of <paramref name="now"/> (null = any).</summary>
    public async Task<IReadOnlyList<Proposal>> ListAsync(
        DbConnection connection, ProposalState? state, DateTimeOffset now, string after, int limit, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<Row>(new CommandDefinition(GovernanceSql.ListProposals(database.Dialect),
            new { State = (int?)state ?? 0, Now = now.ToUnixTimeMilliseconds(), After = after, Limit = limit }, cancellationToken: cancellationToken)))
        .Select(r => r.ToDomain()).ToList();

    public async Task<IReadOnlyList<string>> DueAsync(DbConnection connection, DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<string>(new CommandDefinition(
            GovernanceSql.DueProposals(database.Dialect), new { Now = now.ToUnixTimeMilliseconds(), Limit = limit }, cancellationToken: cancellationToken))).ToList();

    public async Task<bool> RecordTallyAsync(DbSession session, Proposal proposal, TallyResult tally, DateTimeOffset at) =>
        await session.ExecuteAsync(GovernanceSql.RecordTally, new
        {
            proposal.Id,
            ExpectedVersion = proposal.Version,
            Outcome = (int)tally.Outcome,
            Entitled = tally.EntitledWeight,
            tally.For,
            tally.Against,
            tally.Abstain,
            Recused = string.Join(' ', tally.Recused),
            tally.Explanation,
            At = at.ToUnixTimeMilliseconds(),
        }) == 1;

    /// <summary>
    /// Records a ballot and bumps the proposal's version, so a tally that read the ballots before this
    /// one cannot record its count; false (nothing written) when the proposal is no longer open.
    /// </summary>
    public async Task<bool> InsertBallotAsync(DbSession session, string proposalId, string holderId, VoteChoice choice, long weight, DateTimeOffset at)
    {
        if (await session.ExecuteAsync(GovernanceSql.OpenForBallot, new { Id = proposalId, At = at.ToUnixTimeMilliseconds() }) != 1)
        {
            return false;
        }

        await session.ExecuteAsync(GovernanceSql.InsertBallot, new
        {
            ProposalId = proposalId, HolderId = holderId, Choice = (int)choice, Weight = weight, At = at.ToUnixTimeMilliseconds(),
        });
        return true;
    }

    /// <summary>The last ballot of each holder, in the order they were cast.</summary>
    public async Task<IReadOnlyList<CountedBallot>> CountedBallotsAsync(DbSession session, string proposalId)
    {
        var last = new Dictionary<string, VoteChoice>(StringComparer.Ordinal);
        foreach (var row in await session.QueryAsync<BallotRow>(GovernanceSql.Ballots, new { ProposalId = proposalId }))
        {
            last[row.HolderId] = (VoteChoice)row.Choice;
        }

        return last.Select(b => new CountedBallot(b.Key, b.Value)).ToList();
    }

    private sealed class BallotRow
    {
        public string HolderId { get; set; } = "";
        public long Choice { get; set; }
    }

    private sealed class Row
    {
        public string Id { get; set; } = "";
        public long Category { get; set; }
        public string Title { get; set; } = "";
        public byte[] Action { get; set; } = [];
        public string ProposerId { get; set; } = "";
        public long OpenAtMs { get; set; }
        public long CloseAtMs { get; set; }
        public string RelatedParties { get; set; } = "";
        public long RuleVersion { get; set; }
        public long QuorumNum { get; set; }
        public long QuorumDen { get; set; }
        public long MajorityNum { get; set; }
        public long MajorityDen { get; set; }
        public long? WithdrawnAtMs { get; set; }
        public long? Outcome { get; set; }
        public long? EntitledWeight { get; set; }
        public long? ForWeight { get; set; }
        public long? AgainstWeight { get; set; }
        public long? AbstainWeight { get; set; }
        public string? Recused { get; set; }
        public string? Explanation { get; set; }
        public long? TalliedAtMs { get; set; }
        public long? CancelledAtMs { get; set; }
        public long CreatedAtMs { get; set; }
        public long Version { get; set; }

        public Proposal ToDomain()
        {
            var category = (ProposalCategory)Category;
            var majority = new Fraction(MajorityNum, MajorityDen);
            // The frozen majority sits on the category it applies to; the other one is not used by this proposal.
            var rules = new VotingRules((int)RuleVersion, new Fraction(QuorumNum, QuorumDen),
                category == ProposalCategory.Ordinary ? majority : Fraction.Of(1, 2), category == ProposalCategory.Ordinary ? Fraction.Of(2, 3) : majority);
            var tally = Outcome is { } outcome
                ? new TallyResult((ProposalOutcome)outcome, EntitledWeight ?? 0, ForWeight ?? 0, AgainstWeight ?? 0, AbstainWeight ?? 0,
                    (Recused ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries), Explanation ?? "")
                : null;
            return new Proposal(Id, category, Title, ProposalMapping.ToModel(V1.ProposalAction.Parser.ParseFrom(Action)), ProposerId, DateTimeOffset.FromUnixTimeMilliseconds(OpenAtMs),
                DateTimeOffset.FromUnixTimeMilliseconds(CloseAtMs), RelatedParties.Split(' ', StringSplitOptions.RemoveEmptyEntries), rules,
                WithdrawnAtMs is { } withdrawn ? DateTimeOffset.FromUnixTimeMilliseconds(withdrawn) : null,
                CancelledAtMs is { } cancelled ? DateTimeOffset.FromUnixTimeMilliseconds(cancelled) : null,
                tally is null ? Explanation : null, tally,
                TalliedAtMs is { } tallied ? DateTimeOffset.FromUnixTimeMilliseconds(tallied) : null,
                DateTimeOffset.FromUnixTimeMilliseconds(CreatedAtMs), Version);
        }
    }
}
