using Dapper;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Oversight.Governance.V1;

namespace Oversight.Governance.Tests;

/// <summary>
/// The ledger's and the ballots' invariants over random sequences of transfers, regulator
/// decisions, withdrawals and changes of capital — checked afterwards against an independent replay
/// of what the RPCs and the database recorded, not against the module's own derivations.
/// The venture: the state investor 3,000 (and the management share), p0 2,000, p1 1,500, p2 1,000,
/// p3 200, p4 50, p5 80 (p5 names p4 as an affiliate); p6–p9 hold nothing yet. 20,000 authorised.
/// </summary>
public sealed class LedgerInvariantTests : IAsyncLifetime
{
    private const long Authorised = 20_000;
    private static readonly string[] Platforms = Enumerable.Range(0, 10).Select(i => $"p{i}").ToArray();
    private static readonly string[] Holders = [.. Platforms, "state-investor"];
    private GovernanceTestHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await GovernanceTestHost.StartAsync();
        foreach (var id in Platforms)
        {
            await _host.Organisations().RegisterOrganisationAsync(new RegisterOrganisationRequest
            {
                RequestId = id, OrganisationId = id, Kind = OrganisationKind.Platform, Name = id, Jurisdiction = "CN", Affiliations = { id == "p5" ? new[] { "p4" } : [] },
            });
        }

        await _host.Organisations().RegisterOrganisationAsync(new RegisterOrganisationRequest
        {
            RequestId = "si", OrganisationId = "state-investor", Kind = OrganisationKind.StateInvestor, Name = "State investor", Jurisdiction = "CN",
        });
        await _host.Shares().FoundVentureAsync(new FoundVentureRequest
        {
            RequestId = "found",
            ShareClasses =
            {
                new ShareClass { Id = "ordinary", Kind = ShareClassKind.Ordinary, VotesPerShare = 1, Authorised = Authorised, Transferable = true },
                new ShareClass { Id = "management", Kind = ShareClassKind.Management, VotesPerShare = 0, Authorised = 1 },
            },
            Allocations =
            {
                Allocate("state-investor", 3_000), Allocate("p0", 2_000), Allocate("p1", 1_500), Allocate("p2", 1_000),
                Allocate("p3", 200), Allocate("p4", 50), Allocate("p5", 80),
                new Allocation { HolderId = "state-investor", ClassId = "management", Quantity = 1 },
            },
        });
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private static Allocation Allocate(string holder, long quantity) => new() { HolderId = holder, ClassId = "ordinary", Quantity = quantity };

    private static string KindOf(string holder) => holder == "state-investor" ? "state_investor" : "platform";

    private ShareLedgerService.ShareLedgerServiceClient Regulator => _host.Shares("central-bank", "regulator");

    private async Task<Dictionary<string, long>> HoldingsAsync() =>
        (await _host.Shares().GetCapTableAsync(new GetCapTableRequest())).CapTable.Holdings.ToDictionary(h => h.HolderId, h => h.OrdinaryShares);

    private Task<RequestShareTransferResponse> RequestAsync(string seller, string buyer, long quantity) =>
        _host.Shares(seller, KindOf(seller)).RequestShareTransferAsync(new RequestShareTransferRequest
        {
            RequestId = Guid.NewGuid().ToString(), ClassId = "ordinary", BuyerId = buyer, Quantity = quantity,
        }).ResponseAsync;

    /// <summary>Runs a call whose refusal for these reasons is a legitimate outcome of a random step.</summary>
    private static async Task<bool> TryAsync(Func<Task> call, params StatusCode[] acceptable)
    {
        try
        {
            await call();
            return true;
        }
        catch (RpcException exception) when (acceptable.Contains(exception.StatusCode))
        {
            return false;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Random_ledger_histories_keep_every_invariant(int seed)
    {
        var random = new Random(seed);
        for (var step = 0; step < 60; step++)
        {
            _host.Time.Advance(TimeSpan.FromMinutes(1));
            var holdings = await HoldingsAsync();
            var roll = random.Next(100);
            if (roll < 40)
            {
                var seller = holdings.Keys.ElementAt(random.Next(holdings.Count));
                var buyer = Holders.Where(h => h != seller).ElementAt(random.Next(Holders.Length - 1));
                var quantity = 1 + random.NextInt64(Math.Max(1, holdings[seller] * 6 / 5));
                await TryAsync(() => RequestAsync(seller, buyer, quantity), StatusCode.FailedPrecondition);
            }
            else if (roll < 50)
            {
                // Several transfers from one seller at once: together they may ask for more than it holds.
                var seller = holdings.Keys.ElementAt(random.Next(holdings.Count));
                await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => TryAsync(
                    () => RequestAsync(seller, Holders.Where(h => h != seller).ElementAt(random.Next(Holders.Length - 1)), 1 + random.NextInt64(holdings[seller] / 2 + 1)),
                    StatusCode.FailedPrecondition, StatusCode.Aborted)));
            }
            else if (roll < 75)
            {
                var waiting = (await Regulator.ListShareTransfersAsync(new ListShareTransfersRequest { State = ShareTransferState.AwaitingRegulator, PageSize = 500 })).Transfers;
                if (waiting.Count > 0)
                {
                    var transfer = waiting[random.Next(waiting.Count)];
                    var choice = random.Next(10);
                    await (choice < 7
                        ? TryAsync(() => Regulator.ApproveShareTransferAsync(new ApproveShareTransferRequest { RequestId = Guid.NewGuid().ToString(), TransferId = transfer.Id }).ResponseAsync,
                            StatusCode.FailedPrecondition)
                        : choice < 9
                            ? TryAsync(() => Regulator.RejectShareTransferAsync(new RejectShareTransferRequest { RequestId = Guid.NewGuid().ToString(), TransferId = transfer.Id, Reason = "no" }).ResponseAsync)
                            : TryAsync(() => _host.Shares(transfer.SellerId, KindOf(transfer.SellerId)).CancelShareTransferAsync(
                                new CancelShareTransferRequest { RequestId = Guid.NewGuid().ToString(), TransferId = transfer.Id }).ResponseAsync));
                }
            }
            else
            {
                await ChangeCapitalAsync(random, holdings);
            }
        }

        await AssertInvariantsAsync();
    }

    /// <summary>A proposal to issue or cancel shares, random ballots (some changed, some recused), the tally, perhaps the regulator.</summary>
    private async Task ChangeCapitalAsync(Random random, Dictionary<string, long> holdings)
    {
        var holder = Holders[random.Next(Holders.Length)];
        var action = random.Next(2) == 1 && holdings.TryGetValue(holder, out var held)
            ? new ProposalAction { CancelShares = new CancelShares { Cancellations = { Allocate(holder, 1 + random.NextInt64(held)) } } }
            : new ProposalAction { IssueShares = new IssueShares { Allocations = { Allocate(holder, 1 + random.NextInt64(3_000)) } } };
        var now = _host.Time.GetUtcNow();
        var request = new CreateProposalRequest
        {
            RequestId = Guid.NewGuid().ToString(), Category = random.Next(2) == 0 ? V1.ProposalCategory.Special : V1.ProposalCategory.ReservedMatter,
            Title = "Change the share capital", Action = action,
            OpenTime = Timestamp.FromDateTimeOffset(now.AddDays(7)), CloseTime = Timestamp.FromDateTimeOffset(now.AddDays(8)),
            RelatedParties = { random.Next(4) == 0 ? new[] { holder } : [] },
        };
        CreateProposalResponse created;
        try
        {
            created = await _host.Proposals("state-investor", "state_investor").CreateProposalAsync(request);
        }
        catch (RpcException exception) when (exception.StatusCode is StatusCode.InvalidArgument or StatusCode.PermissionDenied)
        {
            return; // beyond the authorised shares or more than the holder holds, or the proposer sold every share: refused up front
        }

        _host.Time.Advance(TimeSpan.FromDays(7));
        foreach (var voter in (await HoldingsAsync()).Keys)
        {
            for (var ballot = random.Next(3); ballot > 0; ballot--)
            {
                var choice = (V1.VoteChoice)(random.Next(10) switch { < 7 => 1, < 9 => 2, _ => 3 });
                await TryAsync(() => _host.Proposals(voter, KindOf(voter)).CastBallotAsync(
                    new CastBallotRequest { RequestId = Guid.NewGuid().ToString(), ProposalId = created.Proposal.Id, Choice = choice }).ResponseAsync,
                    StatusCode.FailedPrecondition, StatusCode.PermissionDenied);
            }
        }

        _host.Time.Advance(TimeSpan.FromDays(1));
        await _host.Services.GetRequiredService<Application.ProposalTallier>().TallyDueAsync(CancellationToken.None);
        var closed = (await _host.Proposals("operator", "operator").GetProposalAsync(new GetProposalRequest { ProposalId = created.Proposal.Id })).Proposal;
        if (closed.CapitalChangeId != "" && random.Next(10) < 7)
        {
            await TryAsync(() => Regulator.ApproveCapitalChangeAsync(
                new ApproveCapitalChangeRequest { RequestId = Guid.NewGuid().ToString(), CapitalChangeId = closed.CapitalChangeId }).ResponseAsync,
                StatusCode.FailedPrecondition);
        }
    }

    private async Task AssertInvariantsAsync()
    {
        var entries = new List<LedgerEntry>();
        var page = "";
        do
        {
            var response = await Regulator.ListLedgerEntriesAsync(new ListLedgerEntriesRequest { PageSize = 100, PageToken = page });
            entries.AddRange(response.Entries);
            page = response.NextPageToken;
        }
        while (page != "");

        var transfers = (await Regulator.ListShareTransfersAsync(new ListShareTransfersRequest { PageSize = 500 })).Transfers.ToDictionary(t => t.Id);
        var changes = (await Regulator.ListCapitalChangesAsync(new ListCapitalChangesRequest { PageSize = 500 })).CapitalChanges.ToDictionary(c => c.Id);
        var approvals = await RegulatorApprovalsAsync();
        Assert.Contains(transfers.Values, t => t.State == ShareTransferState.Settled);
        Assert.NotEmpty(approvals);

        // Replay entry by entry, one operation (all entries with one reason) at a time.
        var held = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var operation in entries.Where(e => e.ClassId == "ordinary").GroupBy(e => e.Reason).OrderBy(g => g.First().Sequence))
        {
            var before = new Dictionary<string, long>(held, StringComparer.Ordinal);
            foreach (var entry in operation)
            {
                held[entry.FromHolderId] = held.GetValueOrDefault(entry.FromHolderId) - (entry.FromHolderId == "" ? 0 : entry.Quantity);
                held[entry.ToHolderId] = held.GetValueOrDefault(entry.ToHolderId) + (entry.ToHolderId == "" ? 0 : entry.Quantity);
            }

            held.Remove("");
            Assert.All(held, h => Assert.True(h.Value >= 0, $"{h.Key} holds {h.Value} after '{operation.Key}'"));
            var outstanding = held.Values.Sum();
            Assert.True(outstanding <= Authorised, $"{outstanding} outstanding after '{operation.Key}'");
            if (operation.Key == "founding")
            {
                continue;
            }

            // Nobody becomes a holder, and no group reaches the threshold from below, without the regulator.
            var (kind, id) = (operation.Key.Split(' ')[0], operation.Key.Split(' ')[1]);
            var crossing = held.Where(h => h.Value > 0).Select(h => h.Key).Where(h =>
                !before.ContainsKey(h) || before[h] == 0
                || (AtThreshold(GroupShares(held, h), outstanding) && !AtThreshold(GroupShares(before, h), before.Values.Sum()))).ToList();
            if (crossing.Count > 0)
            {
                var target = kind == "transfer" ? $"transfer/{id}" : $"capital-change/{id}";
                Assert.True(approvals.Contains(target), $"'{operation.Key}' brought {string.Join(", ", crossing)} over the line without the regulator's approval");
            }

            // Each operation is exactly what its record says.
            if (kind == "transfer")
            {
                var transfer = transfers[id];
                var entry = Assert.Single(operation);
                Assert.Equal((ShareTransferState.Settled, transfer.SellerId, transfer.BuyerId, transfer.Quantity, transfer.LedgerSequence),
                    (transfer.State, entry.FromHolderId, entry.ToHolderId, entry.Quantity, entry.Sequence));
            }
            else
            {
                var change = changes[id];
                Assert.Equal(CapitalChangeState.Settled, change.State);
                Assert.Equal(change.Allocations.Select(a => (a.HolderId, a.Quantity)).Order(),
                    operation.Select(e => (kind == "issuance" ? e.ToHolderId : e.FromHolderId, e.Quantity)).Order());
            }

            // The cap table at this ledger point is the replay's, to the share and the basis point.
            var table = (await _host.Shares().GetCapTableAsync(new GetCapTableRequest { AsOfSequence = operation.Last().Sequence })).CapTable;
            Assert.Equal(outstanding, table.OrdinaryOutstanding);
            Assert.Equal(held.Where(h => h.Value > 0).OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => (h.Key, h.Value)),
                table.Holdings.Where(h => h.OrdinaryShares > 0).OrderBy(h => h.HolderId, StringComparer.Ordinal).Select(h => (h.HolderId, h.OrdinaryShares)));
            Assert.Equal(10_000, table.Holdings.Sum(h => h.OrdinaryBasisPoints));
            Assert.All(table.Holdings, h => Assert.True(Math.Abs(h.OrdinaryBasisPoints - h.OrdinaryShares * 10_000.0 / outstanding) < 1));
        }

        // Every settled transfer and change is in the ledger; nothing waiting or refused is.
        Assert.All(transfers.Values, t => Assert.Equal(t.State == ShareTransferState.Settled, entries.Any(e => e.Reason == $"transfer {t.Id}")));
        Assert.All(changes.Values, c => Assert.Equal(c.State == CapitalChangeState.Settled, entries.Any(e => e.Reason.EndsWith(c.Id, StringComparison.Ordinal))));
        await AssertTalliesReplayAsync(entries);
    }

    /// <summary>Each tallied proposal's numbers, recounted from the ballots table and the ledger at its record date.</summary>
    private async Task AssertTalliesReplayAsync(IReadOnlyList<LedgerEntry> entries)
    {
        var proposals = (await _host.Proposals("operator", "operator").ListProposalsAsync(new ListProposalsRequest { PageSize = 500 })).Proposals
            .Where(p => p.Tally is not null).ToList();
        Assert.NotEmpty(proposals);
        await using var connection = await _host.Database.OpenAsync(CancellationToken.None);
        foreach (var proposal in proposals)
        {
            var recordDate = proposal.OpenTime.ToDateTimeOffset();
            var weights = entries.Where(e => e.ClassId == "ordinary" && e.RecordTime.ToDateTimeOffset() <= recordDate)
                .SelectMany(e => new[] { (Holder: e.ToHolderId, Delta: e.Quantity), (Holder: e.FromHolderId, Delta: -e.Quantity) })
                .Where(d => d.Holder != "").GroupBy(d => d.Holder).ToDictionary(g => g.Key, g => g.Sum(d => d.Delta));
            var ballots = (await connection.QueryAsync<(string Holder, long Choice, long Weight)>(
                "SELECT holder_id, choice, weight FROM ballot WHERE proposal_id = @Id ORDER BY sequence", new { proposal.Id })).ToList();
            Assert.All(ballots, b => Assert.Equal(weights[b.Holder], b.Weight));

            var counted = ballots.GroupBy(b => b.Holder).Select(g => g.Last()).Where(b => !proposal.RelatedParties.Contains(b.Holder)).ToList();
            long Sum(long choice) => counted.Where(b => b.Choice == choice).Sum(b => b.Weight);
            var entitled = weights.Where(w => !proposal.RelatedParties.Contains(w.Key)).Sum(w => w.Value);
            Assert.Equal((entitled, Sum(1), Sum(2), Sum(3)),
                (proposal.Tally.EntitledWeight, proposal.Tally.ForWeight, proposal.Tally.AgainstWeight, proposal.Tally.AbstainWeight));
            Assert.True(Sum(1) + Sum(2) + Sum(3) <= entitled);

            var cast = Sum(1) + Sum(2) + Sum(3);
            var expected = (Int128)cast * proposal.Quorum.Denominator < (Int128)entitled * proposal.Quorum.Numerator ? V1.ProposalState.QuorumFailed
                : Sum(1) + Sum(2) == 0 || (Int128)Sum(1) * proposal.Majority.Denominator < (Int128)(Sum(1) + Sum(2)) * proposal.Majority.Numerator ? V1.ProposalState.Failed
                : proposal.Category == V1.ProposalCategory.ReservedMatter && ballots.Where(b => b.Holder == "state-investor").Select(b => b.Choice).LastOrDefault() == 2
                    ? V1.ProposalState.Vetoed
                    : V1.ProposalState.Passed;
            Assert.Equal(expected, proposal.State);
        }
    }

    /// <summary>The targets the regulator approved, from the audit.</summary>
    private async Task<HashSet<string>> RegulatorApprovalsAsync()
    {
        var approved = new HashSet<string>(StringComparer.Ordinal);
        var page = "";
        do
        {
            var response = await _host.Audit().ListEntriesAsync(new Oversight.Audit.V1.ListEntriesRequest { PageSize = 500, PageToken = page });
            approved.UnionWith(response.Entries.Where(e => e.ActorKind == "regulator" && e.Action is "transfer.approved" or "capital_change.approved").Select(e => e.Resource));
            page = response.NextPageToken;
        }
        while (page != "");

        return approved;
    }

    /// <summary>A holder's ordinary shares with its affiliates': p4 and p5 are one group.</summary>
    private static long GroupShares(Dictionary<string, long> held, string holder) =>
        holder is "p4" or "p5" ? held.GetValueOrDefault("p4") + held.GetValueOrDefault("p5") : held.GetValueOrDefault(holder);

    private static bool AtThreshold(long shares, long outstanding) => shares * 100 >= outstanding * 5;

    [Fact]
    public async Task Racing_transfers_from_one_seller_never_sell_more_than_it_holds()
    {
        // p3 holds 200; each transfer alone would settle at once (p4 and p5 stay below the threshold together).
        // Each racer retries what the service asks it to retry, as a client would, until a final answer.
        async Task<bool> RaceAsync(string buyer)
        {
            while (true)
            {
                try
                {
                    return (await RequestAsync("p3", buyer, 60)).Transfer.State == ShareTransferState.Settled;
                }
                catch (RpcException exception) when (exception.StatusCode is StatusCode.Aborted or StatusCode.Unavailable)
                {
                }
                catch (RpcException exception) when (exception.StatusCode == StatusCode.FailedPrecondition)
                {
                    Assert.Contains("fewer than the 60 to transfer", exception.Status.Detail, StringComparison.Ordinal);
                    return false;
                }
            }
        }

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => RaceAsync(i % 2 == 0 ? "p4" : "p5")));
        var holdings = await HoldingsAsync();
        Assert.Equal(3, outcomes.Count(settled => settled));
        Assert.Equal((20L, 7_830L), (holdings["p3"], holdings.Values.Sum()));
        Assert.Equal(50 + 80 + 180, holdings["p4"] + holdings["p5"]);
    }
}
