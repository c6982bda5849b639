using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Status = Grpc.Core.Status;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Oversight.Consent.V1;
using Oversight.Governance.V1;

namespace Oversight.Suite.Tests;

/// <summary>
/// One caller's request never harms another's (design §7, §8): whatever bytes arrive, every RPC of
/// every service answers within its deadline with a status the caller can act on — never INTERNAL
/// or UNKNOWN — keeps its trailers small, and the service keeps serving.
/// </summary>
public sealed class HostileInputTests(HostileInputHost host) : IClassFixture<HostileInputHost>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <summary>Callers of every kind the services serve; each method is called as the first one it does not refuse.</summary>
    private static readonly (string Organisation, string Kind)[] Callers =
        [("operator", "operator"), ("central-bank", "regulator"), ("shopwave", "platform"), ("state-credit-bureau", "institution")];

    /// <summary>Well under the 8 KB that HTTP/2 peers commonly allow a header block.</summary>
    private const int MaxTrailerBytes = 6 * 1024;

    private static CallOptions WithDeadline() => new(deadline: DateTime.UtcNow + Deadline);

    [Fact]
    public async Task Every_rpc_of_every_service_survives_the_hostile_corpus()
    {
        var services = HostileCorpus.Services(
            typeof(ConsentService).Assembly, typeof(ShareLedgerService).Assembly, typeof(Oversight.Audit.V1.AuditLogService).Assembly);
        Assert.Contains(services, s => s.FullName == ConsentService.Descriptor.FullName);
        Assert.Contains(services, s => s.FullName == ShareLedgerService.Descriptor.FullName);
        Assert.Contains(services, s => s.FullName == Oversight.Audit.V1.AuditLogService.Descriptor.FullName);

        await FoundTheVentureAsync();
        var failures = new List<string>();
        var calls = 0;
        foreach (var method in services.SelectMany(s => s.Methods))
        {
            var raw = HostileCorpus.RawMethod(method);
            var valid = ValidRequests().GetValueOrDefault(method.InputType.FullName)?.ToByteArray() ?? [];
            var invoker = await CallerReachingTheHandlerAsync(raw, valid);
            foreach (var hostile in HostileCorpus.For(method.InputType, valid))
            {
                calls++;
                var (status, trailerBytes) = await AnswerOfAsync(invoker, raw, hostile.Bytes);
                if (status.StatusCode is StatusCode.Internal or StatusCode.Unknown or StatusCode.DeadlineExceeded or StatusCode.Unavailable
                    || (hostile.InvalidUtf8 && status.StatusCode != StatusCode.InvalidArgument)
                    || trailerBytes > MaxTrailerBytes)
                {
                    failures.Add($"{method.FullName} with {hostile.Label}: {status.StatusCode} ({trailerBytes} bytes of trailers) {status.Detail}");
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {calls} hostile calls failed:\n" + string.Join("\n", failures.Take(50)));
        await AssertStillServingAsync();
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

    /// <summary>A valid request of the methods whose rules run deep; each hostile value replaces one of its fields.</summary>
    private static Dictionary<string, IMessage> ValidRequests()
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
        ];
        return requests.ToDictionary(r => r.Descriptor.FullName);
    }

    /// <summary>The first caller whose request the method does not refuse outright, so hostile ones reach the handler.</summary>
    private async Task<CallInvoker> CallerReachingTheHandlerAsync(Method<byte[], byte[]> method, byte[] request)
    {
        foreach (var (organisation, kind) in Callers)
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
        (await AnswerOfAsync(invoker, method, request)).Status;

    /// <summary>The status of the call and the bytes its trailers took (binary ones as the base64 that travels).</summary>
    private static async Task<(Status Status, int TrailerBytes)> AnswerOfAsync(CallInvoker invoker, Method<byte[], byte[]> method, byte[] request)
    {
        try
        {
            await HostileCorpus.CallAsync(invoker, method, request, WithDeadline());
            return (Status.DefaultSuccess, 0);
        }
        catch (RpcException exception)
        {
            return (exception.Status, TrailerBytes(exception));
        }
    }

    private static int TrailerBytes(RpcException exception) =>
        exception.Status.Detail.Length + exception.Trailers.Sum(t => t.Key.Length + (t.IsBinary ? (t.ValueBytes.Length + 2) / 3 * 4 : t.Value.Length));

    /// <summary>A normal call to each service succeeds on the same channel.</summary>
    private async Task AssertStillServingAsync()
    {
        var registry = new ConsentRegistryService.ConsentRegistryServiceClient(host.As("shopwave", "platform"));
        Assert.NotEmpty((await registry.ListPurposesAsync(new ListPurposesRequest(), WithDeadline())).Purposes);
        var organisations = new OrganisationService.OrganisationServiceClient(host.As("operator", "operator"));
        await organisations.ListOrganisationsAsync(new ListOrganisationsRequest(), WithDeadline());
    }
}
