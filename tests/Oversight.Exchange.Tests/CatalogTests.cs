using Grpc.Core;
using Oversight.Exchange.V1;
using Oversight.Testing;
using static Oversight.Exchange.Tests.ExchangeTestHost;

namespace Oversight.Exchange.Tests;

public sealed class CatalogTests : IAsyncLifetime
{
    private ExchangeTestHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await StartAsync();

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    public static PublishDatasetRequest Transactions(string name = "Card transactions", string category = "user.financial.transactions") => new()
    {
        RequestId = Guid.NewGuid().ToString("N"),
        Name = name,
        DataCategory = category,
        Description = "Every card payment a shopper made, with its merchant.",
        Fields =
        {
            new DatasetField { Name = "amount", Type = FieldType.Decimal, Sensitivity = FieldSensitivity.Sensitive, Required = true },
            new DatasetField { Name = "merchant", Type = FieldType.String, Sensitivity = FieldSensitivity.Ordinary, Required = true },
            new DatasetField { Name = "paid_on", Type = FieldType.Date, Sensitivity = FieldSensitivity.Ordinary },
        },
    };

    [Fact]
    public async Task A_platform_publishes_a_dataset_that_anyone_can_read()
    {
        var published = (await _host.Catalog().PublishDatasetAsync(Transactions())).Dataset;

        Assert.Equal(Shopwave, published.OwnerId);
        Assert.Equal(DatasetState.Published, published.State);
        Assert.Equal(["amount", "merchant", "paid_on"], published.Fields.Select(f => f.Name));
        Assert.Equal(FieldType.Decimal, published.Fields[0].Type);
        Assert.True(published.Fields[0].Required);
        var read = (await _host.Catalog(CreditBureau, "institution").GetDatasetAsync(new GetDatasetRequest { DatasetId = published.Id })).Dataset;
        Assert.Equal(published, read);
    }

    [Fact]
    public async Task Publishing_is_audited_on_the_exchange_log()
    {
        var published = (await _host.Catalog().PublishDatasetAsync(Transactions())).Dataset;

        var entries = (await _host.Audit().ListEntriesAsync(new Audit.V1.ListEntriesRequest { Resource = $"dataset/{published.Id}" })).Entries;
        var entry = Assert.Single(entries);
        Assert.Equal("dataset.published", entry.Action);
        Assert.Equal(Shopwave, entry.ActorId);
        Assert.Equal("user.financial.transactions", entry.Detail["data_category"]);
    }

    [Fact]
    public async Task A_category_outside_consents_taxonomy_is_refused_with_its_field()
    {
        var fields = await RpcAssert.InvalidFieldsAsync(() => _host.Catalog().PublishDatasetAsync(Transactions(category: "user.financial.horoscope")).ResponseAsync);

        Assert.Equal(["data_category"], fields);
    }

    [Fact]
    public async Task A_malformed_dataset_is_refused_naming_every_field()
    {
        var request = Transactions(name: "");
        request.DataCategory = "User Financial";
        request.Fields.Add(new DatasetField { Name = "Amount!", Type = FieldType.Unspecified, Sensitivity = FieldSensitivity.Unspecified });
        request.Fields.Add(new DatasetField { Name = "merchant", Type = FieldType.String, Sensitivity = FieldSensitivity.Ordinary });

        var fields = await RpcAssert.InvalidFieldsAsync(() => _host.Catalog().PublishDatasetAsync(request).ResponseAsync);

        Assert.Equal(["name", "data_category", "fields[3].name", "fields[3].type", "fields[3].sensitivity", "fields[4].name"], fields);
    }

    [Fact]
    public async Task A_dataset_without_fields_is_refused()
    {
        var request = Transactions();
        request.Fields.Clear();

        Assert.Equal(["fields"], await RpcAssert.InvalidFieldsAsync(() => _host.Catalog().PublishDatasetAsync(request).ResponseAsync));
    }

    [Fact]
    public async Task Only_platforms_publish_and_the_refusal_is_audited()
    {
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => _host.Catalog(CreditBureau, "institution").PublishDatasetAsync(Transactions()).ResponseAsync);

        var denial = Assert.Single(await _host.DenialsAsync());
        Assert.Equal(CreditBureau, denial.ActorId);
        Assert.Equal("refused", denial.Outcome);
    }

    [Fact]
    public async Task A_repeated_publish_answers_as_the_first_and_a_different_body_under_its_id_fails()
    {
        var request = Transactions();
        var first = (await _host.Catalog().PublishDatasetAsync(request)).Dataset;
        var again = (await _host.Catalog().PublishDatasetAsync(request)).Dataset;
        Assert.Equal(first, again);

        var changed = request.Clone();
        changed.Name = "Another name";
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => _host.Catalog().PublishDatasetAsync(changed).ResponseAsync);
        var all = (await _host.Catalog().ListDatasetsAsync(new ListDatasetsRequest())).Datasets;
        Assert.Single(all);
    }

    [Fact]
    public async Task Only_the_owner_retires_and_a_retired_dataset_leaves_the_default_listing()
    {
        var dataset = (await _host.Catalog().PublishDatasetAsync(Transactions())).Dataset;
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => _host.Catalog(Paylink).RetireDatasetAsync(
            new RetireDatasetRequest { RequestId = "r1", DatasetId = dataset.Id }).ResponseAsync);

        var retired = (await _host.Catalog().RetireDatasetAsync(new RetireDatasetRequest { RequestId = "r2", DatasetId = dataset.Id })).Dataset;

        Assert.Equal(DatasetState.Retired, retired.State);
        Assert.NotNull(retired.RetireTime);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => _host.Catalog().RetireDatasetAsync(
            new RetireDatasetRequest { RequestId = "r3", DatasetId = dataset.Id }).ResponseAsync);
        Assert.Empty((await _host.Catalog().ListDatasetsAsync(new ListDatasetsRequest())).Datasets);
        Assert.Single((await _host.Catalog().ListDatasetsAsync(new ListDatasetsRequest { IncludeRetired = true })).Datasets);
    }

    [Fact]
    public async Task The_listing_pages_by_name_and_filters_by_owner_category_subtree_and_text()
    {
        await _host.Catalog().PublishDatasetAsync(Transactions("Card transactions"));
        await _host.Catalog().PublishDatasetAsync(Transactions("Credit lines", "user.financial.credit"));
        await _host.Catalog(Paylink).PublishDatasetAsync(Transactions("Accounts", "user.financial.account"));
        await _host.Catalog(Paylink).PublishDatasetAsync(Transactions("Deliveries 100%_done", "user.behavior.delivery"));

        var names = new List<string>();
        var token = "";
        do
        {
            var page = await _host.Catalog().ListDatasetsAsync(new ListDatasetsRequest { PageSize = 3, PageToken = token });
            names.AddRange(page.Datasets.Select(d => d.Name));
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Equal(["Accounts", "Card transactions", "Credit lines", "Deliveries 100%_done"], names);
        Assert.Equal(["Accounts", "Deliveries 100%_done"], await NamesAsync(new ListDatasetsRequest { OwnerId = Paylink }));
        Assert.Equal(["Accounts", "Card transactions", "Credit lines"], await NamesAsync(new ListDatasetsRequest { DataCategory = "user.financial" }));
        Assert.Equal(["Credit lines"], await NamesAsync(new ListDatasetsRequest { DataCategory = "user.financial.credit" }));
        Assert.Equal(["Card transactions"], await NamesAsync(new ListDatasetsRequest { Query = "CARD TRANS" }));
        Assert.Equal(4, (await NamesAsync(new ListDatasetsRequest { Query = "every card payment" })).Count);
        // LIKE's wildcards in the query are taken literally.
        Assert.Equal(["Deliveries 100%_done"], await NamesAsync(new ListDatasetsRequest { Query = "0%_d" }));
        Assert.Empty(await NamesAsync(new ListDatasetsRequest { Query = "%" + "_" + "x" }));
    }

    [Fact]
    public async Task Bad_listing_and_lookup_arguments_name_their_fields()
    {
        Assert.Equal(["page_size", "page_token", "owner_id", "data_category"], await RpcAssert.InvalidFieldsAsync(() => _host.Catalog().ListDatasetsAsync(
            new ListDatasetsRequest { PageSize = -1, PageToken = "not-a-token", OwnerId = "Bad Owner", DataCategory = "Not.A.Category!" }).ResponseAsync));
        Assert.Equal(["dataset_id"], await RpcAssert.InvalidFieldsAsync(() => _host.Catalog().GetDatasetAsync(new GetDatasetRequest { DatasetId = "x" }).ResponseAsync));
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _host.Catalog().GetDatasetAsync(new GetDatasetRequest { DatasetId = Guid.NewGuid().ToString() }).ResponseAsync);
    }

    private async Task<IReadOnlyList<string>> NamesAsync(ListDatasetsRequest request) =>
        (await _host.Catalog().ListDatasetsAsync(request)).Datasets.Select(d => d.Name).ToList();
}
