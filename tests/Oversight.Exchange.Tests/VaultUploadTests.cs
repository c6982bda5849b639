using System.Text;
using Dapper;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Oversight.Exchange.Infrastructure;
using Oversight.Exchange.Infrastructure.Vault;
using Oversight.Exchange.V1;
using Oversight.Testing;
using static Oversight.Exchange.Tests.ExchangeTestHost;

namespace Oversight.Exchange.Tests;

public sealed class VaultUploadTests : IAsyncLifetime
{
    private ExchangeTestHost _host = null!;
    private string _datasetId = "";

    public async ValueTask InitializeAsync()
    {
        _host = await StartAsync();
        _datasetId = await PublishAsync(_host);
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    public static async Task<string> PublishAsync(ExchangeTestHost host, string owner = Shopwave) =>
        (await host.Catalog(owner).PublishDatasetAsync(CatalogTests.Transactions())).Dataset.Id;

    public static VaultRecord NewRecord(string key, string subject = "subject-1", string amount = "12.50", string merchant = "Corner Shop") => new()
    {
        RecordKey = key,
        SubjectId = subject,
        OccurTime = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 11, 30, 9, 15, 0, TimeSpan.Zero)),
        Fields = { ["amount"] = amount, ["merchant"] = merchant, ["paid_on"] = "2026-11-30" },
    };

    /// <summary>Streams the batches as one upload and returns its account.</summary>
    public static Task<Upload> UploadAsync(ExchangeTestHost host, string datasetId, string uploadId, params IEnumerable<VaultRecord>[] batches) =>
        UploadAsAsync(host, Shopwave, datasetId, uploadId, batches);

    public static async Task<Upload> UploadAsAsync(ExchangeTestHost host, string owner, string datasetId, string uploadId, params IEnumerable<VaultRecord>[] batches)
    {
        using var call = host.Vault(owner).UploadRecords();
        foreach (var batch in batches)
        {
            await call.RequestStream.WriteAsync(new UploadRecordsRequest { UploadId = uploadId, DatasetId = datasetId, Records = { batch } });
        }

        await call.RequestStream.CompleteAsync();
        return (await call.ResponseAsync).Upload;
    }

    [Fact]
    public async Task An_upload_stores_its_batches_and_counts_them()
    {
        var upload = await UploadAsync(_host, _datasetId, "u1",
            Enumerable.Range(0, 300).Select(i => NewRecord($"r{i}", $"subject-{i % 40}")),
            Enumerable.Range(300, 200).Select(i => NewRecord($"r{i}", $"subject-{i % 40}")));

        Assert.Equal(UploadState.Completed, upload.State);
        Assert.Equal((2, 500, 0, 0, 0), (upload.Batches, upload.Accepted, upload.Replaced, upload.Unchanged, upload.Rejected));
        Assert.NotNull(upload.CompleteTime);
        var dataset = (await _host.Catalog().GetDatasetAsync(new GetDatasetRequest { DatasetId = _datasetId })).Dataset;
        Assert.Equal(500, dataset.RecordCount);
        Assert.Equal(500, await CountAsync("SELECT COUNT(*) FROM vault_record"));
    }

    [Fact]
    public async Task The_same_record_again_is_unchanged_and_a_changed_one_replaces_it()
    {
        await UploadAsync(_host, _datasetId, "first", [NewRecord("a"), NewRecord("b"), NewRecord("c")]);

        var again = await UploadAsync(_host, _datasetId, "second", [NewRecord("a"), NewRecord("b", amount: "99.00"), NewRecord("d")]);

        Assert.Equal((2, 1, 1, 0), (again.Accepted, again.Replaced, again.Unchanged, again.Rejected));
        Assert.Equal(4, (await _host.Catalog().GetDatasetAsync(new GetDatasetRequest { DatasetId = _datasetId })).Dataset.RecordCount);
        Assert.Equal(4, await CountAsync("SELECT COUNT(*) FROM vault_record"));
    }

    [Fact]
    public async Task A_key_repeated_within_a_batch_is_counted_as_if_it_came_later()
    {
        var upload = await UploadAsync(_host, _datasetId, "u", [NewRecord("a"), NewRecord("a"), NewRecord("a", amount: "1.00")]);

        Assert.Equal((2, 1, 1), (upload.Accepted, upload.Replaced, upload.Unchanged));
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM vault_record"));
    }

    [Theory]
    [InlineData("2.00", "1.00", 2, 2, 0)]
    [InlineData("1.00", "2.00", 1, 1, 1)]
    public async Task A_stored_key_repeated_within_a_batch_counts_each_version_against_the_one_before(
        string first, string second, long accepted, long replaced, long unchanged)
    {
        await UploadAsync(_host, _datasetId, "stored", [NewRecord("a", amount: "1.00")]);

        var upload = await UploadAsync(_host, _datasetId, "again", [NewRecord("a", amount: first), NewRecord("a", amount: second)]);

        Assert.Equal((accepted, replaced, unchanged), (upload.Accepted, upload.Replaced, upload.Unchanged));
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM vault_record"));
    }

    [Fact]
    public async Task Records_that_break_the_schema_are_refused_with_the_field_and_the_rest_are_stored()
    {
        var unknownField = NewRecord("unknown");
        unknownField.Fields["colour"] = "red";
        var noTime = NewRecord("no-time");
        noTime.OccurTime = null;
        var missing = NewRecord("missing");
        missing.Fields.Remove("merchant");
        var badDate = NewRecord("bad-date");
        badDate.Fields["paid_on"] = "30/11/2026";

        var upload = await UploadAsync(_host, _datasetId, "u", [
            NewRecord("good"), NewRecord("bad-amount", amount: "12,50"), unknownField, noTime, missing, NewRecord("no-subject", subject: " padded"), badDate,
        ]);

        Assert.Equal((1, 6), (upload.Accepted, upload.Rejected));
        Assert.Equal(
            [("bad-amount", "amount"), ("unknown", "colour"), ("no-time", ""), ("missing", "merchant"), ("no-subject", ""), ("bad-date", "paid_on")],
            upload.Rejections.Select(r => (r.RecordKey, r.Field)));
        Assert.All(upload.Rejections, r => Assert.False(string.IsNullOrWhiteSpace(r.Reason)));
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM vault_record"));
    }

    [Fact]
    public async Task The_vault_file_holds_no_plaintext_subject_or_field_value()
    {
        const string Merchant = "Zanzibar Lantern Emporium";
        const string Subject = "subject-distinctive-4711";
        await UploadAsync(_host, _datasetId, "u", Enumerable.Range(0, 50).Select(i => NewRecord($"r{i}", Subject, "8765.43", Merchant)));

        var files = Directory.GetFiles(_host.DataDirectory, "exchange.db*");
        Assert.NotEmpty(files);
        var haystack = files.SelectMany(ReadShared).ToArray();
        Assert.True(haystack.Length > 0);
        foreach (var needle in new[] { Merchant, Subject, "8765.43" })
        {
            Assert.False(Contains(haystack, Encoding.UTF8.GetBytes(needle)), $"'{needle}' is in the database file in plain text");
            Assert.False(Contains(haystack, Encoding.Unicode.GetBytes(needle)), $"'{needle}' is in the database file as UTF-16");
        }

        // The search would find it where it is: the record keys are stored as they are.
        Assert.True(Contains(haystack, Encoding.UTF8.GetBytes("r49")));
    }

    [Fact]
    public async Task A_stream_cut_off_keeps_its_committed_batches_and_can_be_continued()
    {
        using (var call = _host.Vault().UploadRecords(cancellationToken: TestContext.Current.CancellationToken))
        {
            await call.RequestStream.WriteAsync(new UploadRecordsRequest { UploadId = "cut", DatasetId = _datasetId, Records = { NewRecord("a"), NewRecord("b") } });
            await EventuallyAsync(async () => await BatchesAsync("cut") == 1, "the first batch is committed");
        }

        var cut = (await _host.Vault().GetUploadAsync(new GetUploadRequest { UploadId = "cut" })).Upload;
        Assert.Equal((UploadState.Receiving, 1, 2), (cut.State, cut.Batches, cut.Accepted));
        Assert.Null(cut.CompleteTime);

        var continued = await UploadAsync(_host, _datasetId, "cut", [NewRecord("b"), NewRecord("c")]);

        Assert.Equal((UploadState.Completed, 2, 3, 1), (continued.State, continued.Batches, continued.Accepted, continued.Unchanged));
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => UploadAsync(_host, _datasetId, "cut", [NewRecord("d")]));
    }

    /// <summary>
    /// On SQL Server an erasure can delete a record between the batch's read of the stored digests and
    /// its replace. SQLite's one writer cannot show that race, so the replace is made to find no row on
    /// purpose (a trigger that skips the update): the batch is refused as ABORTED and nothing of it is
    /// counted or stored, rather than counting a record it did not store.
    /// </summary>
    [Fact]
    public async Task A_replace_that_finds_its_record_gone_stores_nothing_of_the_batch()
    {
        await UploadAsync(_host, _datasetId, "first", [NewRecord("kept", amount: "1.00")]);
        await using (var connection = await _host.Database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("CREATE TRIGGER vanish BEFORE UPDATE ON vault_record WHEN OLD.record_key = 'kept' BEGIN SELECT RAISE(IGNORE); END;");
        }

        await RpcAssert.FailsAsync(StatusCode.Aborted, () => UploadAsync(_host, _datasetId, "second", [NewRecord("kept", amount: "2.00"), NewRecord("fresh")]));

        var second = (await _host.Vault().GetUploadAsync(new GetUploadRequest { UploadId = "second" })).Upload;
        Assert.Equal((0, 0), (second.Batches, second.Accepted));
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM vault_record"));
    }

    /// <summary>The batches read before a bad message are stored (the store runs behind the reading) before the stream is refused.</summary>
    [Fact]
    public async Task A_bad_message_refuses_the_stream_after_the_batches_before_it_are_stored()
    {
        var token = TestContext.Current.CancellationToken;
        using var call = _host.Vault().UploadRecords(cancellationToken: token);
        foreach (var key in new[] { "a", "b", "c" })
        {
            await call.RequestStream.WriteAsync(new UploadRecordsRequest { UploadId = "bad-third", DatasetId = _datasetId, Records = { NewRecord(key) } }, token);
        }

        await call.RequestStream.WriteAsync(new UploadRecordsRequest { UploadId = "bad-third", DatasetId = _datasetId }, token);

        Assert.Equal(["records"], await RpcAssert.InvalidFieldsAsync(() => call.ResponseAsync));
        var upload = (await _host.Vault().GetUploadAsync(new GetUploadRequest { UploadId = "bad-third" }, cancellationToken: token)).Upload;
        Assert.Equal((UploadState.Receiving, 3, 3), (upload.State, upload.Batches, upload.Accepted));
    }

    /// <summary>
    /// Two streams of one upload (a client retrying while its first stream still runs): each batch's
    /// counts and rejections add to the stored account, not to what a stream read when it opened.
    /// </summary>
    [Fact]
    public async Task Two_streams_of_one_upload_both_count_and_keep_their_rejections()
    {
        var token = TestContext.Current.CancellationToken;
        using var first = _host.Vault().UploadRecords(cancellationToken: token);
        await first.RequestStream.WriteAsync(new UploadRecordsRequest { UploadId = "twice", DatasetId = _datasetId, Records = { NewRecord("a") } }, token);
        await EventuallyAsync(async () => await BatchesAsync("twice") == 1, "the first stream's first batch is committed");

        using (var second = _host.Vault().UploadRecords(cancellationToken: token))
        {
            await second.RequestStream.WriteAsync(new UploadRecordsRequest { UploadId = "twice", DatasetId = _datasetId, Records = { NewRecord("b", amount: "lots") } }, token);
            await EventuallyAsync(async () => await BatchesAsync("twice") == 2, "the second stream's batch is committed");
        }

        // The first stream opened the account before the second stream's rejection was kept.
        await first.RequestStream.WriteAsync(new UploadRecordsRequest { UploadId = "twice", DatasetId = _datasetId, Records = { NewRecord("c", amount: "more") } }, token);
        await first.RequestStream.CompleteAsync();
        var upload = (await first.ResponseAsync).Upload;

        Assert.Equal((3, 1, 2), (upload.Batches, upload.Accepted, upload.Rejected));
        Assert.Equal(["b", "c"], upload.Rejections.Select(r => r.RecordKey));
    }

    [Fact]
    public async Task Only_the_owner_uploads_and_the_refusal_is_audited()
    {
        using var call = _host.Vault(Paylink).UploadRecords();
        await call.RequestStream.WriteAsync(new UploadRecordsRequest { UploadId = "u", DatasetId = _datasetId, Records = { NewRecord("a") } });
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => call.ResponseAsync);

        Assert.Equal(Paylink, Assert.Single(await _host.DenialsAsync()).ActorId);
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM vault_record"));
    }

    [Fact]
    public async Task Bad_streams_are_refused_naming_the_field()
    {
        Assert.Equal(["upload_id", "dataset_id", "records"], await RpcAssert.InvalidFieldsAsync(
            () => UploadAsync(_host, "not-a-uuid", "", Array.Empty<VaultRecord>())));
        Assert.Equal(["records"], await RpcAssert.InvalidFieldsAsync(() => UploadAsync(_host, _datasetId, "empty")));
        Assert.Equal(["dataset_id"], await RpcAssert.InvalidFieldsAsync(MixedAsync));
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => UploadAsync(_host, Guid.NewGuid().ToString(), "u", [NewRecord("a")]));
        Assert.Equal(["upload_id"], await RpcAssert.InvalidFieldsAsync(() => _host.Vault().GetUploadAsync(new GetUploadRequest()).ResponseAsync));
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _host.Vault().GetUploadAsync(new GetUploadRequest { UploadId = "never" }).ResponseAsync);
    }

    /// <summary>A stream whose second batch names another dataset.</summary>
    private async Task MixedAsync()
    {
        var other = await PublishAsync(_host);
        using var call = _host.Vault().UploadRecords();
        await call.RequestStream.WriteAsync(new UploadRecordsRequest { UploadId = "mixed", DatasetId = _datasetId, Records = { NewRecord("a") } });
        await call.RequestStream.WriteAsync(new UploadRecordsRequest { UploadId = "mixed", DatasetId = other, Records = { NewRecord("b") } });
        await call.RequestStream.CompleteAsync();
        await call.ResponseAsync;
    }

    [Fact]
    public async Task A_wrong_master_key_is_named_and_reads_nothing()
    {
        var data = NewDataDirectory();
        string datasetId;
        await using (var first = await StartAsync(settings => Key(settings, 0, "k1", Fill(1)), data))
        {
            datasetId = await PublishAsync(first);
            await UploadAsync(first, datasetId, "u", [NewRecord("a")]);
        }

        await using var second = await StartAsync(settings => Key(settings, 0, "k1", Fill(2)), data);
        var failure = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => UploadAsync(second, datasetId, "u2", [NewRecord("b")]));

        Assert.Contains("k1", failure.Status.Detail, StringComparison.Ordinal);
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task Rotating_the_master_key_rewraps_data_keys_and_keeps_every_record_readable()
    {
        var data = NewDataDirectory();
        string datasetId;
        await using (var first = await StartAsync(settings => Key(settings, 0, "k1", Fill(1)), data))
        {
            datasetId = await PublishAsync(first);
            await UploadAsync(first, datasetId, "u", Enumerable.Range(0, 20).Select(i => NewRecord($"r{i}", $"s{i}")));
        }

        await using (var rotated = await StartAsync(settings =>
        {
            Key(settings, 0, "k1", Fill(1));
            Key(settings, 1, "k2", Fill(7));
            settings["Oversight:Exchange:Vault:ActiveMasterKeyId"] = "k2";
        }, data))
        {
            await EventuallyAsync(async () => await ScalarAsync<string>(rotated, "SELECT master_key_id FROM vault_data_key") == "k2", "the data key is re-wrapped under k2");
        }

        await using var after = await StartAsync(settings => Key(settings, 0, "k2", Fill(7)), data);
        var key = await after.Services.GetRequiredService<DatasetKeys>().ForAsync(datasetId, CancellationToken.None);
        await using var connection = await after.Database.OpenAsync(CancellationToken.None);
        var rows = (await connection.QueryAsync<(string RecordKey, byte[] Sealed)>("SELECT record_key, sealed FROM vault_record ORDER BY record_key")).ToList();
        Assert.Equal(20, rows.Count);
        Assert.All(rows, row => Assert.StartsWith("s", RecordPayload.Decode(key.Open(row.RecordKey, row.Sealed)).SubjectId, StringComparison.Ordinal));
        Assert.Equal("12.50", RecordPayload.Decode(key.Open(rows[0].RecordKey, rows[0].Sealed)).Fields["amount"]);
        await after.DisposeAsync();
        Directory.Delete(data, recursive: true);
    }

    private static void Key(IDictionary<string, string?> settings, int index, string id, byte[] key)
    {
        settings[$"Oversight:Exchange:Vault:MasterKeys:{index}:Id"] = id;
        settings[$"Oversight:Exchange:Vault:MasterKeys:{index}:Key"] = Convert.ToBase64String(key);
    }

    private static byte[] Fill(byte value) => Enumerable.Repeat(value, 32).ToArray();

    /// <summary>The batches an upload committed; -1 while it is not opened yet.</summary>
    private async Task<long> BatchesAsync(string uploadId)
    {
        try
        {
            return (await _host.Vault().GetUploadAsync(new GetUploadRequest { UploadId = uploadId })).Upload.Batches;
        }
        catch (RpcException exception) when (exception.StatusCode == StatusCode.NotFound)
        {
            return -1;
        }
    }

    private Task<long> CountAsync(string sql) => ScalarAsync<long>(_host, sql);

    private static async Task<T> ScalarAsync<T>(ExchangeTestHost host, string sql)
    {
        await using var connection = await host.Database.OpenAsync(CancellationToken.None);
        return (await connection.ExecuteScalarAsync<T>(sql))!;
    }

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
