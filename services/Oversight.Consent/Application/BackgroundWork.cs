using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Hosting;
using Oversight.Consent.Infrastructure;
using Oversight.Consent.Model;

namespace Oversight.Consent.Application;

/// <summary>
/// Marks open consents past their valid-until as EXPIRED and sends the expired event. Checks never
/// wait for it — expiry is computed at read time — but subscribers learn of it from here.
/// </summary>
public sealed class ConsentExpirySweeper(
    ConsentDatabase database,
    ConsentRepository repository,
    ConsentRegister register,
    TimeProvider time,
    IOptions<ConsentOptions> options,
    ILogger<ConsentExpirySweeper> logger) : ClockWork(database, logger)
{
    protected override string Name => "The consent expiry sweep";

    protected override TimeSpan Interval => options.Value.ExpirySweepInterval;

    protected override Task RunRoundAsync(CancellationToken cancellationToken) => SweepAsync(cancellationToken);

    /// <summary>Expires every due artefact; returns how many it expired.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var expired = 0;
        while (true)
        {
            var now = time.GetUtcNow();
            IReadOnlyList<ConsentArtefact> due;
            await using (var connection = await database.OpenAsync(cancellationToken))
            {
                due = await repository.DueForExpiryAsync(connection, now, 200, cancellationToken);
            }

            var progress = 0;
            foreach (var artefact in due)
            {
                await using var session = await database.BeginAsync(cancellationToken);
                if (await register.ExpireAsync(session, artefact, now))
                {
                    await session.CommitAsync();
                    progress++;
                }
            }

            expired += progress;
            if (due.Count < 200 || progress == 0)
            {
                return expired;
            }
        }
    }
}

/// <summary>Adds the configured organisations the read model does not know yet (the embedded default's demo parties).</summary>
public sealed class OrganisationSeeder(
    ConsentDatabase database,
    ConsentRepository repository,
    TimeProvider time,
    IOptions<ConsentOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.SeedOrganisations.Count == 0)
        {
            return;
        }

        await using var session = await database.BeginAsync(cancellationToken);
        foreach (var seed in options.Value.SeedOrganisations)
        {
            // Version 0: any event from Governance (version 1 and up) replaces the seed.
            await repository.UpsertOrganisationAsync(session, new KnownOrganisation(seed.Id, seed.Kind, seed.Name, seed.Jurisdiction, 0), time.GetUtcNow());
        }

        await session.CommitAsync();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
