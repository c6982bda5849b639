using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Status = Grpc.Core.Status;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Oversight.BuildingBlocks.Data;
using Oversight.Consent.V1;
using Oversight.Exchange.V1;
using Oversight.Governance.V1;

namespace Oversight.Suite.Tests;

/// <summary>
/// One caller's request never harms another's (design §7, §8): whatever bytes arrive, every RPC of
/// every service answers within its deadline with a status the caller can act on — never INTERNAL
/// or UNKNOWN — keeps its trailers small, and the service keeps serving. Streams too: a hostile
/// message of an upload (the first, or one after a stored batch) or a hostile fetch request ends
/// the stream with a clear status, bytes that do not parse refused naming their field.
/// </summary>
public sealed class HostileInputTests(HostileInputHost host) : IClassFixture<HostileInputHost>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <summary>A stream carries several messages and each batch is stored before the next is read: more time, still bounded.</summary>
    private static readonly TimeSpan StreamDeadline = TimeSpan.FromSeconds(20);

    private static readonly (string Organisation, string Kind) Platform = ("shopwave", "platform");
    private static readonly (string Organisation, string Kind) Institution = ("state-credit-bureau", "institution");
    private static readonly (string Organisation, string Kind) Regulator = ("central-bank", "regulator");

    /// <summary>A platform that owns none of the datasets here.</summary>
    private static readonly (string Organisation, string Kind) OtherPlatform = ("paylink", "platform");

    /// <summary>Callers of every kind the services serve; each method is called as the first one it does not refuse.</summary>
    private static readonly (string Organisation, string Kind)[] Callers =
        [("operator", "operator"), Regulator, Platform, Institution];

    /// <summary>
    /// Exchange's callers, tried before the rest: a platform owns the catalog's datasets and uploads
    /// into the vault; an institution asks for data and fetches it, the regulator reads both.
    /// </summary>
    private static readonly Dictionary<string, (string Organisation, string Kind)[]> FirstCallers = new()
    {
        [CatalogService.Descriptor.FullName] = [Platform],
        [VaultService.Descriptor.FullName] = [Platform],
        [DataRequestService.Descriptor.FullName] = [Institution, Regulator],
        [DeliveryService.Descriptor.FullName] = [Institution, Regulator],
    };

    /// <summary>Statuses a caller can act on, as a refusal of a hostile stream ends (design §8).</summary>
    private static readonly StatusCode[] ClearRefusals =
        [StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.PermissionDenied, StatusCode.FailedPrecondition, StatusCode.AlreadyExists];

    /// <summary>Well under the 8 KB that HTTP/2 peers commonly allow a header block.</summary>
    private const int MaxTrailerBytes = 6 * 1024;

    private static CallOptions WithDeadline() => new(deadline: DateTime.UtcNow + Deadline);

    [Fact]
    public async Task Every_rpc_of_every_service_survives_the_hostile_corpus()
    {
        var services = HostileCorpus.Services(
            typeof(ConsentService).Assembly, typeof(ShareLedgerService).Assembly, typeof(Oversight.Audit.V1.AuditLogService).Assembly,
            typeof(CatalogService).Assembly);
        Assert.Contains(services, s => s.FullName == ConsentService.Descriptor.FullName);
        Assert.Contains(services, s => s.FullName == ShareLedgerService.Descriptor.FullName);
        Assert.Contains(services, s => s.FullName == Oversight.Audit.V1.AuditLogService.Descriptor.FullName);
        foreach (var exchange in FirstCallers.Keys)
        {
            Assert.Contains(services, s => s.FullName == exchange);
        }

        // The streaming RPCs (Exchange's upload and delivery) have tests of their own, below: a stream's messages are read one by one.
        var methods = services.SelectMany(s => s.Methods).Where(m => !m.IsClientStreaming && !m.IsServerStreaming).ToList();
        Assert.All(services.SelectMany(s => s.Methods).Except(methods),
            m => Assert.Contains(m.FullName, new[] { UploadRecords.FullName, FetchDelivery.FullName }));

        await FoundTheVentureAsync();
        var exchangeData = await ExchangeDataAsync();
        var failures = new List<string>();
        var calls = 0;
        foreach (var method in methods)
        {
            var raw = HostileCorpus.RawMethod(method);
            var valid = ValidRequests(exchangeData).GetValueOrDefault(method.InputType.FullName)?.ToByteArray() ?? [];
            var invoker = await CallerReachingTheHandlerAsync(method.Service, raw, valid);
            foreach (var hostile in HostileCorpus.For(method.InputType, valid))
            {
                calls++;
                var answer = await AnswerOfAsync(invoker, raw, hostile.Bytes, WithDeadline());
                if (answer.Status.StatusCode is StatusCode.Internal or StatusCode.Unknown or StatusCode.DeadlineExceeded or StatusCode.Unavailable
                    || (hostile.InvalidUtf8 && UnnamedParseFailure(hostile, answer) is not null)
                    || answer.TrailerBytes > MaxTrailerBytes)
                {
                    failures.Add($"{method.FullName} with {hostile.Label}: {Describe(answer)}");
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {calls} hostile calls failed:\n" + string.Join("\n", failures.Take(50)));
        await AssertStillServingAsync();
        Assert.Empty(host.Errors);
    }

    [Fact]
    public async Task Every_hostile_upload_message_ends_the_upload_with_a_clear_status_whoever_calls()
    {
        var data = await ExchangeDataAsync();
        var uploads = Guid.NewGuid().ToString("N");

        var failures = new List<string>();
        var cases = new List<HostileCorpus.Case>();
        // The owner's uploads reach the schema's rules; anyone else's end refused, just as clearly.
        foreach (var (organisation, kind) in Callers.Append(OtherPlatform))
        {
            var caller = host.As(organisation, kind);
            var owner = (organisation, kind) == Platform;
            // A fresh upload per case: an upload that completed refuses every later stream under its id, before its records are read.
            foreach (var hostile in HostileCorpus.For(UploadRecordsRequest.Descriptor, i => ValidUpload(data.DatasetId, $"{uploads}-{organisation}-{i}").ToByteArray()))
            {
                cases.Add(hostile);
                var answer = await UploadAsync(caller, hostile.Bytes);
                if (UnclearUpload(hostile, answer, mayBeDenied: !owner) is { } why)
                {
                    failures.Add($"{hostile.Label} as {organisation}: {why}: {Describe(answer)}");
                }
            }
        }

        AssertReachesTheRecords(cases);
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} hostile uploads failed:\n" + string.Join("\n", failures.Take(50)));
        await AssertStillServingAsync(data);
        Assert.Empty(host.Errors);
    }

    [Fact]
    public async Task A_hostile_second_message_after_a_stored_batch_ends_the_upload_with_a_clear_status()
    {
        var data = await ExchangeDataAsync();
        var uploads = Guid.NewGuid().ToString("N");
        var platform = host.As(Platform.Organisation, Platform.Kind);

        var failures = new List<string>();
        var cases = new List<HostileCorpus.Case>();
        // The second message is set on a valid batch of the same upload (case i: upload i), so its values reach the same rules the first passed.
        foreach (var hostile in HostileCorpus.For(UploadRecordsRequest.Descriptor, i => ValidUpload(data.DatasetId, $"{uploads}-{i}", "second").ToByteArray()))
        {
            var upload = $"{uploads}-{cases.Count}";
            cases.Add(hostile);
            var answer = await UploadAsync(platform, ValidUpload(data.DatasetId, upload, "first").ToByteArray(), hostile.Bytes);
            if (UnclearUpload(hostile, answer) is { } why)
            {
                failures.Add($"{hostile.Label}: {why}: {Describe(answer)}");
            }

            // The first batch was stored whatever became of the second: a refused stream keeps what committed.
            var account = await new VaultService.VaultServiceClient(platform).GetUploadAsync(new GetUploadRequest { UploadId = upload }, WithDeadline());
            if (account.Upload.Batches < 1)
            {
                failures.Add($"{hostile.Label}: the first batch was not kept ({account.Upload})");
            }
        }

        AssertReachesTheRecords(cases);
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} hostile second messages failed:\n" + string.Join("\n", failures.Take(50)));
        await AssertStillServingAsync(data);
        Assert.Empty(host.Errors);
    }

    [Fact]
    public async Task An_upload_stream_without_a_message_is_invalid_argument_naming_records()
    {
        var data = await ExchangeDataAsync();

        var answer = await UploadAsync(host.As(Platform.Organisation, Platform.Kind));

        Assert.Equal(StatusCode.InvalidArgument, answer.Status.StatusCode);
        var violation = Assert.Single(answer.BadRequest!.FieldViolations);
        Assert.Equal("records", violation.Field);
        await AssertStillServingAsync(data);
        Assert.Empty(host.Errors);
    }

    [Fact]
    public async Task Every_hostile_fetch_request_ends_the_delivery_stream_with_a_clear_status_whoever_calls()
    {
        var data = await ExchangeDataAsync();
        var fetch = HostileCorpus.RawMethod(FetchDelivery);
        FetchDeliveryRequest[] valid =
        [
            // A request that exists but was rejected (there is no alliance here): nothing is ever delivered for it.
            new() { DataRequestId = data.DataRequestId, PageSize = 10 },
            // A well-formed resume token of a delivery that does not exist.
            new() { ResumeToken = PageToken.Encode(Guid.NewGuid().ToString("D"), "1"), PageSize = 10 },
        ];

        var failures = new List<string>();
        var cases = 0;
        // The institution that asked reaches the request's rules; anyone else's fetch ends refused, just as clearly.
        foreach (var (organisation, kind) in Callers)
        {
            var caller = host.As(organisation, kind);
            foreach (var hostile in valid.SelectMany(v => HostileCorpus.For(FetchDeliveryRequest.Descriptor, v.ToByteArray())))
            {
                cases++;
                var answer = await AnswerOfAsync(caller, fetch, hostile.Bytes, new CallOptions(deadline: DateTime.UtcNow + StreamDeadline));
                if (Unclear(hostile, answer, ClearRefusals, mayBeDenied: (organisation, kind) != Institution) is { } why)
                {
                    failures.Add($"{hostile.Label} as {organisation}: {why}: {Describe(answer)}");
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} hostile fetches failed:\n" + string.Join("\n", failures.Take(50)));
        await AssertStillServingAsync(data);
        Assert.Empty(host.Errors);
    }

    [Fact]
    public async Task Invalid_utf8_is_invalid_argument_naming_the_parse_failure_with_no_error_logged()
    {
        var raw = HostileCorpus.RawMethod(ConsentRegistryService.Descriptor.FindMethodByName("ListPurposes"));
        // ListPurposesRequest.page_token (field 2) holding "a" and a lone surrogate, as a JavaScript client encodes it.
        byte[] request = [0x12, 0x04, 0x61, 0xED, 0xB0, 0x80];

        var status = await StatusOfAsync(host.As("shopwave", "platform"), raw, request);

        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.StartsWith("The request could not be parsed", status.Detail, StringComparison.Ordinal);
        Assert.Contains("UTF-8", status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(host.Errors, e => e.Contains("InvalidProtocolBuffer", StringComparison.Ordinal));
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Invalid_utf8_deep_in_a_request_names_the_field_path()
    {
        var grant = new GrantConsentRequest
        {
            RequestId = "r", SubjectId = "alice",
            Terms = new ConsentTerms { DataCategories = { "user.health", "CATEGORY" }, Evidence = new ConsentEvidence { Jurisdiction = "CN" } },
        };
        var raw = HostileCorpus.RawMethod(ConsentService.Descriptor.FindMethodByName("GrantConsent"));
        // Swap the bytes of "CATEGORY" for ones that are not UTF-8, leaving the framing intact.
        var bytes = grant.ToByteArray();
        var at = bytes.AsSpan().IndexOf("CATEGORY"u8);
        bytes[at] = 0xED;
        bytes[at + 1] = 0xB0;
        bytes[at + 2] = 0x80;

        var exception = await Assert.ThrowsAsync<RpcException>(() => HostileCorpus.CallAsync(host.As("shopwave", "platform"), raw, bytes, WithDeadline()));

        Assert.Equal(StatusCode.InvalidArgument, exception.StatusCode);
        var violation = Assert.Single(exception.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations);
        Assert.Equal(("terms.data_categories[1]", "is not valid UTF-8"), (violation.Field, violation.Description));
        Assert.DoesNotContain(host.Errors, e => e.Contains("InvalidProtocolBuffer", StringComparison.Ordinal));
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Health_watch_and_reflection_streams_refuse_invalid_utf8_too()
    {
        // grpc.health.v1 Watch is server streaming, reflection is bidirectional: field 1 is a string in both.
        byte[] request = [0x0A, 0x03, 0xED, 0xB0, 0x80];
        var anonymous = host.Channel.CreateCallInvoker();
        var watch = HostileCorpus.RawMethod(Health.Descriptor.FindMethodByName("Watch"));
        var reflection = HostileCorpus.RawMethod(ServerReflection.Descriptor.FindMethodByName("ServerReflectionInfo"));

        Assert.Equal(StatusCode.InvalidArgument, (await StatusOfAsync(anonymous, watch, request)).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await StatusOfAsync(anonymous, reflection, request)).StatusCode);
    }

    [Fact]
    public async Task The_guarded_binder_keeps_authentication_health_and_reflection_as_they_were()
    {
        var anonymous = host.Channel.CreateCallInvoker();
        var unauthenticated = await Assert.ThrowsAsync<RpcException>(() =>
            new ConsentRegistryService.ConsentRegistryServiceClient(anonymous).ListPurposesAsync(new ListPurposesRequest(), WithDeadline()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, unauthenticated.StatusCode);

        var health = await new Health.HealthClient(anonymous).CheckAsync(new HealthCheckRequest { Service = ConsentService.Descriptor.FullName }, WithDeadline());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        using var reflection = new ServerReflection.ServerReflectionClient(anonymous).ServerReflectionInfo(WithDeadline());
        await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await reflection.RequestStream.CompleteAsync();
        Assert.True(await reflection.ResponseStream.MoveNext(CancellationToken.None));
        var listed = reflection.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains(ConsentService.Descriptor.FullName, listed);
        Assert.Contains(ShareLedgerService.Descriptor.FullName, listed);
    }

    [Fact]
    public async Task A_thousand_violations_are_capped_and_the_channel_keeps_serving()
    {
        var request = new FoundVentureRequest { RequestId = "many-violations" };
        for (var i = 0; i < 1000; i++)
        {
            request.ShareClasses.Add(new ShareClass { Id = "ordinary", Kind = ShareClassKind.Ordinary, VotesPerShare = 1, Authorised = 10 });
            // An unknown class id, echoed back in each violation, nearly as long as the request guard allows.
            request.Allocations.Add(new Allocation { HolderId = "shopwave", ClassId = new string('c', 4000), Quantity = 1 });
        }

        var shares = new ShareLedgerService.ShareLedgerServiceClient(host.As("operator", "operator"));
        var exception = await Assert.ThrowsAsync<RpcException>(() => shares.FoundVentureAsync(request, WithDeadline()).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, exception.StatusCode);
        var violations = exception.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations;
        Assert.InRange(violations.Count, 1, Oversight.BuildingBlocks.Errors.BoundedStatus.MaxViolations);
        Assert.Contains("fields are invalid (the first 20 follow)", exception.Status.Detail, StringComparison.Ordinal);
        Assert.All(violations, v => Assert.True(v.Description.Length <= Oversight.BuildingBlocks.Errors.BoundedStatus.MaxEchoLength));
        Assert.True(TrailerBytes(exception) <= MaxTrailerBytes, $"the error took {TrailerBytes(exception)} bytes of trailers");
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task A_megabyte_field_is_refused_before_the_handler_naming_its_path()
    {
        var consent = new ConsentService.ConsentServiceClient(host.As("shopwave", "platform"));
        var grant = new GrantConsentRequest
        {
            RequestId = "huge-jurisdiction",
            SubjectId = "alice",
            Terms = new ConsentTerms { Evidence = new ConsentEvidence { Jurisdiction = new string('j', 1024 * 1024) } },
        };

        var exception = await Assert.ThrowsAsync<RpcException>(() => consent.GrantConsentAsync(grant, WithDeadline()).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, exception.StatusCode);
        var violation = Assert.Single(exception.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations);
        Assert.Equal("terms.evidence.jurisdiction", violation.Field);
        Assert.Equal("must be at most 4096 characters", violation.Description);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Lists_longer_than_their_bound_are_refused_and_a_batch_check_may_name_its_own_limit()
    {
        var consent = new ConsentService.ConsentServiceClient(host.As("state-credit-bureau", "institution"));
        var oversized = new BatchCheckConsentRequest { ControllerId = "shopwave", RecipientId = "state-credit-bureau", Purpose = "credit_assessment" };
        oversized.DataCategories.Add("user.financial");
        oversized.SubjectIds.AddRange(Enumerable.Range(0, 5001).Select(i => $"s{i}"));
        var exception = await Assert.ThrowsAsync<RpcException>(() => consent.BatchCheckConsentAsync(oversized, WithDeadline()).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, exception.StatusCode);
        Assert.Equal("subject_ids must hold at most 5000 entries", exception.Status.Detail);

        // 5000 subjects are more than the default bound of a list, but what the batch check allows.
        var allowed = oversized.Clone();
        allowed.SubjectIds.RemoveAt(0);
        var answer = await consent.BatchCheckConsentAsync(allowed, WithDeadline());
        Assert.Equal(5000, answer.Decisions.Count);
    }

    /// <summary>Registers the parties and founds the venture, so share and proposal requests reach their deeper rules.</summary>
    private async Task FoundTheVentureAsync()
    {
        var organisations = new OrganisationService.OrganisationServiceClient(host.As("operator", "operator"));
        foreach (var (id, kind) in new[] { ("central-bank", OrganisationKind.Regulator), ("state-investor", OrganisationKind.StateInvestor),
            ("shopwave", OrganisationKind.Platform), ("paylink", OrganisationKind.Platform), ("state-credit-bureau", OrganisationKind.Institution) })
        {
            await organisations.RegisterOrganisationAsync(
                new RegisterOrganisationRequest { RequestId = $"register-{id}", OrganisationId = id, Kind = kind, Name = id, Jurisdiction = "CN" }, WithDeadline());
        }

        await new ShareLedgerService.ShareLedgerServiceClient(host.As("operator", "operator")).FoundVentureAsync(new FoundVentureRequest
        {
            RequestId = "found",
            ShareClasses = { new ShareClass { Id = "ordinary", Kind = ShareClassKind.Ordinary, VotesPerShare = 1, Authorised = 1_000_000 } },
            Allocations =
            {
                new Allocation { HolderId = "shopwave", ClassId = "ordinary", Quantity = 500_000 },
                new Allocation { HolderId = "paylink", ClassId = "ordinary", Quantity = 100_000 },
            },
        }, WithDeadline());
    }

    private static MethodDescriptor UploadRecords => VaultService.Descriptor.FindMethodByName("UploadRecords");

    private static MethodDescriptor FetchDelivery => DeliveryService.Descriptor.FindMethodByName("FetchDelivery");

    /// <summary>What Exchange's valid requests name: datasets of shopwave's (one to upload into, one to retire) and an institution's request.</summary>
    private sealed record ExchangeData(string DatasetId, string DatasetToRetireId, string DataRequestId);

    /// <summary>
    /// Publishes shopwave's datasets and asks for one as the credit bureau (rejected: there is no
    /// alliance). Fixed request ids, so every test that calls it gets the same answers.
    /// </summary>
    private async Task<ExchangeData> ExchangeDataAsync()
    {
        var catalog = new CatalogService.CatalogServiceClient(host.As(Platform.Organisation, Platform.Kind));
        var dataset = (await catalog.PublishDatasetAsync(Transactions("hostile-dataset", "Card transactions"), WithDeadline())).Dataset;
        var toRetire = (await catalog.PublishDatasetAsync(Transactions("hostile-dataset-to-retire", "Card transactions to retire"), WithDeadline())).Dataset;
        var requests = new DataRequestService.DataRequestServiceClient(host.As(Institution.Organisation, Institution.Kind));
        var request = (await requests.CreateDataRequestAsync(new CreateDataRequestRequest
        {
            RequestId = "hostile-data-request", DatasetIds = { dataset.Id }, Purpose = "credit_assessment", Fields = { "amount" },
        }, WithDeadline())).DataRequest;
        return new ExchangeData(dataset.Id, toRetire.Id, request.Id);
    }

    private static PublishDatasetRequest Transactions(string requestId, string name) => new()
    {
        RequestId = requestId,
        Name = name,
        DataCategory = "user.financial.transactions",
        Fields =
        {
            new DatasetField { Name = "amount", Type = Oversight.Exchange.V1.FieldType.Decimal, Sensitivity = FieldSensitivity.Ordinary, Required = true },
            new DatasetField { Name = "merchant", Type = Oversight.Exchange.V1.FieldType.String, Sensitivity = FieldSensitivity.Ordinary },
        },
        Description = "Card payments, one record a payment.",
    };

    /// <summary>One batch of one valid record.</summary>
    private static UploadRecordsRequest ValidUpload(string datasetId, string uploadId, string recordKey = "payment-1") => new()
    {
        UploadId = uploadId,
        DatasetId = datasetId,
        Records =
        {
            new VaultRecord
            {
                SubjectId = "alice", RecordKey = recordKey, OccurTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1)),
                Fields = { ["amount"] = "12.50", ["merchant"] = "Corner Shop" },
            },
        },
    };

    /// <summary>A valid request of the methods whose rules run deep; each hostile value replaces one of its fields.</summary>
    private static Dictionary<string, IMessage> ValidRequests(ExchangeData exchange)
    {
        var now = DateTimeOffset.UtcNow;
        var terms = new ConsentTerms
        {
            RecipientId = "state-credit-bureau",
            Purpose = "credit_assessment",
            DataCategories = { "user.financial.transactions" },
            ValidUntil = Timestamp.FromDateTimeOffset(now.AddDays(30)),
            Mode = ConsentMode.View,
            Evidence = new ConsentEvidence
            {
                CollectionMethod = CollectionMethod.App,
                NoticeId = "privacy-notice",
                NoticeVersion = "2026-10",
                NoticeContentSha256 = new string('a', 64),
                CollectTime = Timestamp.FromDateTimeOffset(now.AddMinutes(-1)),
                Language = "zh-CN",
                Jurisdiction = "CN",
                SeparateConsent = true,
            },
        };
        var shares = new Allocation { HolderId = "shopwave", ClassId = "ordinary", Quantity = 100 };
        IMessage[] requests =
        [
            new GrantConsentRequest { RequestId = Guid.NewGuid().ToString("N"), SubjectId = "alice", Terms = terms },
            new CheckConsentRequest
            {
                SubjectId = "alice", ControllerId = "shopwave", RecipientId = "state-credit-bureau", Purpose = "credit_assessment",
                DataCategory = "user.financial.transactions",
            },
            new BatchCheckConsentRequest
            {
                SubjectIds = { "alice", "bob" }, ControllerId = "shopwave", RecipientId = "state-credit-bureau", Purpose = "credit_assessment",
                DataCategories = { "user.financial.transactions" },
            },
            new RegisterOrganisationRequest
            {
                RequestId = Guid.NewGuid().ToString("N"), OrganisationId = "newshop", Kind = OrganisationKind.Platform, Name = "NewShop", Jurisdiction = "CN",
            },
            new FoundVentureRequest
            {
                RequestId = Guid.NewGuid().ToString("N"),
                ShareClasses = { new ShareClass { Id = "ordinary", Kind = ShareClassKind.Ordinary, VotesPerShare = 1, Authorised = 1_000_000 } },
                Allocations = { shares },
            },
            new RequestShareTransferRequest { RequestId = Guid.NewGuid().ToString("N"), ClassId = "ordinary", BuyerId = "paylink", Quantity = 10 },
            new CreateProposalRequest
            {
                RequestId = Guid.NewGuid().ToString("N"),
                Category = ProposalCategory.Ordinary,
                Title = "Issue shares",
                Action = new ProposalAction { IssueShares = new IssueShares { Allocations = { shares } } },
                OpenTime = Timestamp.FromDateTimeOffset(now.AddDays(8)),
                CloseTime = Timestamp.FromDateTimeOffset(now.AddDays(9)),
            },
            Transactions(Guid.NewGuid().ToString("N"), "Hostile transactions"),
            new RetireDatasetRequest { RequestId = Guid.NewGuid().ToString("N"), DatasetId = exchange.DatasetToRetireId },
            new GetDatasetRequest { DatasetId = exchange.DatasetId },
            new ListDatasetsRequest { PageSize = 10, OwnerId = "shopwave", DataCategory = "user.financial", Query = "card" },
            new CreateDataRequestRequest
            {
                RequestId = Guid.NewGuid().ToString("N"),
                DatasetIds = { exchange.DatasetId },
                Purpose = "credit_assessment",
                Fields = { "amount", "merchant" },
                SubjectIds = { "alice", "bob" },
                OccurAfter = Timestamp.FromDateTimeOffset(now.AddDays(-30)),
                OccurBefore = Timestamp.FromDateTimeOffset(now),
            },
            new GetDataRequestRequest { DataRequestId = exchange.DataRequestId },
            new ListDataRequestsRequest { PageSize = 10, InstitutionId = "state-credit-bureau", State = Oversight.Exchange.V1.DataRequestState.Rejected },
            new ListDeliveriesRequest { PageSize = 10, DataRequestId = exchange.DataRequestId },
            new AttestPurgeRequest
            {
                RequestId = Guid.NewGuid().ToString("N"), DeliveryId = Guid.NewGuid().ToString("D"),
                PurgeTime = Timestamp.FromDateTimeOffset(now.AddMinutes(-1)), Statement = "Deleted from every store.",
            },
            new ListOverdueDeliveriesRequest { PageSize = 10 },
        ];
        return requests.ToDictionary(r => r.Descriptor.FullName);
    }

    /// <summary>
    /// The first caller whose request the method does not refuse outright, so hostile ones reach the
    /// handler: the service's own callers first (Exchange's), then every kind.
    /// </summary>
    private async Task<CallInvoker> CallerReachingTheHandlerAsync(ServiceDescriptor service, Method<byte[], byte[]> method, byte[] request)
    {
        foreach (var (organisation, kind) in FirstCallers.GetValueOrDefault(service.FullName, []).Concat(Callers).Distinct())
        {
            var invoker = host.As(organisation, kind);
            if ((await StatusOfAsync(invoker, method, request)).StatusCode != StatusCode.PermissionDenied)
            {
                return invoker;
            }
        }

        return host.As(Callers[0].Organisation, Callers[0].Kind);
    }

    private static async Task<Status> StatusOfAsync(CallInvoker invoker, Method<byte[], byte[]> method, byte[] request) =>
        (await AnswerOfAsync(invoker, method, request, WithDeadline())).Status;

    /// <summary>How a call ended: its status, the bytes its trailers took (binary ones as the base64 that travels), its field violations.</summary>
    private sealed record Answer(Status Status, int TrailerBytes, BadRequest? BadRequest);

    private static Answer AnswerOf(RpcException exception) =>
        new(exception.Status, TrailerBytes(exception), exception.GetRpcStatus()?.GetDetail<BadRequest>());

    private static async Task<Answer> AnswerOfAsync(CallInvoker invoker, Method<byte[], byte[]> method, byte[] request, CallOptions options)
    {
        try
        {
            await HostileCorpus.CallAsync(invoker, method, request, options);
            return new Answer(Status.DefaultSuccess, 0, null);
        }
        catch (RpcException exception)
        {
            return AnswerOf(exception);
        }
    }

    /// <summary>
    /// Streams the messages into UploadRecords as raw bytes, completes the stream and reads the answer.
    /// The server may end the call before it has read them all (a refused message ends it): what the
    /// client could not write then is of no account, the status is.
    /// </summary>
    private static async Task<Answer> UploadAsync(CallInvoker invoker, params byte[][] messages)
    {
        using var call = invoker.AsyncClientStreamingCall(HostileCorpus.RawMethod(UploadRecords), null, new CallOptions(deadline: DateTime.UtcNow + StreamDeadline));
        try
        {
            foreach (var message in messages)
            {
                await call.RequestStream.WriteAsync(message);
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (Exception exception) when (exception is RpcException or InvalidOperationException)
        {
            // The call ended while it was being written; its status follows.
        }

        try
        {
            await call.ResponseAsync;
            return new Answer(Status.DefaultSuccess, 0, null);
        }
        catch (RpcException exception)
        {
            return AnswerOf(exception);
        }
    }

    /// <summary>Why an upload's answer is not one its caller can act on; null when it is. A batch whose records are refused one by one still completes, counting them.</summary>
    private static string? UnclearUpload(HostileCorpus.Case hostile, Answer answer, bool mayBeDenied = false) =>
        Unclear(hostile, answer, [StatusCode.OK, .. ClearRefusals], mayBeDenied);

    /// <summary>
    /// Why the answer to a hostile stream is not one its caller can act on; null when it is: a status
    /// of <paramref name="clear"/>, small trailers, every INVALID_ARGUMENT with its field violations,
    /// and bytes that do not parse refused naming their field — unless the caller
    /// <paramref name="mayBeDenied"/> and was (who calls is settled before what they sent is read).
    /// </summary>
    private static string? Unclear(HostileCorpus.Case hostile, Answer answer, StatusCode[] clear, bool mayBeDenied = false)
    {
        if (!clear.Contains(answer.Status.StatusCode))
        {
            return "not a clear status";
        }

        if (answer.TrailerBytes > MaxTrailerBytes)
        {
            return "trailers too large";
        }

        if (mayBeDenied && answer.Status.StatusCode == StatusCode.PermissionDenied)
        {
            return null;
        }

        if (answer.Status.StatusCode == StatusCode.InvalidArgument && answer.BadRequest is not { FieldViolations.Count: > 0 })
        {
            return "INVALID_ARGUMENT without field violations";
        }

        return hostile.InvalidUtf8 ? UnnamedParseFailure(hostile, answer) : null;
    }

    /// <summary>Why a refusal of bytes that are not UTF-8 does not name the field that holds them, as the request guard does; null when it does.</summary>
    private static string? UnnamedParseFailure(HostileCorpus.Case hostile, Answer answer)
    {
        if (answer.Status.StatusCode != StatusCode.InvalidArgument)
        {
            return "invalid UTF-8 not refused as INVALID_ARGUMENT";
        }

        // The guard names the entry of a list (records[1].subject_id); the case names the field (records.subject_id).
        var named = answer.BadRequest?.FieldViolations.Any(v => v.Description == "is not valid UTF-8" && WithoutIndices(v.Field) == hostile.Field);
        return named == true ? null : "invalid UTF-8 refused without naming its field";
    }

    private static string WithoutIndices(string path)
    {
        var kept = new System.Text.StringBuilder(path.Length);
        var inIndex = false;
        foreach (var c in path)
        {
            inIndex = c == '[' || (inIndex && c != ']');
            if (!inIndex && c != ']')
            {
                kept.Append(c);
            }
        }

        return kept.ToString();
    }

    /// <summary>The upload corpus sets values inside a record, so they reach the vault's record rules, not only the stream's own.</summary>
    private static void AssertReachesTheRecords(IReadOnlyList<HostileCorpus.Case> cases)
    {
        foreach (var field in new[] { "records.subject_id", "records.record_key", "records.occur_time", "records.fields" })
        {
            Assert.Contains(cases, c => c.Field == field);
        }
    }

    private static string Describe(Answer answer) =>
        $"{answer.Status.StatusCode} ({answer.TrailerBytes} bytes of trailers) {answer.Status.Detail}"
        + (answer.BadRequest is { } badRequest ? " " + string.Join("; ", badRequest.FieldViolations.Select(v => $"{v.Field} {v.Description}")) : "");

    private static int TrailerBytes(RpcException exception) =>
        exception.Status.Detail.Length + exception.Trailers.Sum(t => t.Key.Length + (t.IsBinary ? (t.ValueBytes.Length + 2) / 3 * 4 : t.Value.Length));

    /// <summary>A normal call to each module succeeds on the same channels; with Exchange's data, the catalog still lists it.</summary>
    private async Task AssertStillServingAsync(ExchangeData? exchange = null)
    {
        var registry = new ConsentRegistryService.ConsentRegistryServiceClient(host.As("shopwave", "platform"));
        Assert.NotEmpty((await registry.ListPurposesAsync(new ListPurposesRequest(), WithDeadline())).Purposes);
        var organisations = new OrganisationService.OrganisationServiceClient(host.As("operator", "operator"));
        await organisations.ListOrganisationsAsync(new ListOrganisationsRequest(), WithDeadline());
        var catalog = new CatalogService.CatalogServiceClient(host.As(Platform.Organisation, Platform.Kind));
        var listed = await catalog.ListDatasetsAsync(new ListDatasetsRequest { OwnerId = Platform.Organisation, PageSize = 500 }, WithDeadline());
        if (exchange is not null)
        {
            Assert.Contains(listed.Datasets, d => d.Id == exchange.DatasetId);
        }
    }
}
