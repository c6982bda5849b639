namespace Oversight.Governance.Model;

public enum AllianceState { AwaitingRegulator = 1, Active = 2, Suspended = 3, Terminated = 4, Expired = 5, Rejected = 6 }

/// <summary>An alliance; its scope is kept as the protobuf message it was proposed with.</summary>
public sealed record Alliance(
    string Id, string ProposalId, string InstitutionId, byte[] Scope, DateTimeOffset ValidUntil, AllianceState State, string? StateReason,
    DateTimeOffset UpdatedAt, long Version);
