namespace Oversight.Governance.Model;

public enum AppointmentState { AwaitingRegulator = 1, Approved = 2, Rejected = 3, Ended = 4, Withdrawn = 5 }

/// <summary>One person's appointment to a role; in office only between its approval's effective date and its end.</summary>
public sealed record Appointment(
    string Id, string ProposalId, string PersonName, string Role, AppointmentState State, DateTimeOffset? EffectiveFrom, DateTimeOffset? EndedAt,
    string? DecisionReason, long Version)
{
    public bool InOfficeAt(DateTimeOffset at) =>
        State is AppointmentState.Approved or AppointmentState.Ended && EffectiveFrom is { } from && from <= at && (EndedAt is null || at < EndedAt);
}
