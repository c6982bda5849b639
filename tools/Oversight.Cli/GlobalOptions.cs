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
    public static readonly Option<string> Address = new("--address")
    {
        Description = "The Consent service; $OVERSIGHT_CONSENT_ADDRESS when set.",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("OVERSIGHT_CONSENT_ADDRESS") ?? "http://127.0.0.1:5101",
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

    public static IEnumerable<Option> All => [Address, Token, As, Kind, Json];

    static GlobalOptions()
    {
        Address.Validators.Add(result =>
        {
            if (!Uri.TryCreate(result.GetValueOrDefault<string>(), UriKind.Absolute, out _))
            {
                result.AddError("--address must be an absolute URL such as http://127.0.0.1:5101.");
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

    /// <summary>
    /// Wraps a command that calls the service: opens the channel with the caller's token, and turns
    /// a failed call into an error message and exit code 1.
    /// </summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Remote(Func<ParseResult, Session, Task> action) =>
        async (parse, cancellation) =>
        {
            // Plain http:// means HTTP/2 with prior knowledge (h2c), which is what the services speak.
            using var channel = GrpcChannel.ForAddress(parse.GetRequiredValue(Address));
            CallInvoker invoker = channel.CreateCallInvoker();
            if (BearerToken(parse) is { } token)
            {
                invoker = invoker.Intercept(metadata =>
                {
                    metadata.Add("authorization", $"Bearer {token}");
                    return metadata;
                });
            }

            try
            {
                await action(parse, new Session(invoker, new Output(parse.GetValue(Json)), cancellation));
                return 0;
            }
            catch (RpcException exception)
            {
                Output.Error(exception);
                return 1;
            }
        };

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
