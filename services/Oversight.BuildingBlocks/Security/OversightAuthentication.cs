using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Oversight.Contracts.Governance;

namespace Oversight.BuildingBlocks.Security;

/// <summary>Token settings, bound from <c>Oversight:Auth</c>.</summary>
public sealed class AuthOptions
{
    /// <summary>
    /// DEVELOPMENT ONLY. The HS256 key used when none is configured, so a newcomer can call the
    /// embedded default at once. Compose and production set <c>Oversight:Auth:SigningKey</c>.
    /// </summary>
    public const string DevelopmentSigningKey = "oversight-development-signing-key-not-for-production-use";

    public string Issuer { get; set; } = "oversight";

    public string Audience { get; set; } = "oversight";

    /// <summary>The shared HS256 key (at least 32 bytes of UTF-8). Empty means the development key.</summary>
    public string SigningKey { get; set; } = "";

    /// <summary>True when no key is set, or the public development key is set by name.</summary>
    public bool UsesDevelopmentKey => string.IsNullOrWhiteSpace(SigningKey) || SigningKey == DevelopmentSigningKey;

    public SymmetricSecurityKey SecurityKey()
    {
        var bytes = Encoding.UTF8.GetBytes(UsesDevelopmentKey ? DevelopmentSigningKey : SigningKey);
        if (bytes.Length < 32)
        {
            throw new InvalidOperationException("Oversight:Auth:SigningKey must be at least 32 bytes.");
        }

        return new SymmetricSecurityKey(bytes);
    }

    public static AuthOptions From(IConfiguration configuration) =>
        configuration.GetSection("Oversight:Auth").Get<AuthOptions>() ?? new AuthOptions();
}

public static class OversightAuthentication
{
    /// <summary>The organisation kinds a token may name (its <c>kind</c> claim).</summary>
    public static IReadOnlyList<string> Kinds { get; } =
    [
        OrganisationKinds.Platform, OrganisationKinds.Institution, OrganisationKinds.Regulator, OrganisationKinds.StateInvestor, OrganisationKinds.Operator,
    ];

    /// <summary>
    /// JWT bearer for every RPC; anything not marked anonymous needs an authenticated caller.
    /// Refuses the development key where <see cref="DevelopmentKeys"/> does not allow it.
    /// </summary>
    public static IServiceCollection AddOversightAuthentication(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var options = AuthOptions.From(configuration);
        if (options.UsesDevelopmentKey && !DevelopmentKeys.Allowed(configuration, environment))
        {
            throw new MissingKeyException(
                "Oversight:Auth:SigningKey is not set (or is the public development key). Set it (environment variable Oversight__Auth__SigningKey) "
                + "to a secret of at least 32 bytes shared by the services and whoever issues their tokens. The development key is only for the "
                + "Development environment and the embedded default.");
        }

        services.AddSingleton(options);
        services.AddSingleton<TokenIssuer>();
        services.AddSingleton<AccessDenialRecorder>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, GrpcAuthorizationResultHandler>();
        services
            .AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer(jwt =>
            {
                jwt.MapInboundClaims = false;
                jwt.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = options.Issuer,
                    ValidAudience = options.Audience,
                    IssuerSigningKey = options.SecurityKey(),
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    NameClaimType = Caller.SubjectClaim,
                    ClockSkew = TimeSpan.FromSeconds(30),
                };
            });
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder()
                .RequireAuthenticatedUser()
                .RequireClaim(Caller.SubjectClaim)
                .RequireAssertion(context => Caller.IsOrganisationId(context.User.FindFirst(Caller.SubjectClaim)?.Value))
                .RequireClaim(Caller.KindClaim, Kinds)
                .Build());
        return services;
    }
}

/// <summary>Mints bearer tokens signed with the configured key (development and tests).</summary>
public sealed class TokenIssuer(AuthOptions options, TimeProvider time)
{
    private readonly SigningCredentials _credentials = new(options.SecurityKey(), SecurityAlgorithms.HmacSha256);

    public string Mint(string organisationId, string kind, string? service = null, TimeSpan? lifetime = null)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var claims = new Dictionary<string, object>
        {
            [Caller.SubjectClaim] = organisationId,
            [Caller.KindClaim] = kind,
        };
        if (service is not null)
        {
            claims[Caller.ServiceClaim] = service;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Issuer,
            Audience = options.Audience,
            Claims = claims,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + (lifetime ?? TimeSpan.FromHours(12)),
            SigningCredentials = _credentials,
        });
    }
}
