namespace Oversight.BuildingBlocks.Audit;

/// <summary>A module's audit log settings, bound from <c>Oversight:&lt;Module&gt;:AuditLog</c>.</summary>
public sealed class AuditLogOptions
{
    /// <summary>The checkpoint origin line and signing key name, unique to this log (e.g. <c>oversight.example/consent</c>).</summary>
    public string Origin { get; set; } = "";

    /// <summary>
    /// The Ed25519 private key: its 32-byte seed in base64. Empty: a key is created in the data
    /// folder on first start, where development keys are allowed, and the start fails elsewhere.
    /// </summary>
    public string SigningKey { get; set; } = "";

    /// <summary>The HMAC key for subject references (base64, at least 32 bytes). Empty: the development key, where allowed.</summary>
    public string SubjectKey { get; set; } = "";

    /// <summary>How often a checkpoint is signed when the log has grown.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The other services' log verifier keys (C2SP "name+id+key"), to verify the checkpoints they publish.</summary>
    public List<string> PeerVerifierKeys { get; set; } = [];

    /// <summary>
    /// The verifier keys (C2SP "name+id+key") this log signed with before its signing key was rotated,
    /// so the checkpoints signed then still verify. The first checkpoint under the new key is signed
    /// when the log next grows.
    /// </summary>
    public List<string> PreviousVerifierKeys { get; set; } = [];
}
