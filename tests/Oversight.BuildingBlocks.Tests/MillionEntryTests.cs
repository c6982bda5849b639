using System.Diagnostics;
using Oversight.BuildingBlocks.Audit;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>
/// The verifier at 1,000,000 entries: every leaf and subtree recomputed while memory stays flat (the
/// entries' bytes alone are ~150 MB; the verifier holds one page and one subtree per level). Slow
/// (minutes), so it runs when <c>OVERSIGHT_AUDIT_MILLION</c> is set.
/// </summary>
public sealed class MillionEntryTests
{
    [Fact]
    public async Task A_million_entry_log_verifies_in_flat_memory()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OVERSIGHT_AUDIT_MILLION")))
        {
            Assert.Skip("Set OVERSIGHT_AUDIT_MILLION=1 to build and verify a 1,000,000-entry log.");
        }

        const int Size = 1_000_000;
        var cancel = TestContext.Current.CancellationToken;
        await using var log = await TestLog.CreateAsync();
        for (var batch = 0; batch < Size / 10_000; batch++)
        {
            await using var session = await log.Database.BeginAsync(cancel);
            for (var i = 0; i < 10_000; i++)
            {
                await log.Log.AppendAsync(session, TestLog.Record(batch * 10_000 + i, subject: $"subject-{i % 977}"));
            }

            await session.CommitAsync();
        }

        var checkpoint = await log.Signer.SignAsync(cancel);
        var verifier = new AuditLogVerifier(log.Database, log.Signer.PublicKey);
        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var peak = 0L;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                // Live objects only: garbage a collection would free is not memory the verifier holds.
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true));
                await Task.Delay(100, CancellationToken.None);
            }
        }, CancellationToken.None);
        var clock = Stopwatch.StartNew();
        var report = await verifier.VerifyAsync([checkpoint.Note], cancel);
        clock.Stop();
        await sampling.CancelAsync();
        await sampler;

        Assert.Empty(report.Problems);
        Assert.Equal(Size, report.EntriesChecked);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"verified {Size} entries in {clock.Elapsed.TotalSeconds:F1} s; managed heap {before / 1048576} MB before, peak {peak / 1048576} MB during");
        // Holding the entries would take well over 150 MB; one page and the stack take a few.
        Assert.True(peak - before < 32 * 1024 * 1024, $"the managed heap grew by {(peak - before) / 1048576} MB while verifying");
    }
}
