using System.CommandLine;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using Oversight.BuildingBlocks.Security;

namespace Oversight.Cli;

/// <summary>The options every command accepts, and how a remote command turns them into a session.</summary>
internal static class GlobalOptions
{
    // Each command calls one service, so one --address suffices; its default is that service's.
    public static readonly Option<string?> Address = new("--address")
    {
        Description = "The service the command calls. Default: for consent, subject, registry and receipts, $OVERSIGHT_CONSENT_ADDRESS or "
            + ServiceEndpoint.Consent.DefaultAddress + "; for the governance commands, $OVERSIGHT_GOVERNANCE_ADDRESS or "
            + ServiceEndpoint.Governance.DefaultAddress + " (exchange freeze, unfreeze and status too); for the other exchange commands, $OVERSIGHT_EXCHANGE_ADDRESS or "
            + ServiceEndpoint.Exchange.DefaultAddress + "; for audit, that of the service --service names.",
        Recursive = true,
    };

    public static readonly Option<string?> Token = new("--token") { Description = "The bearer token (default $OVERSIGHT_TOKEN).", Recursive = true };

    public static readonly Option<string?> As = new("--as")
    {
        Description = "Instead of --token, mint a development token for this organisation (needs --kind).",
        Recursive = true,
    };

    public static readonly Option<string?> Kind = new("--kind")
    {
        Description = "The organisation kind for --as or token: platform, institution, regulator, state_investor or operator.",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json") { Description = "Print the protobuf response as JSON.", Recursive = true };

    public static readonly Option<bool> Quiet = new("--quiet", "-q")
    {
        Description = "Print only the id of what the command wrote or shows (one a line for a list), for a script to capture: "
            + "consent=$(cli -q … consent grant …). A response without one prints as usual.",
        Recursive = true,
    };

    public static IEnumerable<Option> All => [Address, Token, As, Kind, Json, Quiet];

    static GlobalOptions()
    {
        Address.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } address && !Uri.TryCreate(address, UriKind.Absolute, out _))
            {
                result.AddError("--address must be an absolute URL such as http://127.0.0.1:5101.");
            }
        });
        Kind.Validators.Add(result =>
        {
            // Refused here rather than by the service after a round trip.
            if (result.GetValueOrDefault<string?>() is { } kind && !OversightAuthentication.Kinds.Contains(kind))
            {
                result.AddError($"--kind '{kind}' is not an organisation kind; the kinds are {string.Join(", ", OversightAuthentication.Kinds)}.");
            }
        });
        Json.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<bool>() && result.GetValue(Quiet))
            {
                result.AddError("Give --json or --quiet, not both.");
            }
        });
        As.Validators.Add(result =>
        {
            if (result.GetValue(Kind) is null)
            {
                result.AddError("--as needs --kind.");
            }

            if (result.GetValue(Token) is not null)
            {
                result.AddError("Give --token or --as, not both.");
            }
        });
    }

    /// <summary>
    /// Mints a token with the key the services use: the development key unless
    /// Oversight__Auth__SigningKey is set in the environment, exactly as the host reads it.
    /// </summary>
    public static string MintToken(string organisationId, string kind, string? service, TimeSpan lifetime)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        return new TokenIssuer(AuthOptions.From(configuration), TimeProvider.System).Mint(organisationId, kind, service, lifetime);
    }

    /// <summary>A command that calls the Consent service.</summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Remote(Func<ParseResult, Session, Task> action) =>
        Remote(ServiceEndpoint.Consent, action);

    /// <summary>
    /// Wraps a command that calls a service: opens the channel to it with the caller's token, and
    /// turns a failed call into an error message and exit code 1.
    /// </summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Remote(ServiceEndpoint service, Func<ParseResult, Session, Task> action) =>
        Remote(_ => service, async (parse, session) =>
        {
            await action(parse, session);
            return 0;
        });

    /// <summary>
    /// As above, for a command that picks its service from its own options (audit's --service) and
    /// decides its exit code itself (a verification that found a problem is not a failed call).
    /// </summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Remote(Func<ParseResult, ServiceEndpoint> chooseService, Func<ParseResult, Session, Task<int>> action) =>
        async (parse, cancellation) =>
        {
            var service = chooseService(parse);
            var address = parse.GetValue(Address)
                ?? (Environment.GetEnvironmentVariable(service.EnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : service.DefaultAddress);
            if (!Uri.TryCreate(address, UriKind.Absolute, out _))
            {
                await Console.Error.WriteLineAsync($"error: ${service.EnvironmentVariable} must be an absolute URL such as {service.DefaultAddress}.");
                return 1;
            }

            // Plain http:// means HTTP/2 with prior knowledge (h2c), which is what the services speak.
            using var channel = GrpcChannel.ForAddress(address);
            try
            {
                return await action(parse, new Session(Invoker(channel, parse), new Output(parse.GetValue(Json), parse.GetValue(Quiet)), cancellation));
            }
            catch (RpcException exception)
            {
                Output.Error(exception);
                if (exception.StatusCode == StatusCode.Unimplemented)
                {
                    // The usual cause: an address of the other service (each listens on its own port).
                    await Console.Error.WriteLineAsync($"  is {address} the {service.Name} service? Give its address with --address or ${service.EnvironmentVariable}.");
                }

                return 1;
            }
        };

    /// <summary>
    /// A second service for a command that asks two (a witness's checkpoints of the first one's log):
    /// its address from its environment variable or default (--address is the first service's), the same token.
    /// </summary>
    public static async Task<T> WithOtherServiceAsync<T>(ParseResult parse, ServiceEndpoint service, Func<Session, Task<T>> action, CancellationToken cancellation)
    {
        var address = Environment.GetEnvironmentVariable(service.EnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : service.DefaultAddress;
        using var channel = GrpcChannel.ForAddress(address);
        return await action(new Session(Invoker(channel, parse), new Output(parse.GetValue(Json), parse.GetValue(Quiet)), cancellation));
    }

    private static CallInvoker Invoker(GrpcChannel channel, ParseResult parse)
    {
        CallInvoker invoker = channel.CreateCallInvoker();
        if (BearerToken(parse) is { } token)
        {
            invoker = invoker.Intercept(metadata =>
            {
                metadata.Add("authorization", $"Bearer {token}");
                return metadata;
            });
        }

        return invoker;
    }

    private static string? BearerToken(ParseResult parse)
    {
        // An explicit --as wins over an ambient $OVERSIGHT_TOKEN; the token only needs to outlive one call.
        if (parse.GetValue(As) is { } organisationId)
        {
            return MintToken(organisationId, parse.GetRequiredValue(Kind)!, service: null, TimeSpan.FromMinutes(10));
        }

        return parse.GetValue(Token) ?? Environment.GetEnvironmentVariable("OVERSIGHT_TOKEN");
    }
}

/// <summary>Where a service listens unless --address says otherwise: the host's default port, or an environment variable.</summary>
internal sealed record ServiceEndpoint(string Name, string EnvironmentVariable, string DefaultAddress)
{
    public static readonly ServiceEndpoint Consent = new("Consent", "OVERSIGHT_CONSENT_ADDRESS", "http://127.0.0.1:5101");

    public static readonly ServiceEndpoint Governance = new("Governance", "OVERSIGHT_GOVERNANCE_ADDRESS", "http://127.0.0.1:5102");

    public static readonly ServiceEndpoint Exchange = new("Exchange", "OVERSIGHT_EXCHANGE_ADDRESS", "http://127.0.0.1:5103");
}
