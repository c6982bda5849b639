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

    /// <summary>
    /// A relay that died mid-batch: it held the relay's turn and had claimed the unsent events (that
    /// state is written here on purpose, as a SIGKILL leaves it). The relay standing by publishes
    /// nothing while the dead one's turn lasts, and once it lapses takes over and publishes from the
    /// first unsent event, the dead relay's claimed ones included, without waiting for their own lease.
    /// </summary>
    [Fact]
    public async Task A_relay_that_died_holding_its_turn_is_taken_over_once_the_turn_lapses_from_the_first_unsent_event()
    {
        await using var host = await ConsentTestHost.StartAsync(settings => settings["Oversight:Outbox:Lease"] = "00:00:10");
        var now = host.Time.GetUtcNow().ToUnixTimeMilliseconds();
        await ExecuteAsync(host, "UPDATE outbox_relay_turn SET owner = 'dead-relay', until_ms = @Until", new { Until = now + 10_000 });
        // Past a third of the lease: the host's relay asks the database again whether the turn is still its own.
        host.Time.Advance(TimeSpan.FromSeconds(4));
        for (var i = 0; i < 5; i++)
        {
            await host.GrantAsync($"while-dead-{i}");
        }

        await ExecuteAsync(host, "UPDATE outbox_message SET lease_owner = 'dead-relay', lease_until_ms = @Until WHERE sent_at_ms IS NULL", new { Until = now + 600_000 });
        const string Unsent = "SELECT COUNT(*) FROM outbox_message WHERE sent_at_ms IS NULL";
        var waiting = await ScalarAsync(host, Unsent);
        Assert.True(waiting >= 5, $"{waiting} events waiting");
        // Two of the standing-by relay's polls (1 s apart): while the dead relay's turn lasts, nothing leaves.
        await Task.Delay(TimeSpan.FromSeconds(2.5), TestContext.Current.CancellationToken);
        Assert.Equal(waiting, await ScalarAsync(host, Unsent));

        host.Time.Advance(TimeSpan.FromSeconds(7));

        await ConsentTestHost.EventuallyAsync(async () => await ScalarAsync(host, Unsent) == 0, "the standing-by relay publishes every waiting event");
        Assert.Equal(0, await ScalarAsync(host, "SELECT COUNT(*) FROM outbox_relay_turn WHERE owner = 'dead-relay'"));
        await using var connection = await host.Database.OpenAsync(CancellationToken.None);
        var sentAt = (await Dapper.SqlMapper.QueryAsync<long>(connection, "SELECT sent_at_ms FROM outbox_message ORDER BY sequence")).ToList();
        Assert.Equal(sentAt.Order(), sentAt);
    }

    private static async Task ExecuteAsync(ConsentTestHost host, string sql, object parameters)
    {
        await using var connection = await host.Database.OpenAsync(CancellationToken.None);
        await Dapper.SqlMapper.ExecuteAsync(connection, sql, parameters);
    }

    private static async Task<long> ScalarAsync(ConsentTestHost host, string sql)
    {
        await using var connection = await host.Database.OpenAsync(CancellationToken.None);
        return await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, sql);
    }
}
