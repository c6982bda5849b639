using System.Data.Common;
using System.Net.Sockets;

namespace Oversight.BuildingBlocks.Data;

/// <summary>
/// Tells a failure that may pass by itself (a busy, unreachable or full store, a dropped
/// connection) from one that never will (a bug, a contract violation). A transient failure is
/// answered UNAVAILABLE to a caller and retried for a message; it never parks anything.
/// </summary>
public static class TransientFailure
{
    public static bool Is(Exception exception) => exception switch
    {
        DbException db when SqliteDialect.Instance.IsTransient(db) || SqlServerDialect.Instance.IsTransient(db) => true,
        WaitingForOperatorException => true,
        // An IOException, but of bytes that will never parse: retrying cannot help.
        Google.Protobuf.InvalidProtocolBufferException => false,
        TimeoutException or SocketException or IOException => true,
        // ADO.NET pools answer "Timeout expired ... prior to obtaining a connection from the pool" this way.
        InvalidOperationException { InnerException: null } pool when pool.Message.Contains("connection from the pool", StringComparison.Ordinal) => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(Is),
        _ => exception.InnerException is { } inner && Is(inner),
    };
}

/// <summary>
/// A message cannot be handled until an operator puts something right (a key missing from the
/// configuration): it is retried with back-off, never parked in the error queue.
/// </summary>
public sealed class WaitingForOperatorException(string message, Exception? inner = null) : Exception(message, inner);
