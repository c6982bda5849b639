using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Security;
using Oversight.Consent.V1;
using Oversight.Contracts.Governance;
using Oversight.Exchange.Infrastructure;
using Oversight.Exchange.V1;
using Oversight.Governance;
using Oversight.Governance.V1;
using AllianceStanding = Oversight.Exchange.Model.AllianceStanding;

namespace Oversight.Host;

/// <summary>
/// The demo's Exchange story, seeded after the founding through the services' own RPCs: an ACTIVE
/// alliance between the venture and the State Credit Reference Bureau, formed the real way (a special
/// form_alliance proposal, every shareholder's vote, the tally, the regulator's approval); ShopWave's
/// transactions dataset with 300 records of 100 customers; and the consents of 90 of them to the bureau
/// for credit assessment, so a fetch shows records withheld. Fixed ids and a look before each step
/// make it safe to run again on the same data: nothing is made twice, and a consent revoked or a
/// subject erased since stays so.
/// </summary>
internal static class DemoExchange
{
    public const string Institution = "state-credit-bureau";
    public const string Platform = "shopwave";
    public const string Purpose = "credit_assessment";
    public const string AllianceCategory = "user.financial";
    public const string DatasetCategory = "user.financial.transactions";
    public const string DatasetRequestId = "demo-dataset-shopwave-transactions";
    public const string UploadId = "demo-upload-shopwave-transactions";
    public const int Subjects = 100;
    public const int RecordsPerSubject = 3;

    /// <summary>The notice period and tally interval the demo runs Governance with, unless the user set them.</summary>
    public static readonly IReadOnlyDictionary<string, string> QuickVoting = new Dictionary<string, string>
    {
        ["Oversight:Governance:Rulebook:NoticePeriod"] = "00:00:01",
        ["Oversight:Governance:TallyInterval"] = "00:00:01",
    };

    private const string ProposalTitle = "Form an alliance with the State Credit Reference Bureau for credit assessment (demo)";
    private static readonly TimeSpan VotingWindow = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan LongestNoticeWaitedFor = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly Exchange.V1.DatasetField[] Fields =
    [
        new() { Name = "amount", Type = FieldType.Decimal, Sensitivity = FieldSensitivity.Sensitive, Required = true, Description = "What was paid." },
        new() { Name = "currency", Type = FieldType.String, Sensitivity = FieldSensitivity.Ordinary, Required = true, Description = "ISO 4217 code." },
        new() { Name = "merchant_category", Type = FieldType.String, Sensitivity = FieldSensitivity.Ordinary, Required = true, Description = "What kind of shop was paid." },
        new() { Name = "channel", Type = FieldType.String, Sensitivity = FieldSensitivity.Ordinary, Description = "app or web." },
    ];

    private static readonly string[] MerchantCategories = ["groceries", "electronics", "travel", "restaurants", "fashion"];

    /// <summary>The demo's customers: customer-001 … customer-100.</summary>
    public static string Subject(int number) => $"customer-{number:000}";

    /// <summary>Nine customers in ten consent; customer-010, -020, … -100 never did.</summary>
    public static bool Consents(int number) => number % 10 != 0;

    /// <summary>Seeds the story and says in a phrase what it made.</summary>
    public static async Task<string> SeedAsync(
        string consentAddress, string governanceAddress, string exchangeAddress, TokenIssuer tokens, IServiceProvider services, CancellationToken cancellationToken)
    {
        using var governance = GrpcChannel.ForAddress(governanceAddress);
        using var exchange = GrpcChannel.ForAddress(exchangeAddress);
        using var consent = GrpcChannel.ForAddress(consentAddress);
        Metadata As(string organisationId, string kind) => new() { { "Authorization", $"Bearer {tokens.Mint(organisationId, kind, lifetime: TimeSpan.FromMinutes(10))}" } };

        var (alliance, why) = await AllianceAsync(governance, As, services.GetRequiredService<IOptions<GovernanceOptions>>().Value, cancellationToken);
        if (alliance is { State: AllianceState.Active })
        {
            await ExchangeKnowsAsync(services, alliance, cancellationToken);
        }

        var shopwave = As(Platform, OrganisationKinds.Platform);
        var catalog = new CatalogService.CatalogServiceClient(exchange);
        var dataset = (await catalog.PublishDatasetAsync(new PublishDatasetRequest
        {
            RequestId = DatasetRequestId,
            Name = "ShopWave card payments",
            DataCategory = DatasetCategory,
            Fields = { Fields },
            Description = "Card payments at ShopWave checkouts: amount, currency, merchant category and channel (demo data).",
        }, shopwave, cancellationToken: cancellationToken)).Dataset;
        // The replay of a publish answers as the first time: the record count is read afresh.
        async Task<long> RecordCount() =>
            (await catalog.GetDatasetAsync(new GetDatasetRequest { DatasetId = dataset.Id }, shopwave, cancellationToken: cancellationToken)).Dataset.RecordCount;
        await UploadAsync(new VaultService.VaultServiceClient(exchange), dataset.Id, await RecordCount(), shopwave, cancellationToken);
        var consenting = await GrantConsentsAsync(new ConsentService.ConsentServiceClient(consent), shopwave, cancellationToken);
        var records = await RecordCount();

        var allianceText = alliance is null
            ? $"no alliance ({why})"
            : $"alliance {alliance.Id} with {Institution} {Label(alliance.State)} ({string.Join(",", alliance.Scope.Purposes)} on {string.Join(",", alliance.Scope.DataCategories)}, "
                + $"{(alliance.Scope.IdentifiedData ? "identified" : "pseudonymised")}, kept {alliance.Scope.MaxRetention.ToTimeSpan().TotalDays:0.##} days at most)";
        return $"{allianceText}; {Platform}'s dataset {dataset.Id} with {records.ToString("N0", CultureInfo.InvariantCulture)} records of {Subjects} customers"
            + $" ({DatasetCategory}), {consenting} of them with an active consent to {Institution} for {Purpose}";
    }

    /// <summary>
    /// The bureau's alliance for credit assessment: the one there is (approved now if it awaits the
    /// regulator), or one formed by a special proposal the shareholders vote in. Null, with why, when
    /// the notice period is too long to wait for.
    /// </summary>
    private static async Task<(Alliance? Alliance, string Why)> AllianceAsync(
        GrpcChannel governance, Func<string, string, Metadata> As, GovernanceOptions options, CancellationToken cancellationToken)
    {
        var regulator = As("central-bank", OrganisationKinds.Regulator);
        var alliances = new AllianceService.AllianceServiceClient(governance);
        var known = new List<Alliance>();
        var page = "";
        do
        {
            var response = await alliances.ListAlliancesAsync(new ListAlliancesRequest { PageToken = page, PageSize = 500 }, regulator, cancellationToken: cancellationToken);
            known.AddRange(response.Alliances);
            page = response.NextPageToken;
        }
        while (page.Length > 0);

        var existing = known.FirstOrDefault(a => a.InstitutionId == Institution && a.Scope?.Purposes.Contains(Purpose) == true
            && a.State is AllianceState.Active or AllianceState.Suspended or AllianceState.AwaitingRegulator);
        if (existing is { State: AllianceState.AwaitingRegulator })
        {
            return (await ApproveAsync(alliances, existing.Id, regulator, cancellationToken), "");
        }

        if (existing is not null)
        {
            return (existing, "");
        }

        var notice = options.Rulebook.NoticePeriod;
        if (notice > LongestNoticeWaitedFor)
        {
            return (null, $"Oversight:Governance:Rulebook:NoticePeriod is {notice}; propose it yourself with proposal create --form-alliance {Institution}");
        }

        var proposals = new ProposalService.ProposalServiceClient(governance);
        var investor = As("state-investor", OrganisationKinds.StateInvestor);
        var listed = await proposals.ListProposalsAsync(new ListProposalsRequest { PageSize = 500 }, regulator, cancellationToken: cancellationToken);
        var proposal = listed.Proposals.FirstOrDefault(p => p.Title == ProposalTitle && p.State is ProposalState.Scheduled or ProposalState.Open or ProposalState.AwaitingTally);
        if (proposal is null)
        {
            // Its times depend on now, so a retry could not repeat the body: a run finds its proposal by title instead.
            var now = DateTimeOffset.UtcNow;
            var opens = now + notice + TimeSpan.FromSeconds(1);
            proposal = (await proposals.CreateProposalAsync(new CreateProposalRequest
            {
                RequestId = Guid.NewGuid().ToString(),
                Category = ProposalCategory.Special,
                Title = ProposalTitle,
                Action = new ProposalAction
                {
                    FormAlliance = new FormAlliance
                    {
                        InstitutionId = Institution,
                        Scope = new AllianceScope
                        {
                            Purposes = { Purpose },
                            DataCategories = { AllianceCategory },
                            Fields = { Fields.Select(f => f.Name) },
                            IdentifiedData = false,
                            MaxRetention = Duration.FromTimeSpan(TimeSpan.FromDays(30)),
                            ValidFrom = Timestamp.FromDateTimeOffset(now),
                            ValidUntil = Timestamp.FromDateTimeOffset(now.AddDays(365)),
                        },
                    },
                },
                OpenTime = Timestamp.FromDateTimeOffset(opens),
                CloseTime = Timestamp.FromDateTimeOffset(opens + VotingWindow),
            }, investor, cancellationToken: cancellationToken)).Proposal;
        }

        async Task<Proposal> Read() => (await proposals.GetProposalAsync(new GetProposalRequest { ProposalId = proposal.Id }, regulator, cancellationToken: cancellationToken)).Proposal;
        proposal = await UntilAsync(Read, p => p.State != ProposalState.Scheduled, "the demo proposal to open", cancellationToken);
        if (proposal.State == ProposalState.Open)
        {
            // Every shareholder with votes votes for it, with its own token; the ledger at the opening weighs each.
            var table = (await new ShareLedgerService.ShareLedgerServiceClient(governance).GetCapTableAsync(new GetCapTableRequest(), regulator, cancellationToken: cancellationToken)).CapTable;
            var kinds = (await new OrganisationService.OrganisationServiceClient(governance).ListOrganisationsAsync(
                new ListOrganisationsRequest { PageSize = 500 }, regulator, cancellationToken: cancellationToken)).Organisations.ToDictionary(o => o.Id, o => o.Kind);
            foreach (var holder in table.Holdings.Where(h => h.VotingPower > 0 && kinds.ContainsKey(h.HolderId)))
            {
                await proposals.CastBallotAsync(
                    new CastBallotRequest { RequestId = $"demo-ballot-{proposal.Id}-{holder.HolderId}", ProposalId = proposal.Id, Choice = VoteChoice.For },
                    As(holder.HolderId, TokenKind(kinds[holder.HolderId])), cancellationToken: cancellationToken);
            }
        }

        proposal = await UntilAsync(Read, p => p.State is not (ProposalState.Open or ProposalState.AwaitingTally), "the demo proposal's tally", cancellationToken);
        if (proposal.State != ProposalState.Passed)
        {
            throw new InvalidOperationException($"The demo's alliance proposal {proposal.Id} ended {Label(proposal.State)}: {proposal.Tally?.Explanation ?? proposal.EndReason}");
        }

        return (await ApproveAsync(alliances, proposal.AllianceId, regulator, cancellationToken), "");
    }

    private static async Task<Alliance> ApproveAsync(AllianceService.AllianceServiceClient alliances, string id, Metadata regulator, CancellationToken cancellationToken) =>
        (await alliances.ApproveAllianceAsync(new ApproveAllianceRequest { RequestId = $"demo-approve-{id}", AllianceId = id }, regulator, cancellationToken: cancellationToken)).Alliance;

    /// <summary>Waits until Exchange's read model holds the alliance as ACTIVE: Governance's event crosses the bus after the approval returns.</summary>
    private static async Task ExchangeKnowsAsync(IServiceProvider services, Alliance alliance, CancellationToken cancellationToken)
    {
        var database = services.GetRequiredService<ExchangeDatabase>();
        var readModels = services.GetRequiredService<GovernanceReadModels>();
        await UntilAsync(async () =>
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            return await readModels.AllianceAsync(connection, alliance.Id, null, cancellationToken);
        }, terms => terms is { Standing: AllianceStanding.Active } && terms.Version >= alliance.Version, "Exchange to learn of the alliance", cancellationToken);
    }

    /// <summary>
    /// Uploads the records unless the demo's upload completed before (one cut off is continued under its
    /// id). A dataset with records is asked about its upload; an empty one is simply sent it, so a
    /// first run asks for nothing that is not there (the service would log the NOT_FOUND).
    /// </summary>
    private static async Task UploadAsync(VaultService.VaultServiceClient vault, string datasetId, long stored, Metadata shopwave, CancellationToken cancellationToken)
    {
        if (stored > 0 && (await vault.GetUploadAsync(new GetUploadRequest { UploadId = UploadId }, shopwave, cancellationToken: cancellationToken)).Upload.State == UploadState.Completed)
        {
            return;
        }

        using var call = vault.UploadRecords(shopwave, cancellationToken: cancellationToken);
        try
        {
            foreach (var batch in Records().Chunk(100))
            {
                await call.RequestStream.WriteAsync(new UploadRecordsRequest { UploadId = UploadId, DatasetId = datasetId, Records = { batch } }, cancellationToken);
            }

            await call.RequestStream.CompleteAsync();
            await call.ResponseAsync;
        }
        catch (Exception exception) when (exception is RpcException or InvalidOperationException)
        {
            try
            {
                await call.ResponseAsync;
            }
            catch (RpcException refused) when (refused.StatusCode == StatusCode.AlreadyExists)
            {
                // Completed by an earlier run, and every record erased since: nothing to send again.
                return;
            }

            throw;
        }
    }

    /// <summary>Three card payments per customer, the same on every run.</summary>
    private static IEnumerable<VaultRecord> Records()
    {
        var start = new DateTimeOffset(2026, 10, 1, 8, 0, 0, TimeSpan.Zero);
        for (var customer = 1; customer <= Subjects; customer++)
        {
            for (var n = 1; n <= RecordsPerSubject; n++)
            {
                var seed = (customer * 7919) + (n * 104729);
                yield return new VaultRecord
                {
                    SubjectId = Subject(customer),
                    RecordKey = $"txn-{customer:000}-{n}",
                    OccurTime = Timestamp.FromDateTimeOffset(start.AddHours((customer * 5) + (n * 97)).AddMinutes(seed % 60)),
                    Fields =
                    {
                        ["amount"] = $"{(seed % 1500) + 5}.{seed % 100:00}",
                        ["currency"] = "CNY",
                        ["merchant_category"] = MerchantCategories[seed % MerchantCategories.Length],
                        ["channel"] = seed % 3 == 0 ? "web" : "app",
                    },
                };
            }
        }
    }

    /// <summary>
    /// Grants the consents of the consenting customers who have none with the bureau yet; one
    /// revoked (or revoked by an erasure) since an earlier run is left as it is. Returns how many
    /// customers have an active consent to the bureau now.
    /// </summary>
    private static async Task<int> GrantConsentsAsync(ConsentService.ConsentServiceClient consents, Metadata shopwave, CancellationToken cancellationToken)
    {
        var asked = new HashSet<string>(StringComparer.Ordinal);
        var active = new HashSet<string>(StringComparer.Ordinal);
        var page = "";
        do
        {
            var response = await consents.ListConsentsAsync(
                new ListConsentsRequest { ControllerId = Platform, PageSize = 500, PageToken = page }, shopwave, cancellationToken: cancellationToken);
            var toBureau = response.Consents.Where(c => c.Terms.RecipientId == Institution && c.Terms.Purpose == Purpose).ToList();
            asked.UnionWith(toBureau.Select(c => c.SubjectId));
            active.UnionWith(toBureau.Where(c => c.State == ConsentState.Active).Select(c => c.SubjectId));
            page = response.NextPageToken;
        }
        while (page.Length > 0);

        var consenting = Enumerable.Range(1, Subjects).Where(Consents).Select(Subject).ToList();
        var now = DateTimeOffset.UtcNow;
        foreach (var subject in consenting.Where(s => !asked.Contains(s)))
        {
            await consents.GrantConsentAsync(new GrantConsentRequest { RequestId = $"demo-consent-{subject}", SubjectId = subject, Terms = Terms(now) }, shopwave,
                cancellationToken: cancellationToken);
            active.Add(subject);
        }

        return active.Count;
    }

    /// <summary>
    /// Transactions to the bureau for credit assessment, for a year, STORE for 14 days; collected in
    /// the app with the separate consent sensitive data needs (PIPL Art. 29).
    /// </summary>
    private static ConsentTerms Terms(DateTimeOffset now) => new()
    {
        RecipientId = Institution,
        Purpose = Purpose,
        DataCategories = { DatasetCategory },
        ValidUntil = Timestamp.FromDateTimeOffset(now.AddDays(365)),
        Mode = ConsentMode.Store,
        DataLife = Duration.FromTimeSpan(TimeSpan.FromDays(14)),
        Evidence = new ConsentEvidence
        {
            CollectionMethod = CollectionMethod.App,
            NoticeId = "shopwave-credit-sharing",
            NoticeVersion = "1",
            NoticeContentSha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("shopwave-credit-sharing 1"))),
            CollectTime = Timestamp.FromDateTimeOffset(now),
            Language = "zh-CN",
            Jurisdiction = "CN",
            SeparateConsent = true,
        },
    };

    /// <summary>Reads until a condition holds, a tenth of a second apart, for at most a minute.</summary>
    private static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed > Patience)
            {
                throw new TimeoutException($"The demo waited {Patience.TotalSeconds:0} s for {what}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    private static string TokenKind(OrganisationKind kind) => kind switch
    {
        OrganisationKind.Platform => OrganisationKinds.Platform,
        OrganisationKind.Institution => OrganisationKinds.Institution,
        OrganisationKind.Regulator => OrganisationKinds.Regulator,
        OrganisationKind.StateInvestor => OrganisationKinds.StateInvestor,
        _ => OrganisationKinds.Operator,
    };

    /// <summary>A state as the CLI prints it: AwaitingRegulator is AWAITING_REGULATOR.</summary>
    private static string Label<T>(T value)
        where T : struct, System.Enum =>
        string.Concat(value.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? $"_{c}" : $"{c}")).ToUpperInvariant();
}
