using System.Globalization;
using System.Security.Claims;
using System.Text;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Oversight.BuildingBlocks.Security;

/// <summary>
/// Writes a permission denial to the audit of the module that owns the method. Used both by the
/// error interceptor (a handler's own refusal) and by the authorisation middleware (a token the
/// fallback policy rejects), so no refusal goes unrecorded.
/// </summary>
public sealed class AccessDenialRecorder(IEnumerable<IAccessDenialAudit> audits, ILogger<AccessDenialRecorder> logger)
{
    /// <summary>The port a call was addressed to, as the module routes read it (the Host header, as <c>RequireHost</c> matches).</summary>
    public static int CalledPort(HttpContext context) => context.Request.Host.Port ?? context.Connection.LocalPort;

    /// <param name="localPort">The port the call was addressed to (<see cref="CalledPort"/>), which names the module of a service every module serves.</param>
    public async Task RecordAsync(string method, ClaimsPrincipal user, string resource, string reason, int localPort)
    {
        var caller = user.Identity?.IsAuthenticated == true ? Caller.From(user) : null;
        var owners = audits.Where(a => a.Owns(method)).ToList();
        if (owners.Count == 0)
        {
            var all = audits.ToList();
            owners = all.Count == 1 ? all : all.Where(a => a.Port == localPort).ToList();
        }

        foreach (var audit in owners)
        {
            try
            {
                await audit.RecordAsync(new AccessDenial(method, caller?.OrganisationId ?? "", caller?.Kind ?? "", resource, reason), CancellationToken.None);
            }
            catch (Exception exception)
            {
                // The caller still hears PERMISSION_DENIED; a failed audit write is loud in the logs.
                logger.LogError(exception, "Could not audit a permission denial in {Method}", method);
            }
        }
    }
}

/// <summary>
/// Answers a gRPC call the fallback policy refuses with a gRPC status that names the cause — no
/// token, a token the service rejects, an unknown organisation kind — where ASP.NET Core would send a
/// bare HTTP 401/403 that clients can only report as "Bad gRPC response". Every refusal is logged;
/// a forbidden one is audited too.
/// </summary>
public sealed class GrpcAuthorizationResultHandler(AccessDenialRecorder recorder, ILogger<GrpcAuthorizationResultHandler> logger)
    : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        var refused = authorizeResult.Challenged || authorizeResult.Forbidden;
        if (!refused || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true)
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        var method = context.Request.Path.Value ?? "";
        StatusCode code;
        string reason;
        if (authorizeResult.Challenged)
        {
            code = StatusCode.Unauthenticated;
            // Authentication ran once already; the handler answers again from its cached result.
            reason = UnauthenticatedReason(await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme));
        }
        else
        {
            code = StatusCode.PermissionDenied;
            reason = ForbiddenReason(Caller.From(context.User));
            await recorder.RecordAsync(method, context.User, "", reason, AccessDenialRecorder.CalledPort(context));
        }

        logger.LogInformation("Refused {Method}: {Code}: {Reason}", method, code, reason);
        // A trailers-only gRPC response: HTTP 200 with the status in the headers.
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)code).ToString(CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = PercentEncode(reason);
    }

    private static string UnauthenticatedReason(AuthenticateResult result) => result.Failure switch
    {
        null => "The call carries no bearer token. Send the header 'authorization: Bearer TOKEN'; in development mint one with "
            + "'oversight token --org ID --kind KIND' (the CLI does it with --as ORG --kind KIND).",
        SecurityTokenExpiredException => "The bearer token has expired; mint a new one.",
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException =>
            "The bearer token is not signed with this service's key (Oversight:Auth:SigningKey).",
        SecurityTokenInvalidIssuerException or SecurityTokenInvalidAudienceException =>
            "The bearer token names another issuer or audience than this service expects (Oversight:Auth:Issuer, Oversight:Auth:Audience).",
        _ => "The bearer token is malformed or not valid for this service.",
    };

    private static string ForbiddenReason(Caller caller) =>
        !Caller.IsOrganisationId(caller.OrganisationId)
            ? $"The token's subject '{Cut(caller.OrganisationId)}' is not an organisation id (1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit)."
            : $"The token's kind '{Cut(caller.Kind)}' is not an organisation kind; the kinds are {string.Join(", ", OversightAuthentication.Kinds)}.";

    // The value came from the caller: echo only a bounded prefix.
    private static string Cut(string value) => value.Length <= 64 ? value : value[..64] + "…";

    /// <summary>grpc-message is percent-encoded UTF-8: everything outside printable ASCII, and '%' itself.</summary>
    private static string PercentEncode(string message)
    {
        var encoded = new StringBuilder(message.Length);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                encoded.Append((char)b);
            }
            else
            {
                encoded.Append(CultureInfo.InvariantCulture, $"%{b:X2}");
            }
        }

        return encoded.ToString();
    }
}
