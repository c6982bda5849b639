using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Oversight.Consent.V1;
using Oversight.Exchange.V1;
using Oversight.Testing;
using static Oversight.Exchange.Tests.ExchangeTestHost;

namespace Oversight.Exchange.Tests;

/// <summary>
/// Deliveries against the real Consent module: ten subjects with three records each, of whom the
/// first eight consented (STORE, a data life of seven days) to the credit bureau's credit assessment.
/// </summary>
public sealed class DeliveryTests : IAsyncLifetime
{
    public const int Subjects = 10;
    public const int Consenting = 8;
    public const int RecordsPerSubject = 3;
    private ExchangeTestHost _host = null!;
    private string _datasetId = "";
    private readonly Dictionary<string, string> _consents = [];

    public async ValueTask InitializeAsync()
    {
        _host = await StartAsync(settings => settings["Oversight:Exchange:Consent:CheckDeadline"] = "00:00:01");
        _datasetId = await VaultUploadTests.PublishAsync(_host);
        var records = Enumerable.Range(0, Subjects * RecordsPerSubject)
            .Select(i => VaultUploadTests.NewRecord($"r{i:D3}", $"s{i % Subjects}", amount: $"{i}.00"));
        await VaultUploadTests.UploadAsync(_host, _datasetId, "seed", records);
        for (var s = 0; s < Consenting; s++)
        {
            _consents[$"s{s}"] = (await _host.Consent().GrantConsentAsync(Grant($"s{s}"))).Consent.Id;
        }
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private GrantConsentRequest Grant(string subject) => DeliveryGrants.For(_host, subject);

    private async Task<string> ApprovedRequestAsync(bool identified = false, string institution = CreditBureau)
    {
        await _host.ActivateAllianceAsync(institution, identified: identified);
        var request = (await _host.Requests(institution).CreateDataRequestAsync(new CreateDataRequestRequest
        {
            RequestId = Guid.NewGuid().ToString("N"),
            DatasetIds = { _datasetId },
            Purpose = "credit_assessment",
            Fields = { "amount", "merchant" },
        })).DataRequest;
        Assert.Equal(V1.DataRequestState.Approved, request.State);
        return request.Id;
    }

    /// <summary>The whole stream, in order.</summary>
    private async Task<List<FetchDeliveryResponse>> FetchAsync(FetchDeliveryRequest request, string institution = CreditBureau)
    {
        using var call = _host.Deliveries(institution).FetchDelivery(request);
        var messages = new List<FetchDeliveryResponse>();
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            messages.Add(message);
        }

        return messages;
    }

    private static IEnumerable<DeliveredRecord> Records(IEnumerable<FetchDeliveryResponse> messages) =>
        messages.Where(m => m.KindCase == FetchDeliveryResponse.KindOneofCase.Page).SelectMany(m => m.Page.Records);

    [Fact]
    public async Task A_fetch_delivers_only_consented_subjects_pseudonymised_and_minimised()
    {
        var requestId = await ApprovedRequestAsync();

        var messages = await FetchAsync(new FetchDeliveryRequest { DataRequestId = requestId, PageSize = 7 });

        var started = messages[0].Started;
        var summary = messages[^1].Summary;
        Assert.Equal(requestId, started.DataRequestId);
        Assert.False(started.Identified);
        Assert.Equal(["amount", "merchant"], started.Fields);
        var records = Records(messages).ToList();
        Assert.Equal(Consenting * RecordsPerSubject, records.Count);
        Assert.Equal(records.Count, records.Select(r => r.RecordKey).Distinct().Count());
        Assert.All(records, r => Assert.Equal(["amount", "merchant"], r.Fields.Keys.Order()));
        Assert.All(records, r => Assert.Matches("^[0-9a-f]{64}$", r.Subject));
        Assert.Equal(Consenting, records.Select(r => r.Subject).Distinct().Count());
        Assert.Equal(Consenting * RecordsPerSubject, summary.DeliveredRecords);
        var withheld = Assert.Single(summary.Withheld);
        Assert.Equal(("DENY_REASON_NO_CONSENT", (long)(Subjects - Consenting) * RecordsPerSubject), (withheld.Reason, withheld.Records));
        Assert.Equal(messages.Count - 2, summary.Pages);
        // The least of the alliance's 30 days and the consents' 7.
        var deadline = summary.RetentionDeadline.ToDateTimeOffset();
        Assert.Equal(_host.Time.GetUtcNow().AddDays(7), deadline, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task An_alliance_allowing_identified_data_gets_the_subject_ids()
    {
        var requestId = await ApprovedRequestAsync(identified: true);

        var records = Records(await FetchAsync(new FetchDeliveryRequest { DataRequestId = requestId })).ToList();

        Assert.Equal(Enumerable.Range(0, Consenting).Select(s => $"s{s}").Order(), records.Select(r => r.Subject).Distinct().Order());
    }

    [Fact]
    public async Task Pseudonyms_are_stable_for_a_recipient_and_differ_across_recipients()
    {
        var first = Records(await FetchAsync(new FetchDeliveryRequest { DataRequestId = await ApprovedRequestAsync() })).ToList();
        var second = Records(await FetchAsync(new FetchDeliveryRequest { DataRequestId = await ApprovedRequestAsync() })).ToList();
        foreach (var subject in new[] { "s0", "s1" })
        {
            _consents[subject + "/health"] = (await _host.Consent().GrantConsentAsync(GrantTo(subject, HealthAgency))).Consent.Id;
        }

        var other = Records(await FetchAsync(new FetchDeliveryRequest { DataRequestId = await ApprovedRequestAsync(institution: HealthAgency) }, HealthAgency)).ToList();

        Assert.Equal(first.Select(r => (r.RecordKey, r.Subject)), second.Select(r => (r.RecordKey, r.Subject)));
        Assert.Equal(2 * RecordsPerSubject, other.Count);
        Assert.Empty(other.Select(r => r.Subject).Intersect(first.Select(r => r.Subject)));
    }

    private GrantConsentRequest GrantTo(string subject, string recipient) => DeliveryGrants.For(_host, subject, recipient);

    [Fact]
    public async Task A_revoked_consent_withholds_that_subject_from_the_next_fetch()
    {
        var requestId = await ApprovedRequestAsync();
        await _host.Consent().RevokeConsentAsync(new RevokeConsentRequest { RequestId = "revoke-s3", ConsentId = _consents["s3"], Reason = "changed my mind" });

        var messages = await FetchAsync(new FetchDeliveryRequest { DataRequestId = requestId });

        Assert.Equal((Consenting - 1) * RecordsPerSubject, Records(messages).Count());
        Assert.Contains(messages[^1].Summary.Withheld, w => w.Reason == "DENY_REASON_REVOKED" && w.Records == RecordsPerSubject);
    }

    /// <summary>
    /// The page check is held at the link to Consent (sent, not yet answered) while the revoke is
    /// acknowledged: that check, and every later one, must see the revoke.
    /// </summary>
    [Fact]
    public async Task A_revoke_acknowledged_before_a_page_is_checked_withholds_the_subject_from_it_and_every_later_page()
    {
        var requestId = await ApprovedRequestAsync(identified: true);
        var calls = _host.ConsentLink.Calls;
        _host.ConsentLink.Hold();
        using var call = _host.Deliveries().FetchDelivery(new FetchDeliveryRequest { DataRequestId = requestId, PageSize = 10 });
        var stream = call.ResponseStream;
        Assert.True(await stream.MoveNext(TestContext.Current.CancellationToken));
        await EventuallyAsync(() => Task.FromResult(_host.ConsentLink.Calls > calls), "the first page's check is on its way to Consent");

        await _host.Consent().RevokeConsentAsync(new RevokeConsentRequest { RequestId = "revoke-s7", ConsentId = _consents["s7"], Reason = "no" });
        _host.ConsentLink.Release();
        var messages = new List<FetchDeliveryResponse>();
        while (await stream.MoveNext(TestContext.Current.CancellationToken))
        {
            messages.Add(stream.Current);
        }

        // The first page (r000..r009) holds s7's r007: it must not have left, nor anything of s7 later.
        Assert.DoesNotContain(Records(messages), r => r.Subject == "s7");
        Assert.Contains(messages[^1].Summary.Withheld, w => w.Reason == "DENY_REASON_REVOKED" && w.Records == RecordsPerSubject);
        Assert.Equal((Consenting - 1) * RecordsPerSubject, Records(messages).Count());
    }

    /// <summary>
    /// The new-enemy problem under load, many times over: revokes land while a delivery streams as fast
    /// as it can. Page n's check is the n-th batch check the delivery sends to Consent; any revoke
    /// acknowledged before that check left must hold its subject out of page n.
    /// </summary>
    [Fact]
    public async Task Revokes_landing_while_deliveries_stream_never_let_a_revoked_subject_into_a_page_checked_after_them()
    {
        var random = new Random(20261204);
        await _host.ActivateAllianceAsync(identified: true);
        var more = Enumerable.Range(0, 200).Select(i => VaultUploadTests.NewRecord($"load-{i:D3}", $"load-{i % 40}"));
        await VaultUploadTests.UploadAsync(_host, _datasetId, "load", more);
        // Each subject holds one active consent at the start of every round: those revoked in a round consent again.
        var consents = new Dictionary<string, string>();
        var revoked = Enumerable.Range(0, 40).Select(s => $"load-{s}").ToList();
        var midDelivery = 0;
        for (var round = 0; round < 8; round++)
        {
            foreach (var subject in revoked)
            {
                consents[subject] = (await _host.Consent().GrantConsentAsync(Grant(subject))).Consent.Id;
            }

            var request = (await _host.Requests().CreateDataRequestAsync(new CreateDataRequestRequest
            {
                RequestId = Guid.NewGuid().ToString("N"), DatasetIds = { _datasetId }, Purpose = "credit_assessment", Fields = { "amount" },
            })).DataRequest;
            var checksBefore = _host.ConsentLink.BatchChecksSent.Count;
            var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
            var victims = consents.Keys.OrderBy(_ => random.Next()).Take(12).ToList();
            revoked = victims;
            var pages = new List<RecordPage>();
            var reading = Task.Run(async () =>
            {
                using var call = _host.Deliveries().FetchDelivery(new FetchDeliveryRequest { DataRequestId = request.Id, PageSize = 5 });
                await foreach (var message in call.ResponseStream.ReadAllAsync())
                {
                    if (message.Page is { } page)
                    {
                        pages.Add(page);
                    }
                }
            });
            var revoking = Task.Run(async () =>
            {
                foreach (var victim in victims)
                {
                    await Task.Yield();
                    await _host.Consent().RevokeConsentAsync(new RevokeConsentRequest { RequestId = Guid.NewGuid().ToString("N"), ConsentId = consents[victim], Reason = "load" });
                    acknowledged[victim] = System.Diagnostics.Stopwatch.GetTimestamp();
                }
            });
            await Task.WhenAll(reading, revoking);

            var checks = _host.ConsentLink.BatchChecksSent.Skip(checksBefore).ToList();
            Assert.True(checks.Count >= pages.Count, $"{checks.Count} checks for {pages.Count} pages");
            // A revoke landed mid-delivery when pages were checked both before and after its acknowledgement.
            midDelivery += acknowledged.Values.Count(at => checks.Take(pages.Count).Any(c => c < at) && checks.Take(pages.Count).Any(c => c > at));
            foreach (var page in pages)
            {
                var checkedAt = checks[(int)page.PageNumber - 1];
                foreach (var record in page.Records.Where(r => acknowledged.TryGetValue(r.Subject, out var at) && at < checkedAt))
                {
                    Assert.Fail($"round {round}: {record.Subject}'s revoke was acknowledged before page {page.PageNumber}'s check, yet {record.RecordKey} left in it");
                }
            }
        }

        Assert.True(midDelivery > 0, "no revoke landed while a delivery was streaming: the test did not race anything");
    }

    [Fact]
    public async Task A_suspended_alliance_or_a_freeze_refuses_the_fetch()
    {
        var requestId = await ApprovedRequestAsync();
        var allianceId = (await _host.Requests().GetDataRequestAsync(new GetDataRequestRequest { DataRequestId = requestId })).DataRequest.AllianceId;

        await _host.SetFrozenAsync(true);
        var frozen = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => FetchAsync(new FetchDeliveryRequest { DataRequestId = requestId }));
        Assert.Contains("frozen", frozen.Status.Detail, StringComparison.Ordinal);
        await _host.SetFrozenAsync(false);

        await _host.SuspendAllianceAsync(allianceId);
        var suspended = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => FetchAsync(new FetchDeliveryRequest { DataRequestId = requestId }));
        Assert.Contains("suspended", suspended.Status.Detail, StringComparison.Ordinal);

        // Both refusals are on the log, as the institution's refused calls.
        var refused = (await _host.Audit().ListEntriesAsync(new Audit.V1.ListEntriesRequest { Action = "delivery.refused" })).Entries;
        Assert.Equal(2, refused.Count);
        Assert.All(refused, e => Assert.Equal(("refused", CreditBureau), (e.Outcome, e.ActorId)));
    }

    [Fact]
    public async Task A_suspension_during_a_stream_stops_it_at_its_next_page()
    {
        var requestId = await ApprovedRequestAsync();
        var allianceId = (await _host.Requests().GetDataRequestAsync(new GetDataRequestRequest { DataRequestId = requestId })).DataRequest.AllianceId;
        // The first page's check is held at the link while the suspension becomes known: the page passed the
        // alliance's gate before its check, but the gate is read again in the page's transaction, so not even it leaves.
        var calls = _host.ConsentLink.Calls;
        _host.ConsentLink.Hold();
        using var call = _host.Deliveries().FetchDelivery(new FetchDeliveryRequest { DataRequestId = requestId, PageSize = 5 });
        var stream = call.ResponseStream;
        Assert.True(await stream.MoveNext(TestContext.Current.CancellationToken));
        var deliveryId = stream.Current.Started.DeliveryId;
        await EventuallyAsync(() => Task.FromResult(_host.ConsentLink.Calls > calls), "the first page's check is on its way to Consent");

        await _host.SuspendAllianceAsync(allianceId);
        _host.ConsentLink.Release();
        // At most the page already on its way, then the stream ends with the reason.
        var failure = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, async () =>
        {
            while (await stream.MoveNext(TestContext.Current.CancellationToken))
            {
            }
        });

        Assert.Contains("suspended", failure.Status.Detail, StringComparison.Ordinal);
        var delivery = (await _host.Deliveries().GetDeliveryAsync(new GetDeliveryRequest { DeliveryId = deliveryId })).Delivery;
        Assert.Equal(V1.DeliveryState.Stopped, delivery.State);
        Assert.Equal(0, delivery.Pages);
        Assert.Equal(0, await _host.ScalarAsync<long>("SELECT COUNT(*) FROM delivery_page WHERE delivery_id = @Id", new { Id = deliveryId }));
    }

    [Theory]
    [InlineData(ConsentLinkFaults.Fault.Unreachable)]
    [InlineData(ConsentLinkFaults.Fault.Stalled)]
    [InlineData(ConsentLinkFaults.Fault.Erroring)]
    public async Task Without_consents_answer_nothing_is_delivered(ConsentLinkFaults.Fault fault)
    {
        var requestId = await ApprovedRequestAsync();
        _host.ConsentLink.Current = fault;

        var messages = new List<FetchDeliveryResponse>();
        var failure = await RpcAssert.FailsAsync(StatusCode.Unavailable, async () =>
        {
            using var call = _host.Deliveries().FetchDelivery(new FetchDeliveryRequest { DataRequestId = requestId });
            await foreach (var message in call.ResponseStream.ReadAllAsync())
            {
                messages.Add(message);
            }
        });

        Assert.Contains("Consent", failure.Status.Detail, StringComparison.Ordinal);
        var started = Assert.Single(messages);
        var delivery = (await _host.Deliveries().GetDeliveryAsync(new GetDeliveryRequest { DeliveryId = started.Started.DeliveryId })).Delivery;
        Assert.Equal((V1.DeliveryState.Stopped, 0, 0), (delivery.State, delivery.Pages, delivery.DeliveredRecords));
        Assert.Equal(0, await _host.ScalarAsync<long>("SELECT COUNT(*) FROM delivery_page"));
        Assert.Equal(0, await _host.ScalarAsync<long>("SELECT COUNT(*) FROM outbox_message WHERE message_type LIKE '%DataDisclosed%'"));

        // Once Consent answers again, the delivery resumes from where it stopped.
        _host.ConsentLink.Current = ConsentLinkFaults.Fault.None;
        var resumed = await FetchAsync(new FetchDeliveryRequest { ResumeToken = Application.Deliveries.ResumeToken(delivery.Id, 0) });
        Assert.Equal(Consenting * RecordsPerSubject, Records(resumed).Count());
    }

    [Fact]
    public async Task A_fetch_cut_off_and_resumed_delivers_every_allowed_record_exactly_once()
    {
        var requestId = await ApprovedRequestAsync();
        var received = new List<DeliveredRecord>();
        string token;
        using (var call = _host.Deliveries().FetchDelivery(new FetchDeliveryRequest { DataRequestId = requestId, PageSize = 4 },
                   cancellationToken: TestContext.Current.CancellationToken))
        {
            var stream = call.ResponseStream;
            Assert.True(await stream.MoveNext(TestContext.Current.CancellationToken));
            for (var page = 0; page < 3; page++)
            {
                Assert.True(await stream.MoveNext(TestContext.Current.CancellationToken));
                received.AddRange(stream.Current.Page.Records);
            }

            token = stream.Current.Page.ResumeToken;
            // Read one page more and drop it: it was sent but, as far as the client knows, never received.
            Assert.True(await stream.MoveNext(TestContext.Current.CancellationToken));
        }

        var rest = await FetchAsync(new FetchDeliveryRequest { ResumeToken = token, PageSize = 4 });

        Assert.Equal(3, rest[0].Started.ResumedAfterPage);
        received.AddRange(Records(rest));
        Assert.Equal(Consenting * RecordsPerSubject, received.Count);
        Assert.Equal(received.Count, received.Select(r => r.RecordKey).Distinct().Count());
        var summary = rest[^1].Summary;
        Assert.Equal(Consenting * RecordsPerSubject, summary.DeliveredRecords);
        Assert.Equal((long)(Subjects - Consenting) * RecordsPerSubject, summary.Withheld.Sum(w => w.Records));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => FetchAsync(new FetchDeliveryRequest { ResumeToken = token }));
    }

    [Fact]
    public async Task Deliveries_are_audited_and_disclosed_to_each_subjects_log()
    {
        var requestId = await ApprovedRequestAsync();
        var messages = await FetchAsync(new FetchDeliveryRequest { DataRequestId = requestId, PageSize = 10 });
        var deliveryId = messages[0].Started.DeliveryId;

        var page = messages[1].Page;
        var entry = (await _host.Audit().GetEntryAsync(new Audit.V1.GetEntryRequest { Sequence = page.AuditSequence })).Entry;
        Assert.Equal(("delivery.page", $"delivery/{deliveryId}"), (entry.Action, entry.Resource));
        Assert.Equal(page.Records.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), entry.Detail["delivered"]);
        Assert.DoesNotContain("s1", entry.CanonicalBytes.ToStringUtf8().Split('"'), StringComparer.Ordinal);
        // The recipient and the platform may read the entry that records their delivery.
        var platformsView = await _host.Audit(Shopwave, "platform").GetEntryAsync(new Audit.V1.GetEntryRequest { Sequence = page.AuditSequence });
        Assert.Equal(entry.LeafHash, platformsView.Entry.LeafHash);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => _host.Audit(Paylink, "platform").GetEntryAsync(new Audit.V1.GetEntryRequest { Sequence = page.AuditSequence }).ResponseAsync);

        // The entries name subjects by a hash of the delivery and the subject: two deliveries' refs never meet,
        // so no reader of the log can join one recipient's pseudonyms with another's.
        var again = await FetchAsync(new FetchDeliveryRequest { DataRequestId = requestId, PageSize = 10 });
        var againEntry = (await _host.Audit().GetEntryAsync(new Audit.V1.GetEntryRequest { Sequence = again[1].Page.AuditSequence })).Entry;
        var refs = entry.Detail["subject_refs"].Split(' ');
        Assert.Equal(Consenting, refs.Length);
        Assert.Empty(refs.Intersect(againEntry.Detail["subject_refs"].Split(' ')));

        await EventuallyAsync(async () => (await _host.Subjects().ListDisclosuresAsync(new ListDisclosuresRequest { SubjectId = "s1" })).Disclosures
            .Any(d => d.DeliveryId == deliveryId), "s1's disclosure log has the delivery");
        Assert.Empty((await _host.Subjects().ListDisclosuresAsync(new ListDisclosuresRequest { SubjectId = "s9" })).Disclosures);
    }

    /// <summary>
    /// What a subject is given through their platform: the disclosure from Consent's log, and from
    /// Exchange's log the entry it points to with an inclusion proof that checks offline against a
    /// checkpoint signed with Exchange's public log key.
    /// </summary>
    [Fact]
    public async Task A_subjects_disclosure_points_to_its_audit_entry_whose_proof_checks_offline()
    {
        var requestId = await ApprovedRequestAsync();
        var messages = await FetchAsync(new FetchDeliveryRequest { DataRequestId = requestId, PageSize = 10 });
        var deliveryId = messages[0].Started.DeliveryId;
        await EventuallyAsync(async () => (await _host.Subjects().ListDisclosuresAsync(new ListDisclosuresRequest { SubjectId = "s1" })).Disclosures
            .Any(d => d.DeliveryId == deliveryId), "s1's disclosure log has the delivery");

        var disclosure = (await _host.Subjects().ListDisclosuresAsync(new ListDisclosuresRequest { SubjectId = "s1" })).Disclosures.Single(d => d.DeliveryId == deliveryId);
        Assert.True(disclosure.HasAuditEntry);
        // r001 is s1's first record, in the first page.
        Assert.Equal(messages[1].Page.AuditSequence, disclosure.AuditSequence);

        var key = await _host.Audit(Shopwave, "platform").GetLogPublicKeyAsync(new Audit.V1.GetLogPublicKeyRequest());
        var proven = await _host.Audit(Shopwave, "platform").GetEntryAsync(new Audit.V1.GetEntryRequest { Sequence = disclosure.AuditSequence });
        Assert.Equal($"delivery/{deliveryId}", proven.Entry.Resource);
        var note = BuildingBlocks.Audit.SignedNote.Parse(proven.Checkpoint.Note);
        Assert.NotNull(note);
        Assert.True(note.IsSignedBy(new BuildingBlocks.Audit.NoteKey(key.KeyName, key.PublicKey.ToByteArray())));
        var checkpoint = BuildingBlocks.Audit.Checkpoint.Parse(note.Text)!;
        var leaf = System.Security.Cryptography.SHA256.HashData([0x00, .. proven.Entry.CanonicalBytes.ToByteArray()]);
        Assert.Equal(proven.Entry.LeafHash.ToByteArray(), leaf);
        Assert.True(BuildingBlocks.Audit.InclusionProof.Verify(
            disclosure.AuditSequence, checkpoint.TreeSize, leaf, checkpoint.RootHash, proven.InclusionPath.Select(h => h.ToByteArray()).ToList()));
    }

    [Fact]
    public async Task A_purge_attested_leaves_the_overdue_list()
    {
        var requestId = await ApprovedRequestAsync();
        var deliveryId = (await FetchAsync(new FetchDeliveryRequest { DataRequestId = requestId }))[0].Started.DeliveryId;
        Assert.Empty((await _host.Deliveries(Regulator, "regulator").ListOverdueDeliveriesAsync(new ListOverdueDeliveriesRequest())).Deliveries);

        _host.Time.Advance(TimeSpan.FromDays(8));
        Assert.Equal(deliveryId, Assert.Single((await _host.Deliveries(Regulator, "regulator").ListOverdueDeliveriesAsync(new ListOverdueDeliveriesRequest())).Deliveries).Id);
        Assert.Single((await _host.Deliveries(Shopwave, "platform").ListOverdueDeliveriesAsync(new ListOverdueDeliveriesRequest())).Deliveries);
        Assert.Empty((await _host.Deliveries(Paylink, "platform").ListOverdueDeliveriesAsync(new ListOverdueDeliveriesRequest())).Deliveries);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => _host.Deliveries().ListOverdueDeliveriesAsync(new ListOverdueDeliveriesRequest()).ResponseAsync);

        var attest = new AttestPurgeRequest
        {
            RequestId = "purge", DeliveryId = deliveryId, PurgeTime = Timestamp.FromDateTimeOffset(_host.Time.GetUtcNow().AddHours(-1)), Statement = "deleted from all stores",
        };
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => _host.Deliveries(HealthAgency).AttestPurgeAsync(attest).ResponseAsync);
        var attested = (await _host.Deliveries().AttestPurgeAsync(attest)).Delivery;

        Assert.NotNull(attested.PurgeAttestTime);
        Assert.Equal("deleted from all stores", attested.PurgeStatement);
        Assert.Equal(attested, (await _host.Deliveries().AttestPurgeAsync(attest)).Delivery);
        Assert.Empty((await _host.Deliveries(Regulator, "regulator").ListOverdueDeliveriesAsync(new ListOverdueDeliveriesRequest())).Deliveries);
        attest.RequestId = "purge-again";
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => _host.Deliveries().AttestPurgeAsync(attest).ResponseAsync);
        // A purged delivery does not resume: nothing may leave after its attestation.
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => FetchAsync(new FetchDeliveryRequest { ResumeToken = Application.Deliveries.ResumeToken(deliveryId, 1) }));
    }

    /// <summary>
    /// A delivery of two platforms' datasets: each platform reads its own share (its records' counts
    /// and deadline), never the other's, and is shown the delivery overdue by its own deadline.
    /// </summary>
    [Fact]
    public async Task A_platform_sees_its_own_share_of_a_delivery_that_carried_another_platforms_data()
    {
        var paylinkDataset = await VaultUploadTests.PublishAsync(_host, Paylink);
        await VaultUploadTests.UploadAsAsync(_host, Paylink, paylinkDataset, "paylink", Enumerable.Range(0, 4).Select(i => VaultUploadTests.NewRecord($"p{i}", $"p{i}")));
        foreach (var subject in new[] { "p0", "p1" })
        {
            var grant = DeliveryGrants.For(_host, subject);
            grant.Terms.DataLife = Duration.FromTimeSpan(TimeSpan.FromDays(1));
            await _host.Consent(Paylink).GrantConsentAsync(grant);
        }

        await _host.ActivateAllianceAsync();
        var request = (await _host.Requests().CreateDataRequestAsync(new CreateDataRequestRequest
        {
            RequestId = Guid.NewGuid().ToString("N"), DatasetIds = { _datasetId, paylinkDataset }, Purpose = "credit_assessment", Fields = { "amount" },
        })).DataRequest;
        var messages = await FetchAsync(new FetchDeliveryRequest { DataRequestId = request.Id, PageSize = 7 });
        var deliveryId = messages[0].Started.DeliveryId;
        var started = DateTimeOffset.FromUnixTimeMilliseconds(_host.Time.GetUtcNow().ToUnixTimeMilliseconds());

        Delivery As(string organisation, string kind) =>
            _host.Deliveries(organisation, kind).GetDelivery(new GetDeliveryRequest { DeliveryId = deliveryId }).Delivery;
        var whole = As(CreditBureau, "institution");
        var shopwave = As(Shopwave, "platform");
        var paylink = As(Paylink, "platform");
        Assert.Equal((Consenting * RecordsPerSubject + 2, (Subjects - Consenting) * RecordsPerSubject + 2), (whole.DeliveredRecords, whole.Withheld.Sum(w => w.Records)));
        Assert.Equal((Consenting * RecordsPerSubject, (Subjects - Consenting) * RecordsPerSubject), (shopwave.DeliveredRecords, shopwave.Withheld.Sum(w => w.Records)));
        Assert.Equal((2L, 2L), (paylink.DeliveredRecords, paylink.Withheld.Sum(w => w.Records)));
        Assert.Equal(started.AddDays(1), whole.RetentionDeadline.ToDateTimeOffset());
        Assert.Equal(started.AddDays(7), shopwave.RetentionDeadline.ToDateTimeOffset());
        Assert.Equal(started.AddDays(1), paylink.RetentionDeadline.ToDateTimeOffset());
        Assert.Equal(shopwave, Assert.Single((await _host.Deliveries(Shopwave, "platform").ListDeliveriesAsync(new ListDeliveriesRequest())).Deliveries));

        _host.Time.Advance(TimeSpan.FromDays(2));
        Assert.Equal(deliveryId, Assert.Single((await _host.Deliveries(Regulator, "regulator").ListOverdueDeliveriesAsync(new ListOverdueDeliveriesRequest())).Deliveries).Id);
        Assert.Equal(deliveryId, Assert.Single((await _host.Deliveries(Paylink, "platform").ListOverdueDeliveriesAsync(new ListOverdueDeliveriesRequest())).Deliveries).Id);
        Assert.Empty((await _host.Deliveries(Shopwave, "platform").ListOverdueDeliveriesAsync(new ListOverdueDeliveriesRequest())).Deliveries);
    }

    [Fact]
    public async Task Only_the_requesting_institution_fetches_and_bad_fetches_name_their_fields()
    {
        var requestId = await ApprovedRequestAsync();
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => FetchAsync(new FetchDeliveryRequest { DataRequestId = requestId }, HealthAgency));
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => FetchAsync(new FetchDeliveryRequest { DataRequestId = Guid.NewGuid().ToString() }));
        Assert.Equal(["data_request_id", "page_size"], await RpcAssert.InvalidFieldsAsync(
            () => FetchAsync(new FetchDeliveryRequest { DataRequestId = "x", PageSize = 1001 })));
        Assert.Equal(["data_request_id", "resume_token"], await RpcAssert.InvalidFieldsAsync(
            () => FetchAsync(new FetchDeliveryRequest { DataRequestId = requestId, ResumeToken = "garbage" })));
        Assert.Equal(["resume_token"], await RpcAssert.InvalidFieldsAsync(
            () => FetchAsync(new FetchDeliveryRequest { ResumeToken = BuildingBlocks.Data.PageToken.Encode("not-a-delivery", "1") })));
        Assert.Equal(["request_id", "delivery_id", "purge_time", "statement"], await RpcAssert.InvalidFieldsAsync(
            () => _host.Deliveries().AttestPurgeAsync(new AttestPurgeRequest()).ResponseAsync));
    }

    [Fact]
    public async Task An_erasure_purges_the_subjects_records_from_that_platforms_datasets_and_is_confirmed()
    {
        var requestId = await ApprovedRequestAsync(identified: true);
        var otherPlatforms = await VaultUploadTests.PublishAsync(_host, Paylink);
        await VaultUploadTests.UploadAsAsync(_host, Paylink, otherPlatforms, "paylink", [VaultUploadTests.NewRecord("p1", "s2")]);

        var erasure = (await _host.Subjects().RequestErasureAsync(new RequestErasureRequest { RequestId = "erase-s2", SubjectId = "s2" })).ErasureRequest;

        await EventuallyAsync(async () => (await _host.Subjects().GetErasureRequestAsync(new GetErasureRequestRequest { ErasureRequestId = erasure.Id }))
            .ErasureRequest.State == ErasureState.Completed, "Consent has the erasure's confirmation");
        var confirmed = (await _host.Subjects().GetErasureRequestAsync(new GetErasureRequestRequest { ErasureRequestId = erasure.Id })).ErasureRequest;
        Assert.Equal(RecordsPerSubject, confirmed.ErasedRecordCount);
        Assert.Equal(Subjects * RecordsPerSubject - RecordsPerSubject,
            (await _host.Catalog().GetDatasetAsync(new GetDatasetRequest { DatasetId = _datasetId })).Dataset.RecordCount);
        // Another platform's record of the same subject stays: the request was made through shopwave.
        Assert.Equal(1, (await _host.Catalog().GetDatasetAsync(new GetDatasetRequest { DatasetId = otherPlatforms })).Dataset.RecordCount);

        var messages = await FetchAsync(new FetchDeliveryRequest { DataRequestId = requestId });
        Assert.DoesNotContain(Records(messages), r => r.Subject == "s2");
        // Gone, not withheld: the erasure also revoked s2's consents, but there is nothing of s2 left to withhold.
        Assert.DoesNotContain(messages[^1].Summary.Withheld, w => w.Reason == "DENY_REASON_REVOKED");
        var entries = (await _host.Audit().ListEntriesAsync(new Audit.V1.ListEntriesRequest { Action = "vault.subject_erased", SubjectId = "s2" })).Entries;
        Assert.Equal(RecordsPerSubject.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(entries).Detail["erased"]);
    }

    [Fact]
    public async Task A_consent_limited_to_record_times_lets_only_those_records_leave_and_a_request_for_named_subjects_reads_only_theirs()
    {
        var records = new[] { new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero) }
            .Select((at, i) =>
            {
                var record = VaultUploadTests.NewRecord($"t{i}", "timed");
                record.OccurTime = Timestamp.FromDateTimeOffset(at);
                return record;
            });
        await VaultUploadTests.UploadAsync(_host, _datasetId, "timed", records);
        var grant = Grant("timed");
        grant.Terms.RecordTimeRange = new TimeRange
        {
            StartTime = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero)),
            EndTime = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)),
        };
        await _host.Consent().GrantConsentAsync(grant);
        await _host.ActivateAllianceAsync(identified: true);
        var request = (await _host.Requests().CreateDataRequestAsync(new CreateDataRequestRequest
        {
            RequestId = "timed", DatasetIds = { _datasetId }, Purpose = "credit_assessment", Fields = { "amount" }, SubjectIds = { "timed", "s1" },
        })).DataRequest;
        Assert.Equal(2, request.SubjectCount);

        var messages = await FetchAsync(new FetchDeliveryRequest { DataRequestId = request.Id });

        Assert.Equal(["s1", "s1", "s1", "timed", "timed"], Records(messages).Select(r => r.Subject).Order());
        Assert.Equal(["t1", "t2"], Records(messages).Where(r => r.Subject == "timed").Select(r => r.RecordKey).Order());
        var withheld = Assert.Single(messages[^1].Summary.Withheld);
        Assert.Equal(("DENY_REASON_RECORD_TIME_NOT_COVERED", 1L), (withheld.Reason, withheld.Records));
    }

    /// <summary>
    /// A delivery is one use of a consent, however many pages carry the subject: a consent allowing one
    /// delivery a day lets every page of the first through, and holds the subject out of the next delivery.
    /// </summary>
    [Fact]
    public async Task A_frequency_limit_counts_a_delivery_once_across_its_pages_and_stops_the_next()
    {
        await VaultUploadTests.UploadAsync(_host, _datasetId, "limited", Enumerable.Range(0, 6).Select(i => VaultUploadTests.NewRecord($"f{i}", "limited")));
        var grant = Grant("limited");
        grant.Terms.FrequencyLimit = new FrequencyLimit { MaxDeliveries = 1, Period = FrequencyPeriod.Day };
        await _host.Consent().GrantConsentAsync(grant);
        await _host.ActivateAllianceAsync(identified: true);
        var request = (await _host.Requests().CreateDataRequestAsync(new CreateDataRequestRequest
        {
            RequestId = "limited", DatasetIds = { _datasetId }, Purpose = "credit_assessment", Fields = { "amount" }, SubjectIds = { "limited" },
        })).DataRequest;

        // Pages of two: the subject is in three pages of the first delivery.
        var first = await FetchAsync(new FetchDeliveryRequest { DataRequestId = request.Id, PageSize = 2 });
        Assert.Equal(6, Records(first).Count());
        Assert.Empty(first[^1].Summary.Withheld);

        await EventuallyAsync(async () => (await _host.Subjects().ListDisclosuresAsync(new ListDisclosuresRequest { SubjectId = "limited" })).Disclosures.Count == 1,
            "Consent counted the first delivery");
        var second = await FetchAsync(new FetchDeliveryRequest { DataRequestId = request.Id, PageSize = 2 });
        Assert.Empty(Records(second));
        Assert.Equal(("DENY_REASON_FREQUENCY_EXHAUSTED", 6L), (Assert.Single(second[^1].Summary.Withheld).Reason, second[^1].Summary.Withheld[0].Records));
    }

    [Fact]
    public async Task A_rejected_request_delivers_nothing()
    {
        var rejected = (await _host.Requests().CreateDataRequestAsync(new CreateDataRequestRequest
        {
            RequestId = "no-alliance", DatasetIds = { _datasetId }, Purpose = "credit_assessment", Fields = { "amount" },
        })).DataRequest;

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => FetchAsync(new FetchDeliveryRequest { DataRequestId = rejected.Id }));
    }
}

/// <summary>A consent ShopWave could grant as it is: the subject's transactions to a recipient for credit assessment, STORE for seven days.</summary>
internal static class DeliveryGrants
{
    public static GrantConsentRequest For(ExchangeTestHost host, string subject, string recipient = CreditBureau)
    {
        var now = host.Time.GetUtcNow();
        return new GrantConsentRequest
        {
            RequestId = Guid.NewGuid().ToString("N"),
            SubjectId = subject,
            Terms = new ConsentTerms
            {
                RecipientId = recipient,
                Purpose = "credit_assessment",
                DataCategories = { "user.financial.transactions" },
                ValidUntil = Timestamp.FromDateTimeOffset(now.AddDays(90)),
                Mode = ConsentMode.Store,
                DataLife = Duration.FromTimeSpan(TimeSpan.FromDays(7)),
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
            },
        };
    }
}
