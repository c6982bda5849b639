namespace Oversight.Governance.Model;

/// <summary>What a proposal carries out if it passes: exactly one of the records below.</summary>
public abstract record ProposalAction;

/// <summary>A resolution with no effect beyond its record.</summary>
public sealed record PlainResolution(string Text) : ProposalAction;

/// <summary>A change of the rulebook, recorded; the rulebook itself is configuration.</summary>
public sealed record RulebookChange(string Summary) : ProposalAction;

/// <summary>Appoints a person to a role, subject to the regulator's approval.</summary>
public sealed record AppointExecutive(string PersonName, string Role) : ProposalAction;

/// <summary>Ends an appointment in office.</summary>
public sealed record RemoveExecutive(string AppointmentId) : ProposalAction;

/// <summary>Forms an alliance with an institution, subject to the regulator's approval.</summary>
public sealed record FormAlliance(string InstitutionId, AllianceScope Scope) : ProposalAction;

/// <summary>Terminates an active or suspended alliance.</summary>
public sealed record TerminateAlliance(string AllianceId) : ProposalAction;

/// <summary>Issues ordinary shares to holders.</summary>
public sealed record IssueShares(IReadOnlyList<Allocation> Allocations) : ProposalAction;

/// <summary>Cancels ordinary shares holders hold.</summary>
public sealed record CancelShares(IReadOnlyList<Allocation> Cancellations) : ProposalAction;
