using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Oversight.BuildingBlocks.Security;

/// <summary>
/// Writes a permission denial to the audit of the module that owns the method. Used both by the
/// error interceptor (a handler's own refusal) and by the authorisation middleware (a token the
/// fallback policy rejects), so no refusal goes unrecorded.
/// </summary>
public sealed class AccessDenialRecorder(IEnumerable<IAccessDenialAudit> audits, ILogger<AccessDenialRecorder> logger)
{
    public async Task RecordAsync(string method, ClaimsPrincipal user, string resource, string reason)
    {
        var caller = user.Identity?.IsAuthenticated == true ? Caller.From(user) : null;
        foreach (var audit in audits.Where(a => a.Covers(method)))
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

/// <summary>Audits requests the authorisation policy forbids, then answers as ASP.NET Core would (403, PERMISSION_DENIED to gRPC).</summary>
public sealed class AuditingAuthorizationResultHandler(AccessDenialRecorder recorder) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden)
        {
            await recorder.RecordAsync(context.Request.Path, context.User, "", "The token's claims do not satisfy the access policy (unknown organisation kind).");
        }

        await _default.HandleAsync(next, context, policy, authorizeResult);
    }
}
