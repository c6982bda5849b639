using Grpc.Core;
using Oversight.Exchange.V1;
using Oversight.Testing;
using static Oversight.Exchange.Tests.ExchangeTestHost;

namespace Oversight.Exchange.Tests;

/// <summary>
/// Exchange's database on a real SQL Server, when <c>OVERSIGHT_SQLSERVER</c> names one (Consent
/// beside it stays on SQLite). Each test migrates a database of its own and drops it. What SQL Server
/// decides here — the keyset pages under a binary collation, LIKE with escapes, the upsert of the
/// alliance read model (MERGE), the primary keys that make uploads and inbox records idempotent,
/// the delivery's optimistic version — is what these check.
/// </summary>
[Collection("SQL Server")]
public sealed class SqlServerTests
{
    private static async Task RunAsync(Func<ExchangeTestHost, Task> test)
    {
        var server = await RealInfrastructure.SqlServerAsync();
        var database = $"oversight_exchange_test_{Guid.NewGuid():N}";
        ExchangeTestHost? host = null;
        try
        {
            host = await StartAsync(settings =>
            {
                settings["Oversight:Exchange:Database:Provider"] = "SqlServer";
                settings["Oversight:Exchange:Database:ConnectionString"] = RealInfrastructure.SqlServerDatabase(server, database);
            });
            await test(host);
        }
        finally
        {
            if (host is not null)
            {
                await host.DisposeAsync();
            }

            await RealInfrastructure.DropSqlServerDatabaseAsync(server, database);
        }
    }

    [Fact]
    public Task The_catalog_pages_and_searches_on_sql_server() => RunAsync(async host =>
    {
        foreach (var name in new[] { "Card transactions", "Accounts", "Deliveries 100%_done", "Credit lines" })
        {
            await host.Catalog().PublishDatasetAsync(CatalogTests.Transactions(name));
        }

        var names = new List<string>();
        var token = "";
        do
        {
            var page = await host.Catalog().ListDatasetsAsync(new ListDatasetsRequest { PageSize = 3, PageToken = token });
            names.AddRange(page.Datasets.Select(d => d.Name));
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Equal(["Accounts", "Card transactions", "Credit lines", "Deliveries 100%_done"], names);
        Assert.Equal(["Deliveries 100%_done"], (await host.Catalog().ListDatasetsAsync(new ListDatasetsRequest { Query = "0%_D" })).Datasets.Select(d => d.Name));
        Assert.Equal(4, (await host.Catalog().ListDatasetsAsync(new ListDatasetsRequest { DataCategory = "user.financial" })).Datasets.Count);
    });

    [Fact]
    public Task Uploads_requests_deliveries_resumes_and_erasures_hold_on_sql_server() => RunAsync(async host =>
    {
        var datasetId = await VaultUploadTests.PublishAsync(host);
        var first = await VaultUploadTests.UploadAsync(host, datasetId, "u1", Enumerable.Range(0, 12).Select(i => VaultUploadTests.NewRecord($"r{i:D2}", $"s{i % 4}")));
        var again = await VaultUploadTests.UploadAsync(host, datasetId, "u2", [VaultUploadTests.NewRecord("r00", "s0"), VaultUploadTests.NewRecord("r01", "s1", amount: "1.00")]);
        Assert.Equal(12, first.Accepted);
        Assert.Equal((1, 1, 1), (again.Accepted, again.Replaced, again.Unchanged));
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => VaultUploadTests.UploadAsync(host, datasetId, "u1", [VaultUploadTests.NewRecord("r99")]));

        for (var s = 0; s < 3; s++)
        {
            await host.Consent().GrantConsentAsync(DeliveryGrants.For(host, $"s{s}"));
        }

        await host.ActivateAllianceAsync(identified: true);
        var request = (await host.Requests().CreateDataRequestAsync(new CreateDataRequestRequest
        {
            RequestId = "sql", DatasetIds = { datasetId }, Purpose = "credit_assessment", Fields = { "amount" },
        })).DataRequest;
        Assert.Equal(V1.DataRequestState.Approved, request.State);

        // Cut off after two pages of four, then resumed from the second.
        var received = new List<DeliveredRecord>();
        string resume;
        using (var call = host.Deliveries().FetchDelivery(new FetchDeliveryRequest { DataRequestId = request.Id, PageSize = 4 }))
        {
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            received.AddRange(call.ResponseStream.Current.Page.Records);
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            received.AddRange(call.ResponseStream.Current.Page.Records);
            resume = call.ResponseStream.Current.Page.ResumeToken;
        }

        using (var call = host.Deliveries().FetchDelivery(new FetchDeliveryRequest { ResumeToken = resume, PageSize = 4 }))
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync())
            {
                received.AddRange(message.Page?.Records ?? []);
            }
        }

        Assert.Equal(9, received.Count);
        Assert.Equal(9, received.Select(r => r.RecordKey).Distinct().Count());

        var erasure = (await host.Subjects().RequestErasureAsync(new Consent.V1.RequestErasureRequest { RequestId = "erase", SubjectId = "s2" })).ErasureRequest;
        await EventuallyAsync(async () => (await host.Subjects().GetErasureRequestAsync(new Consent.V1.GetErasureRequestRequest { ErasureRequestId = erasure.Id }))
            .ErasureRequest.ErasedRecordCount == 3, "the erasure is confirmed with its three records");
        Assert.Equal(9, (await host.Catalog().GetDatasetAsync(new GetDatasetRequest { DatasetId = datasetId })).Dataset.RecordCount);

        host.Time.Advance(TimeSpan.FromDays(8));
        Assert.Single((await host.Deliveries(Regulator, "regulator").ListOverdueDeliveriesAsync(new ListOverdueDeliveriesRequest())).Deliveries);
    });
}
