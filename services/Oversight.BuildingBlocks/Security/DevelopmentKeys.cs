using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace Oversight.BuildingBlocks.Security;

/// <summary>
/// Whether this process may run on development keys: the public HS256 token key and a receipt key
/// created on first start. Anyone holding the public key can mint a regulator's token, so only the
/// Development environment and hosts that say so explicitly — the embedded default (its
/// <c>embedded-default.json</c>) and the test hosts, through <see cref="Setting"/> — may.
/// Anywhere else a missing key stops the start with <see cref="MissingKeyException"/>.
/// </summary>
public static class DevelopmentKeys
{
    public const string Setting = "Oversight:AllowDevelopmentKeys";

    public static bool Allowed(IConfiguration configuration, IHostEnvironment environment) =>
        environment.IsDevelopment() || configuration.GetValue<bool>(Setting);
}

/// <summary>A key the process needs is missing where development keys are not allowed; the message names the setting.</summary>
public sealed class MissingKeyException(string message) : Exception(message);
