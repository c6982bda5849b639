using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Health.V1;
using Oversight.Consent.V1;

namespace Oversight.Consent.Tests;

/// <summary>Health tells the truth about the module's store, and calls fail as UNAVAILABLE while it is away.</summary>
public sealed class HealthTests
{
    private static async Task<HealthCheckResponse.Types.ServingStatus> ServingAsync(ConsentTestHost host) =>
        (await new Health.HealthClient(host.Anonymous).CheckAsync(new HealthCheckRequest { Service = ConsentService.Descriptor.FullName })).Status;

    [Fact]
    public async Task With_the_data_folder_gone_calls_are_unavailable_and_health_not_serving_until_it_is_back()
    {
        await using var host = await ConsentTestHost.StartAsync();
        var consent = await host.GrantAsync("folder-subject");
        var client = host.Consent(ConsentTestHost.Shopwave);
        using var http = host.Http();
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await ServingAsync(host));

        // Root ignores chmod, so take the folder away: move it aside and leave a file in its place.
        var aside = host.DataDirectory + ".aside";
        Directory.Move(host.DataDirectory, aside);
        await File.WriteAllTextAsync(host.DataDirectory, "not a folder");
        var answers = new ConcurrentBag<StatusCode>();
        try
        {
            // Pooled connections still reach the moved file; every new one fails to open.
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            await Parallel.ForEachAsync(Enumerable.Range(0, 64 * 20), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (_, cancellation) =>
            {
                try
                {
                    await client.GetConsentAsync(new GetConsentRequest { ConsentId = consent.Id }, cancellationToken: cancellation);
                    answers.Add(StatusCode.OK);
                }
                catch (RpcException exception)
                {
                    answers.Add(exception.StatusCode);
                }
            });

            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await ServingAsync(host));
            Assert.Equal("Unhealthy", await http.GetStringAsync("/healthz").ContinueWith(t => t.IsFaulted ? "Unhealthy" : t.Result, TaskScheduler.Default));
            Assert.Equal("Healthy", await http.GetStringAsync("/alive"));
        }
        finally
        {
            File.Delete(host.DataDirectory);
            Directory.Move(aside, host.DataDirectory);
        }

        Assert.Contains(StatusCode.Unavailable, answers);
        Assert.All(answers, code => Assert.True(code is StatusCode.OK or StatusCode.Unavailable, $"answered {code}"));

        await ConsentTestHost.EventuallyAsync(async () => await ServingAsync(host) == HealthCheckResponse.Types.ServingStatus.Serving, "health is SERVING again");
        Assert.Equal(consent.Id, (await client.GetConsentAsync(new GetConsentRequest { ConsentId = consent.Id })).Consent.Id);
    }

    [Fact]
    public async Task A_database_that_reads_but_cannot_be_written_is_not_serving()
    {
        await using var host = await ConsentTestHost.StartAsync(settings => settings["Oversight:Consent:Database:BusyTimeout"] = "00:00:00.500");
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await ServingAsync(host));

        await using (await StoreOutage.BeginAsync(Path.Combine(host.DataDirectory, "consent.db")))
        {
            // Reads still succeed under another writer's lock; writes wait and give up.
            Assert.NotNull((await host.Registry().ListPurposesAsync(new ListPurposesRequest())).Purposes);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await ServingAsync(host));
        }

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await ServingAsync(host));
    }
}
