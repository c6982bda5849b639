using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using Oversight.BuildingBlocks.Security;
using Oversight.Contracts;
using Oversight.Contracts.Governance;

namespace Oversight.Exchange.Infrastructure;

/// <summary>
/// Exchange's channel to Consent, calling as the Exchange service (token <c>svc=exchange</c>), the only
/// identity Consent lets check on behalf of a delivery. One HTTP/2 channel for the process; the token
/// is minted again well before it expires.
/// </summary>
public sealed class ConsentConnection : IDisposable
{
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(1);
    private readonly GrpcChannel _channel;
    private readonly TokenIssuer _tokens;
    private readonly Lock _tokenLock = new();
    private (string Value, DateTimeOffset RenewAt) _token;

    /// <param name="handler">For hosts that carry the calls themselves (the tests' in-memory server); otherwise the channel opens its own sockets.</param>
    public ConsentConnection(IOptions<ExchangeOptions> options, AuthOptions auth, HttpMessageHandler? handler = null)
    {
        var link = options.Value.Consent;
        _channel = GrpcChannel.ForAddress(link.Address, new GrpcChannelOptions
        {
            HttpHandler = handler ?? new SocketsHttpHandler { EnableMultipleHttp2Connections = true, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) },
            DisposeHttpClient = handler is null,
        });
        _tokens = new TokenIssuer(auth, TimeProvider.System);
        Checks = new Consent.V1.ConsentService.ConsentServiceClient(_channel);
        Registry = new Consent.V1.ConsentRegistryService.ConsentRegistryServiceClient(_channel);
    }

    internal Consent.V1.ConsentService.ConsentServiceClient Checks { get; }

    internal Consent.V1.ConsentRegistryService.ConsentRegistryServiceClient Registry { get; }

    /// <summary>The call's bearer token and deadline (tokens and deadlines run on the wall clock, as the server checks them).</summary>
    public CallOptions Call(TimeSpan deadline, CancellationToken cancellationToken) =>
        new(new Metadata { { "authorization", "Bearer " + Token() } }, DateTime.UtcNow + deadline, cancellationToken);

    private string Token()
    {
        lock (_tokenLock)
        {
            var now = TimeProvider.System.GetUtcNow();
            if (_token.Value is null || now >= _token.RenewAt)
            {
                _token = (_tokens.Mint(Producers.Exchange, OrganisationKinds.Operator, Producers.Exchange, TokenLifetime), now + TokenLifetime / 2);
            }

            return _token.Value;
        }
    }

    public void Dispose() => _channel.Dispose();
}
