using Google.Rpc;

namespace Oversight.BuildingBlocks.Errors;

/// <summary>
/// An error a caller can cause, with the gRPC code it maps to (design §8). The error interceptor
/// turns it into a status with rich details; anything else becomes INTERNAL and is logged.
/// </summary>
public abstract class ServiceException(Code code, string message) : Exception(message)
{
    public Code Code { get; } = code;
}

/// <summary>INVALID_ARGUMENT with google.rpc.BadRequest field violations.</summary>
public sealed class InvalidArgumentException(IReadOnlyList<BadRequest.Types.FieldViolation> violations)
    : ServiceException(Code.InvalidArgument, BoundedStatus.DescribeViolations(violations))
{
    public IReadOnlyList<BadRequest.Types.FieldViolation> Violations { get; } = violations;
}

/// <summary>NOT_FOUND: the named resource does not exist (or the caller may not know it does).</summary>
public sealed class NotFoundException(string resourceType, string resourceName)
    : ServiceException(Code.NotFound, $"{resourceType} '{resourceName}' was not found.")
{
    public string ResourceType { get; } = resourceType;
    public string ResourceName { get; } = resourceName;
}

/// <summary>FAILED_PRECONDITION: the resource is in the wrong lifecycle state, or a rule forbids the change.</summary>
public sealed class FailedPreconditionException(string type, string subject, string description)
    : ServiceException(Code.FailedPrecondition, description)
{
    /// <summary>A machine-readable violation type such as <c>STATE</c> or <c>SENSITIVE_DATA_NEEDS_SEPARATE_CONSENT</c>.</summary>
    public string ViolationType { get; } = type;
    public string Subject { get; } = subject;
}

/// <summary>ABORTED: a concurrent writer won the race; the caller may read again and retry.</summary>
public sealed class AbortedException(string message) : ServiceException(Code.Aborted, message);

/// <summary>ALREADY_EXISTS: for example a request id reused with a different body.</summary>
public sealed class AlreadyExistsException(string message) : ServiceException(Code.AlreadyExists, message);

/// <summary>PERMISSION_DENIED: the caller is authenticated but may not do this. Always audited.</summary>
public sealed class PermissionDeniedException(string message, string resource = "") : ServiceException(Code.PermissionDenied, message)
{
    /// <summary>What the caller reached for, recorded in the denial audit.</summary>
    public string Resource { get; } = resource;
}

/// <summary>UNAVAILABLE: try again later (for example the store is busy).</summary>
public sealed class UnavailableException(string message) : ServiceException(Code.Unavailable, message);
