using System.Runtime.CompilerServices;
using Oversight.BuildingBlocks.Audit;

namespace Oversight.BuildingBlocks.Tests;

/// <summary>
/// The verifier's check that an entry's columns still encode to its stored bytes: its short way
/// (the detail parsed in place) and its long way (read as the entry would be) agree on every detail.
/// </summary>
public sealed class EntryColumnCheckTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static TheoryData<string, Dictionary<string, string>> Details => new()
    {
        { "no pairs", [] },
        { "values that JSON escapes", new() { ["note"] = "<a href=\"x\">&'+\\</a>\t\u0001", ["purpose"] = "credit-scoring" } },
        { "values beyond ASCII", new() { ["city"] = "Zürich 北京 😀", ["n"] = "1" } },
        { "keys beyond ASCII (the long way)", new() { ["größe"] = "1", ["zz"] = "2", ["äa"] = "3" } },
        { "keys whose UTF-8 and UTF-16 orders differ (the long way)", new() { ["\uFF21"] = "fullwidth", ["😀"] = "astral" } },
        { "an empty key and value", new() { [""] = "", ["a"] = "" } },
    };

    [Theory]
    [MemberData(nameof(Details))]
    public async Task An_untouched_entry_verifies_whatever_its_detail(string what, Dictionary<string, string> detail)
    {
        Assert.NotNull(what);
        await using var log = await TestLog.CreateAsync();
        await AppendAsync(log, detail);

        Assert.Empty((await log.Verifier.VerifyAsync([], Cancel)).Problems);
    }

    [Fact]
    public async Task What_the_log_writes_is_checked_the_short_way()
    {
        await using var log = await TestLog.CreateAsync();
        foreach (var detail in Details.Select(row => (Dictionary<string, string>)row.Data.Item2).Where(d => d.Keys.All(k => k.All(char.IsAscii))))
        {
            await AppendAsync(log, detail);
            await AppendAsync(log, detail, subject: "subject-1");
        }

        var longWays = EntryColumnCheck.LongWays.Value = new StrongBox<long>();
        Assert.Empty((await new AuditLogVerifier(log.Database, log.Signer.PublicKey).VerifyAsync([], Cancel)).Problems);
        Assert.Equal(0, longWays.Value);
        await log.TamperAsync("UPDATE audit_entry SET reason = 'forged' WHERE sequence = 3");
        Assert.Equal(3, Assert.Single((await new AuditLogVerifier(log.Database, log.Signer.PublicKey).VerifyAsync([], Cancel)).Problems).Position);
        Assert.Equal(1, longWays.Value); // the counter counts: the forged row took the long way
    }

    [Theory]
    [InlineData("""{"n":"2"}""")]
    [InlineData("""{"n":"1","extra":"x"}""")]
    [InlineData("""{"n":1}""")]
    [InlineData("""{"n":"1"} trailing""")]
    [InlineData("""{"n":"1","n":"2"}""")]
    [InlineData("not json")]
    [InlineData("""["n","1"]""")]
    public async Task A_rewritten_detail_is_named(string rewritten)
    {
        await using var log = await TestLog.CreateAsync();
        await AppendAsync(log, new() { ["n"] = "1" });
        await log.TamperAsync("UPDATE audit_entry SET detail = @Rewritten WHERE sequence = 0", new { Rewritten = rewritten });

        var problem = Assert.Single((await log.Verifier.VerifyAsync([], Cancel)).Problems);
        Assert.Equal((AuditLogProblemKind.EntryBytesMismatch, 0L), (problem.Kind, problem.Position));
    }

    [Fact]
    public async Task The_same_pairs_written_in_another_order_or_escaping_are_the_same_entry()
    {
        await using var log = await TestLog.CreateAsync();
        await AppendAsync(log, new() { ["a"] = "<1>", ["b"] = "2" });
        await log.TamperAsync("""UPDATE audit_entry SET detail = '{ "b" : "2", "\u0061" : "<1>" }' WHERE sequence = 0""");

        Assert.Empty((await log.Verifier.VerifyAsync([], Cancel)).Problems);
    }

    [Fact]
    public async Task A_subject_reference_added_or_removed_is_named()
    {
        await using var log = await TestLog.CreateAsync();
        await AppendAsync(log, new() { ["n"] = "1" });
        await AppendAsync(log, new() { ["n"] = "2" }, subject: "subject-1");
        await log.TamperAsync("UPDATE audit_entry SET subject_ref = 'forged' WHERE sequence = 0");
        await log.TamperAsync("UPDATE audit_entry SET subject_ref = NULL WHERE sequence = 1");

        var problem = Assert.Single((await log.Verifier.VerifyAsync([], Cancel)).Problems);
        Assert.Equal((AuditLogProblemKind.EntryBytesMismatch, 0L), (problem.Kind, problem.Position));
        await log.TamperAsync("UPDATE audit_entry SET subject_ref = NULL WHERE sequence = 0");
        problem = Assert.Single((await log.Verifier.VerifyAsync([], Cancel)).Problems);
        Assert.Equal((AuditLogProblemKind.EntryBytesMismatch, 1L), (problem.Kind, problem.Position));
    }

    private static async Task AppendAsync(TestLog log, Dictionary<string, string> detail, string? subject = null)
    {
        await using var session = await log.Database.BeginAsync(Cancel);
        await log.Log.AppendAsync(session, new AuditRecord("shopwave", "platform", "consent.grant", "consents/c-1", AuditOutcomes.Succeeded, SubjectId: subject, Detail: detail));
        await session.CommitAsync();
    }
}
