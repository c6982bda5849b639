using System.Data.Common;
using Oversight.BuildingBlocks.Data;

namespace Oversight.BuildingBlocks.Messaging;

/// <summary>
/// The inbox: a consumer records the message id in the same transaction as its effect. The
/// primary key (message id, consumer) decides, so a redelivery — even a concurrent one — is a no-op.
/// </summary>
public static class Inbox
{
    /// <summary>Records the message for this consumer; false when it was already processed.</summary>
    public static async Task<bool> TryRecordAsync(DbSession session, Guid messageId, string consumer, long processedAtMs)
    {
        try
        {
            await session.ExecuteAsync(
                MessagingSql.RecordInbox,
                new { MessageId = messageId.ToString("D"), Consumer = consumer, ProcessedAt = processedAtMs });
            return true;
        }
        catch (DbException exception) when (session.Dialect.IsUniqueViolation(exception))
        {
            return false;
        }
    }
}
