using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;
using Oversight.Testing;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>
/// The audit log against a real SQL Server, when <c>OVERSIGHT_SQLSERVER</c> names one: concurrent
/// appenders serialise on the head row's lock, so sequences stay gapless and unique. Each test migrates
/// a database of its own and drops it afterwards.
/// </summary>
[Collection("SQL Server")]
public sealed class SqlServerTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Concurrent_appenders_on_sql_server_get_gapless_unique_sequences_and_every_proof_verifies()
    {
        var server = await RealInfrastructure.SqlServerAsync();
        var database = $"oversight_audit_test_{Guid.NewGuid():N}";
        try
        {
            await using var log = await TestLog.CreateAsync(new DatabaseOptions { Provider = DatabaseProvider.SqlServer, ConnectionString = RealInfrastructure.SqlServerDatabase(server, database) });
            var committed = await ConcurrentAppends.RunAsync(log, writers: 8, transactionsPerWriter: 25, Cancel);

            var size = await log.Reader.SizeAsync(Cancel);
            Assert.Equal(committed.Count, size);
            Assert.Equal(Enumerable.Range(0, (int)size).Select(i => (long)i), committed.Select(e => e.Sequence).Order());
            var checkpoint = await log.Signer.SignAsync(Cancel);
            foreach (var entry in committed)
            {
                Assert.True((await log.Reader.InclusionProofAsync(entry.Sequence, size, Cancel)).Verifies(entry.LeafHash, checkpoint.RootHash));
            }

            Assert.True((await log.Reader.ConsistencyProofAsync(1, size, Cancel)).Verifies(committed.Single(e => e.Sequence == 0).LeafHash, checkpoint.RootHash));
            var report = await log.Verifier.VerifyAsync([checkpoint.Note], Cancel);
            Assert.Empty(report.Problems);
            Assert.Equal(size, report.EntriesChecked);

            await using var session = await log.Database.BeginAsync(Cancel);
            Assert.Equal(WitnessOutcome.OwnLog, await log.Witness.ReceiveAsync(session, checkpoint.Note));
            Assert.Single(await log.Reader.ListAsync(new AuditEntryFilter(ActorId: "writer-3", Action: "consent.grant"), 120, 1, Cancel));
        }
        finally
        {
            await RealInfrastructure.DropSqlServerDatabaseAsync(server, database);
        }
    }
}
