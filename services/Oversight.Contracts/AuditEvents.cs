namespace Oversight.Contracts.Audit;

/// <summary>
/// A service signed a checkpoint of its audit log. The other services keep it (witnessing), so a
/// history rewritten later is caught by a consistency proof against a checkpoint someone else holds.
/// <see cref="IntegrationEvent.Version"/> is the tree size.
/// </summary>
public sealed record AuditCheckpointSigned : IntegrationEvent
{
    /// <summary>The log's origin line (also the signing key's name).</summary>
    public required string Origin { get; init; }

    public required long TreeSize { get; init; }

    /// <summary>The RFC 9162 root hash, base64.</summary>
    public required string RootHash { get; init; }

    /// <summary>The whole C2SP signed note, which is what a witness verifies and keeps.</summary>
    public required string Note { get; init; }
}
