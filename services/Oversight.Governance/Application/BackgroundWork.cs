using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Errors;
using Oversight.BuildingBlocks.Hosting;
using Oversight.Governance.Infrastructure;

namespace Oversight.Governance.Application;

/// <summary>What one tally round did.</summary>
/// <param name="Tallied">Proposals tallied (and their actions carried out).</param>
/// <param name="Failed">Proposals whose tally threw this round; each is retried after its back-off.</param>
/// <param name="Deferred">Proposals skipped this round because an earlier failure's back-off has not run out.</param>
public sealed record TallyRound(int Tallied, int Failed, int Deferred);

/// <summary>
/// The module's clock work: tallies proposals whose window closed and expires alliances past their
/// validity. Each proposal is tallied on its own: one whose tally fails (a corrupt row, an action
/// that cannot be carried out) is logged, counted and retried with a back-off of its own, and never
/// keeps the proposals behind it (they are taken in close-time order) from being tallied.
/// </summary>
public sealed class ProposalTallier(
    GovernanceDatabase database,
    ProposalRepository repository,
    Proposals proposals,
    Alliances alliances,
    TimeProvider time,
    IOptions<GovernanceOptions> options,
    ILogger<ProposalTallier> logger) : ClockWork(database, logger)
{
    /// <summary>A proposal's first retry after a failure; each further failure doubles it, up to <see cref="LongestBackoff"/>.</summary>
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan LongestBackoff = TimeSpan.FromHours(1);

    private const int RoundSize = 100;

    // Rounds never overlap (the loop and a caller such as a test), so the back-off book is one writer's.
    private readonly SemaphoreSlim _round = new(1, 1);
    private readonly Dictionary<string, Failure> _failures = new(StringComparer.Ordinal);

    protected override string Name => "The governance clock work (tallies, alliance expiry)";

    protected override TimeSpan Interval => options.Value.TallyInterval;

    protected override async Task RunRoundAsync(CancellationToken cancellationToken)
    {
        await TallyDueAsync(cancellationToken);
        await alliances.ExpireDueAsync(cancellationToken);
    }

    /// <summary>Tallies every proposal whose window has closed, except those still backing off from a failure.</summary>
    public async Task<TallyRound> TallyDueAsync(CancellationToken cancellationToken)
    {
        await _round.WaitAsync(cancellationToken);
        try
        {
            var now = time.UtcNowToMillisecond();
            IReadOnlyList<string> due;
            await using (var connection = await database.OpenAsync(cancellationToken))
            {
                // Room for the ones backing off, so they never fill the round on their own.
                due = await repository.DueAsync(connection, now, RoundSize + _failures.Count, cancellationToken);
            }

            // A proposal no longer due (tallied, cancelled) needs no retry.
            foreach (var id in _failures.Keys.Except(due, StringComparer.Ordinal).ToList())
            {
                _failures.Remove(id);
            }

            int tallied = 0, failed = 0, deferred = 0;
            foreach (var id in due)
            {
                if (_failures.TryGetValue(id, out var earlier) && earlier.RetryAt > now)
                {
                    deferred++;
                    continue;
                }

                try
                {
                    if (await proposals.TallyAsync(id, now, cancellationToken))
                    {
                        tallied++;
                    }

                    _failures.Remove(id);
                }
                catch (AbortedException)
                {
                    // A lost race, not a fault (the ledger moved while a passed change of capital was
                    // carried out): nothing was written, and the next round tallies it again.
                }
                catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
                {
                    failed++;
                    GovernanceMetrics.TallyFailures.Add(1);
                    var count = (earlier?.Count ?? 0) + 1;
                    var backoff = TimeSpan.FromTicks(Math.Min(LongestBackoff.Ticks, FirstBackoff.Ticks << Math.Min(count - 1, 16)));
                    _failures[id] = new Failure(count, now + backoff);
                    logger.LogWarning(exception, "Tallying proposal {ProposalId} failed ({Failures} time(s) in a row); it is retried after {RetryAt:O}",
                        id, count, now + backoff);
                }
            }

            return new TallyRound(tallied, failed, deferred);
        }
        finally
        {
            _round.Release();
        }
    }

    public override void Dispose()
    {
        _round.Dispose();
        base.Dispose();
    }

    private sealed record Failure(int Count, DateTimeOffset RetryAt);
}
