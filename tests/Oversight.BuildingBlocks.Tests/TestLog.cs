using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NSec.Cryptography;
using Oversight.BuildingBlocks.Audit;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>A module database that holds nothing but the building blocks' tables.</summary>
public sealed class AuditTestDatabase(DatabaseOptions options) : ModuleDatabase("audit-test", options);

/// <summary>
/// One audit log on a real, migrated database — a SQLite file in a fresh folder unless a test names
/// another — with a movable clock and its own Ed25519 key, for tests that call the building block directly.
/// </summary>
public sealed class TestLog : IAsyncDisposable
{
    public const string Origin = "oversight.test/audit";

    private readonly string? _folder;

    private TestLog(AuditTestDatabase database, string? folder, Key key, string origin)
    {
        _folder = folder;
        Database = database;
        Key = key;
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        Subjects = new SubjectReference(Convert.FromBase64String(SubjectReference.DevelopmentKey));
        Log = new AuditLog(Subjects, Time);
        Reader = new AuditLogReader(database);
        Signer = new CheckpointSigner(database, key, origin, Time);
        Verifier = new BothReadPaths(new AuditLogVerifier(database, Signer.PublicKey, pageSize: 7), new AuditLogVerifier(database, Signer.PublicKey, 7, throughAdoNet: true));
        Witness = new WitnessedCheckpoints(database, origin, [], Time);
    }

    public AuditTestDatabase Database { get; }
    public Key Key { get; }
    public FakeTimeProvider Time { get; }
    public SubjectReference Subjects { get; }
    public AuditLog Log { get; }
    public AuditLogReader Reader { get; }
    public CheckpointSigner Signer { get; }
    public BothReadPaths Verifier { get; }
    public WitnessedCheckpoints Witness { get; }

    public static Task<TestLog> CreateAsync(string origin = Origin)
    {
        var folder = Path.Combine(Path.GetTempPath(), "oversight-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return CreateAsync(new DatabaseOptions { ConnectionString = $"Data Source={Path.Combine(folder, "audit.db")}" }, folder, origin);
    }

    public static Task<TestLog> CreateAsync(DatabaseOptions options, string? folder = null, string origin = Origin)
    {
        var database = new AuditTestDatabase(options);
        DatabaseMigrator.Migrate(database, NullLogger.Instance);
        return Task.FromResult(new TestLog(database, folder, NewKey(), origin));
    }

    public static Key NewKey() => Key.Create(SignatureAlgorithm.Ed25519);

    public static AuditRecord Record(int i, string actor = "shopwave", string? subject = null) => new(
        actor, "platform", i % 3 == 0 ? "consent.grant" : "consent.revoke", $"consents/c-{i}", AuditOutcomes.Succeeded,
        SubjectId: subject, Detail: new Dictionary<string, string> { ["n"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) });

    /// <summary>Appends <paramref name="count"/> entries, each in a transaction of its own.</summary>
    public async Task<List<AuditEntry>> AppendAsync(int count, int first = 0)
    {
        var entries = new List<AuditEntry>();
        for (var i = first; i < first + count; i++)
        {
            await using var session = await Database.BeginAsync(CancellationToken.None);
            entries.Add(await Log.AppendAsync(session, Record(i)));
            await session.CommitAsync();
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        return entries;
    }

    /// <summary>Runs a statement straight against the store, as whoever runs the database could.</summary>
    public async Task<int> TamperAsync(string sql, object? parameters = null)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        return await connection.ExecuteAsync(sql, parameters);
    }

    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    public async ValueTask DisposeAsync()
    {
        Key.Dispose();
        SqliteConnection.ClearAllPools();
        if (_folder is not null)
        {
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        await Task.CompletedTask;
    }
}

/// <summary>
/// The verifier twice over the same log: through SQLite's own API (the embedded default) and through
/// ADO.NET (the path SQL Server takes). Every tamper test then holds for both, and they must agree.
/// </summary>
public sealed class BothReadPaths(AuditLogVerifier sqlite, AuditLogVerifier adoNet)
{
    public async Task<AuditLogReport> VerifyAsync(IEnumerable<string> heldNotes, CancellationToken cancellationToken)
    {
        var notes = heldNotes.ToList();
        var report = await sqlite.VerifyAsync(notes, cancellationToken);
        var other = await adoNet.VerifyAsync(notes, cancellationToken);
        Assert.Equal(report.Problems, other.Problems);
        Assert.Equal((report.TreeSize, report.EntriesChecked, report.CheckpointsChecked), (other.TreeSize, other.EntriesChecked, other.CheckpointsChecked));
        Assert.Equal(report.RecomputedRoot, other.RecomputedRoot);
        return report;
    }

    public Task<AuditLogProblem?> CheckCheckpointAsync(string note, CancellationToken cancellationToken) => sqlite.CheckCheckpointAsync(note, cancellationToken);
}
