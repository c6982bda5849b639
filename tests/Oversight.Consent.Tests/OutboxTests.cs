namespace Oversight.Consent.Tests;

/// <summary>The relay's handling of rows it cannot publish.</summary>
public sealed class OutboxTests
{
    [Fact]
    public async Task A_row_no_build_can_read_is_parked_and_the_rows_behind_it_are_published()
    {
        await using var host = await ConsentTestHost.StartAsync(settings =>
        {
            settings["Oversight:Outbox:MaxUnreadableAttempts"] = "3";
            settings["Oversight:Outbox:MaxBackoff"] = "00:00:00.200";
        });
        await using (var connection = await host.Database.OpenAsync(CancellationToken.None))
        {
            await Dapper.SqlMapper.ExecuteAsync(connection,
                "INSERT INTO outbox_message (message_id, message_type, body, occurred_at_ms, attempts) VALUES (@Id, 'Oversight.Contracts.FromTheFuture', '{}', 0, 0)",
                new { Id = Guid.NewGuid().ToString() });
        }

        await host.GrantAsync("behind-the-poison");

        await ConsentTestHost.EventuallyAsync(async () => await ScalarAsync(host,
            "SELECT COUNT(*) FROM outbox_message WHERE message_type = 'Oversight.Contracts.Consent.ConsentGranted' AND sent_at_ms IS NOT NULL") == 1,
            "the event behind the unreadable row is published");
        Assert.Equal(1, await ScalarAsync(host, "SELECT COUNT(*) FROM outbox_message WHERE parked_at_ms IS NOT NULL AND sent_at_ms IS NULL AND attempts >= 3"));
    }

    private static async Task<long> ScalarAsync(ConsentTestHost host, string sql)
    {
        await using var connection = await host.Database.OpenAsync(CancellationToken.None);
        return await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, sql);
    }
}
