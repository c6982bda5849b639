using System.Security.Claims;
using Grpc.Core;
using Oversight.Contracts.Governance;

namespace Oversight.BuildingBlocks.Security;

/// <summary>
/// Who is calling, from the bearer token: the organisation (<c>sub</c>), its kind (<c>kind</c>)
/// and, for service-to-service calls, the calling service (<c>svc</c>).
/// </summary>
public sealed record Caller(string OrganisationId, string Kind, string? Service)
{
    public const string SubjectClaim = "sub";
    public const string KindClaim = "kind";
    public const string ServiceClaim = "svc";

    public bool IsPlatform => Kind == OrganisationKinds.Platform;
    public bool IsInstitution => Kind == OrganisationKinds.Institution;
    public bool IsRegulator => Kind == OrganisationKinds.Regulator;
    public bool IsOperator => Kind == OrganisationKinds.Operator;

    /// <summary>True for a call made by the named Oversight service on its own behalf.</summary>
    public bool IsService(string service) => Service == service;

    /// <summary>The shape every organisation id has (see FieldViolations.OrganisationId).</summary>
    public static bool IsOrganisationId(string? value) =>
        value is { Length: > 0 and <= 64 } && (char.IsAsciiLetterLower(value[0]) || char.IsAsciiDigit(value[0]))
        && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-');

    public static Caller From(ClaimsPrincipal principal) => new(
        principal.FindFirstValue(SubjectClaim) ?? "",
        principal.FindFirstValue(KindClaim) ?? "",
        principal.FindFirstValue(ServiceClaim));
}

public static class ServerCallContextCallerExtensions
{
    /// <summary>The authenticated caller of this call (the fallback policy guarantees one).</summary>
    public static Caller GetCaller(this ServerCallContext context) => Caller.From(context.GetHttpContext().User);
}
