namespace Oversight.Exchange;

/// <summary>
/// The Exchange module: one <c>AddExchangeModule</c> / <c>MapExchangeModule</c> pair registers its
/// gRPC services, database, consumers and background work in any host.
/// </summary>
public static class ExchangeModule
{
    public const string Name = "exchange";
    public const int DefaultPort = 5103;
}
