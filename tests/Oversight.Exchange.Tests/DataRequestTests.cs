using Google.Protobuf;
using Grpc.Core;
using Oversight.Exchange.V1;
using Oversight.Testing;
using static Oversight.Exchange.Tests.ExchangeTestHost;

namespace Oversight.Exchange.Tests;

public sealed class DataRequestTests : IAsyncLifetime
{
    private ExchangeTestHost _host = null!;
    private string _datasetId = "";

    public async ValueTask InitializeAsync()
    {
        _host = await StartAsync();
        _datasetId = await VaultUploadTests.PublishAsync(_host);
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private CreateDataRequestRequest Ask(string purpose = "credit_assessment", params string[] fields) => new()
    {
        RequestId = Guid.NewGuid().ToString("N"),
        DatasetIds = { _datasetId },
        Purpose = purpose,
        Fields = { fields.Length == 0 ? ["amount", "merchant"] : fields },
    };

    private async Task<DataRequest> CreateAsync(CreateDataRequestRequest request, string institution = CreditBureau) =>
        (await _host.Requests(institution).CreateDataRequestAsync(request)).DataRequest;

    [Fact]
    public async Task A_request_an_active_alliance_covers_is_approved_under_it_and_audited()
    {
        var alliance = await _host.ActivateAllianceAsync();

        var request = await CreateAsync(Ask());

        Assert.Equal(DataRequestState.Approved, request.State);
        Assert.Empty(request.Rejections);
        Assert.Equal(alliance, request.AllianceId);
        Assert.True(request.AllianceVersion > 0);
        Assert.Equal(1, request.RulesVersion);
        Assert.False(request.Identified);
        var entry = (await _host.Audit().GetEntryAsync(new Audit.V1.GetEntryRequest { Sequence = request.AuditSequence })).Entry;
        Assert.Equal(("request.approved", $"request/{request.Id}", CreditBureau), (entry.Action, entry.Resource, entry.ActorId));
        Assert.Equal(alliance, entry.Detail["alliance_id"]);
    }

    [Fact]
    public async Task Without_an_active_alliance_a_request_is_rejected_and_the_rejection_recorded()
    {
        var request = await CreateAsync(Ask());

        Assert.Equal(DataRequestState.Rejected, request.State);
        Assert.Equal([RejectionCode.NoActiveAlliance], request.Rejections.Select(r => r.Code));
        Assert.Equal("", request.AllianceId);
        var entry = (await _host.Audit().GetEntryAsync(new Audit.V1.GetEntryRequest { Sequence = request.AuditSequence })).Entry;
        Assert.Equal("request.rejected", entry.Action);
        Assert.Equal("NO_ACTIVE_ALLIANCE", entry.Detail["rejections"]);
    }

    [Fact]
    public async Task A_request_outside_the_scope_is_rejected_with_each_reason()
    {
        await _host.ActivateAllianceAsync(categories: ["user.behavior"], fields: ["merchant"]);

        var wrongPurpose = await CreateAsync(Ask("anti_fraud"));
        var outside = await CreateAsync(Ask(fields: ["amount", "merchant", "paid_on"]));

        Assert.Equal([RejectionCode.PurposeNotCovered], wrongPurpose.Rejections.Select(r => r.Code));
        Assert.Equal(
            [(RejectionCode.CategoryNotCovered, _datasetId), (RejectionCode.FieldNotCovered, "amount"), (RejectionCode.FieldNotCovered, "paid_on")],
            outside.Rejections.Select(r => (r.Code, r.Subject)));
        Assert.All(outside.Rejections, r => Assert.False(string.IsNullOrWhiteSpace(r.Message)));
    }

    [Fact]
    public async Task A_suspended_alliance_approves_nothing_and_a_freeze_rejects_every_request()
    {
        var alliance = await _host.ActivateAllianceAsync();
        await _host.SuspendAllianceAsync(alliance);
        Assert.Equal([RejectionCode.NoActiveAlliance], (await CreateAsync(Ask())).Rejections.Select(r => r.Code));

        await _host.ActivateAllianceAsync(allianceId: Guid.NewGuid().ToString("D"));
        await _host.SetFrozenAsync(true);
        Assert.Equal([RejectionCode.ExchangeFrozen], (await CreateAsync(Ask())).Rejections.Select(r => r.Code));

        await _host.SetFrozenAsync(false);
        Assert.Equal(DataRequestState.Approved, (await CreateAsync(Ask())).State);
    }

    [Fact]
    public async Task A_retired_dataset_and_a_field_no_dataset_has_are_reasons()
    {
        await _host.ActivateAllianceAsync(fields: ["amount", "merchant", "shoe_size"]);
        await _host.Catalog().RetireDatasetAsync(new RetireDatasetRequest { RequestId = "retire", DatasetId = _datasetId });

        var request = await CreateAsync(Ask(fields: ["amount", "shoe_size"]));

        Assert.Equal([RejectionCode.DatasetRetired, RejectionCode.UnknownField], request.Rejections.Select(r => r.Code));
    }

    [Fact]
    public async Task A_repeated_request_answers_as_the_first()
    {
        await _host.ActivateAllianceAsync();
        var ask = Ask();

        var first = await CreateAsync(ask);
        var again = await CreateAsync(ask);

        Assert.Equal(first, again);
        Assert.Single((await _host.Requests().ListDataRequestsAsync(new ListDataRequestsRequest())).DataRequests);
    }

    /// <summary>
    /// The digest a retry is compared with is stored: of a request naming one subject, a plain hash
    /// would confirm a guessed subject id to anyone who reads the table. It is keyed, and still tells
    /// a retry from another body.
    /// </summary>
    [Fact]
    public async Task The_stored_fingerprint_of_a_request_does_not_confirm_a_guessed_subject()
    {
        await _host.ActivateAllianceAsync();
        var ask = Ask();
        ask.SubjectIds.Add("alice");
        var first = await CreateAsync(ask);
        Assert.Equal(first, await CreateAsync(ask));

        await using var connection = await _host.Database.OpenAsync(CancellationToken.None);
        var stored = await Dapper.SqlMapper.QuerySingleAsync<byte[]>(connection, "SELECT request_hash FROM idempotent_request WHERE request_id = @Id", new { Id = ask.RequestId });
        var guess = ask.Clone();
        guess.RequestId = "";
        Assert.NotEqual(System.Security.Cryptography.SHA256.HashData(guess.ToByteArray()), stored);

        var other = ask.Clone();
        other.SubjectIds[0] = "bob";
        var refused = await Assert.ThrowsAsync<RpcException>(() => CreateAsync(other));
        Assert.Equal(StatusCode.AlreadyExists, refused.StatusCode);
    }

    [Fact]
    public async Task Only_institutions_ask_and_they_read_only_their_own()
    {
        await _host.ActivateAllianceAsync();
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => _host.Requests(Shopwave, "platform").CreateDataRequestAsync(Ask()).ResponseAsync);
        var request = await CreateAsync(Ask());

        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => _host.Requests(HealthAgency).GetDataRequestAsync(
            new GetDataRequestRequest { DataRequestId = request.Id }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => _host.Requests(HealthAgency).ListDataRequestsAsync(
            new ListDataRequestsRequest { InstitutionId = CreditBureau }).ResponseAsync);
        Assert.Empty((await _host.Requests(HealthAgency).ListDataRequestsAsync(new ListDataRequestsRequest())).DataRequests);
        // The dataset's owner and the regulator read it.
        Assert.Equal(request.Id, (await _host.Requests(Shopwave, "platform").GetDataRequestAsync(new GetDataRequestRequest { DataRequestId = request.Id })).DataRequest.Id);
        Assert.Single((await _host.Requests(Regulator, "regulator").ListDataRequestsAsync(new ListDataRequestsRequest { InstitutionId = CreditBureau })).DataRequests);
        Assert.Equal(3, (await _host.DenialsAsync()).Count);
    }

    [Fact]
    public async Task The_listing_pages_newest_first_and_filters_by_state()
    {
        await _host.ActivateAllianceAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            _host.Time.Advance(TimeSpan.FromSeconds(1));
            ids.Add((await CreateAsync(i % 2 == 0 ? Ask() : Ask("anti_fraud"))).Id);
        }

        var listed = new List<string>();
        var token = "";
        do
        {
            var page = await _host.Requests().ListDataRequestsAsync(new ListDataRequestsRequest { PageSize = 2, PageToken = token });
            listed.AddRange(page.DataRequests.Select(r => r.Id));
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Equal(Enumerable.Reverse(ids), listed);
        Assert.Equal(2, (await _host.Requests().ListDataRequestsAsync(new ListDataRequestsRequest { State = DataRequestState.Rejected })).DataRequests.Count);
    }

    [Fact]
    public async Task Bad_requests_name_every_field()
    {
        var request = new CreateDataRequestRequest
        {
            DatasetIds = { "not-a-uuid", _datasetId, _datasetId },
            Purpose = "Credit Assessment",
            Fields = { "Amount", "merchant", "merchant" },
            SubjectIds = { "", "s1" },
            OccurAfter = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = 2_000_000 },
            OccurBefore = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = 1_000_000 },
        };

        Assert.Equal(
            ["request_id", "dataset_ids[0]", "dataset_ids[2]", "purpose", "fields[0]", "fields[2]", "subject_ids[0]", "occur_before"],
            await RpcAssert.InvalidFieldsAsync(() => _host.Requests().CreateDataRequestAsync(request).ResponseAsync));
        Assert.Equal(["dataset_ids", "fields"], await RpcAssert.InvalidFieldsAsync(() => _host.Requests().CreateDataRequestAsync(
            new CreateDataRequestRequest { RequestId = "r", Purpose = "credit_assessment" }).ResponseAsync));
        Assert.Equal(["purpose"], await RpcAssert.InvalidFieldsAsync(() => _host.Requests().CreateDataRequestAsync(Ask("astrology")).ResponseAsync));
        var wide = Ask();
        wide.DatasetIds.Add(Guid.NewGuid().ToString());
        wide.DatasetIds.Add(Guid.NewGuid().ToString());
        wide.SubjectIds.AddRange(Enumerable.Range(0, 7000).Select(i => $"subject-{i}"));
        Assert.Equal(["subject_ids"], await RpcAssert.InvalidFieldsAsync(() => _host.Requests().CreateDataRequestAsync(wide).ResponseAsync));
        var unknown = Ask();
        unknown.DatasetIds[0] = Guid.NewGuid().ToString();
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _host.Requests().CreateDataRequestAsync(unknown).ResponseAsync);
        Assert.Equal(["data_request_id"], await RpcAssert.InvalidFieldsAsync(() => _host.Requests().GetDataRequestAsync(new GetDataRequestRequest()).ResponseAsync));
        Assert.Equal(["page_size", "state"], await RpcAssert.InvalidFieldsAsync(() => _host.Requests().ListDataRequestsAsync(
            new ListDataRequestsRequest { PageSize = 501, State = (DataRequestState)9 }).ResponseAsync));
    }
}
