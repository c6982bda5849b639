using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Messaging;

/// <summary>The SQL of the outbox, inbox, idempotent requests and denial audit, shared by every module.</summary>
[SqlStatements]
public static class MessagingSql
{
    public static string EnqueueOutbox => """
        INSERT INTO outbox_message (message_id, message_type, body, occurred_at_ms, attempts)
        VALUES (@MessageId, @MessageType, @Body, @OccurredAt, 0);
        """;

    public static string ClaimOutboxBatch(SqlDialect dialect) => dialect.ClaimOutboxBatch;

    public static string RelayTurnOwner => "SELECT owner FROM outbox_relay_turn WHERE id = 1;";

    /// <summary>Takes or renews the relay's turn: held by @Owner already, by nobody, or by a relay whose turn lapsed.</summary>
    public static string TakeRelayTurn => """
        UPDATE outbox_relay_turn SET owner = @Owner, until_ms = @Until
         WHERE id = 1 AND (owner = @Owner OR owner IS NULL OR until_ms < @Now);
        """;

    public static string GiveUpRelayTurn => "UPDATE outbox_relay_turn SET owner = NULL, until_ms = 0 WHERE id = 1 AND owner = @Owner;";

    /// <summary>On taking the turn over from another relay: the rows it had claimed are anybody's again, first of all the new holder's.</summary>
    public static string ReclaimOutboxLeases =>
        "UPDATE outbox_message SET lease_owner = NULL, lease_until_ms = NULL WHERE sent_at_ms IS NULL AND lease_owner IS NOT NULL AND lease_owner <> @Owner;";

    public static string MarkOutboxSent =>
        "UPDATE outbox_message SET sent_at_ms = @SentAt, lease_owner = NULL, lease_until_ms = NULL WHERE sequence IN @Sequences;";

    public static string ReleaseOutboxLease =>
        "UPDATE outbox_message SET lease_owner = NULL, lease_until_ms = NULL WHERE lease_owner = @Owner AND sent_at_ms IS NULL;";

    public static string RecordOutboxFailure =>
        "UPDATE outbox_message SET attempts = attempts + 1, last_error = @Error WHERE sequence = @Sequence;";

    /// <summary>Sets a row aside that no build can publish, so the rows behind it move on.</summary>
    public static string ParkOutboxMessage =>
        "UPDATE outbox_message SET parked_at_ms = @At, lease_owner = NULL, lease_until_ms = NULL WHERE sequence = @Sequence;";

    public static string RecordInbox =>
        "INSERT INTO inbox_message (message_id, consumer, processed_at_ms) VALUES (@MessageId, @Consumer, @ProcessedAt);";

    public static string ClaimRequest => """
        INSERT INTO idempotent_request (caller_id, request_id, operation, request_hash, created_at_ms)
        VALUES (@CallerId, @RequestId, @Operation, @Hash, @CreatedAt);
        """;

    public static string StoreResponse =>
        "UPDATE idempotent_request SET response = @Response WHERE caller_id = @CallerId AND request_id = @RequestId;";

    public static string FindRequest => """
        SELECT operation AS Operation, request_hash AS RequestHash, response AS Response
          FROM idempotent_request WHERE caller_id = @CallerId AND request_id = @RequestId;
        """;

    public static string RecordAccessDenial => """
        INSERT INTO access_denial (denied_at_ms, caller_id, caller_kind, method, resource, reason)
        VALUES (@DeniedAt, @CallerId, @CallerKind, @Method, @Resource, @Reason);
        """;

    public static string Ping => "SELECT 1;";

    /// <summary>Health's write probe, always rolled back: can the store take a write now?</summary>
    public static string ProbeWrite =>
        "INSERT INTO inbox_message (message_id, consumer, processed_at_ms) VALUES (@MessageId, 'health-probe', 0);";

    /// <summary>When the oldest event still waiting for the broker happened (parked rows wait for an operator, not the broker).</summary>
    public static string OldestUnsentOutbox =>
        "SELECT MIN(occurred_at_ms) FROM outbox_message WHERE sent_at_ms IS NULL AND parked_at_ms IS NULL;";
}
