using Google.Protobuf.WellKnownTypes;
using Oversight.BuildingBlocks.Data;

namespace Oversight.Governance.Grpc;

/// <summary>
/// Proposal actions and alliance scopes between the v1 messages and the model. The repositories
/// store both in the v1 wire format too: its field numbers never change, so a row written by one
/// build reads under every later one.
/// </summary>
public static class ProposalMapping
{
    /// <summary>A validated request's action (see <c>ProposalGrpcService</c>) or a stored one.</summary>
    public static Model.ProposalAction ToModel(V1.ProposalAction action) => action.KindCase switch
    {
        V1.ProposalAction.KindOneofCase.PlainResolution => new Model.PlainResolution(action.PlainResolution.Text),
        V1.ProposalAction.KindOneofCase.RulebookChange => new Model.RulebookChange(action.RulebookChange.Summary),
        V1.ProposalAction.KindOneofCase.AppointExecutive => new Model.AppointExecutive(action.AppointExecutive.PersonName, action.AppointExecutive.Role),
        V1.ProposalAction.KindOneofCase.RemoveExecutive => new Model.RemoveExecutive(action.RemoveExecutive.AppointmentId),
        V1.ProposalAction.KindOneofCase.FormAlliance => new Model.FormAlliance(action.FormAlliance.InstitutionId, ToModel(action.FormAlliance.Scope)),
        V1.ProposalAction.KindOneofCase.TerminateAlliance => new Model.TerminateAlliance(action.TerminateAlliance.AllianceId),
        V1.ProposalAction.KindOneofCase.IssueShares => new Model.IssueShares(Lines(action.IssueShares.Allocations)),
        V1.ProposalAction.KindOneofCase.CancelShares => new Model.CancelShares(Lines(action.CancelShares.Cancellations)),
        _ => throw new InvalidOperationException($"A proposal action of kind {action.KindCase} has no model."),
    };

    public static V1.ProposalAction ToProto(Model.ProposalAction action) => action switch
    {
        Model.PlainResolution plain => new() { PlainResolution = new() { Text = plain.Text } },
        Model.RulebookChange change => new() { RulebookChange = new() { Summary = change.Summary } },
        Model.AppointExecutive appoint => new() { AppointExecutive = new() { PersonName = appoint.PersonName, Role = appoint.Role } },
        Model.RemoveExecutive remove => new() { RemoveExecutive = new() { AppointmentId = remove.AppointmentId } },
        Model.FormAlliance form => new() { FormAlliance = new() { InstitutionId = form.InstitutionId, Scope = ToProto(form.Scope) } },
        Model.TerminateAlliance terminate => new() { TerminateAlliance = new() { AllianceId = terminate.AllianceId } },
        Model.IssueShares issue => new() { IssueShares = new() { Allocations = { Lines(issue.Allocations) } } },
        Model.CancelShares cancel => new() { CancelShares = new() { Cancellations = { Lines(cancel.Cancellations) } } },
        _ => throw new InvalidOperationException($"The proposal action {action.GetType().Name} has no message."),
    };

    public static Model.AllianceScope ToModel(V1.AllianceScope scope) => new(
        [.. scope.Purposes], [.. scope.DataCategories], [.. scope.Fields], scope.IdentifiedData, scope.MaxRetention?.ToTimeSpan() ?? TimeSpan.Zero,
        StoredTime.ToMillisecond(scope.ValidFrom.ToDateTimeOffset()), StoredTime.ToMillisecond(scope.ValidUntil.ToDateTimeOffset()));

    public static V1.AllianceScope ToProto(Model.AllianceScope scope) => new()
    {
        Purposes = { scope.Purposes },
        DataCategories = { scope.DataCategories },
        Fields = { scope.Fields },
        IdentifiedData = scope.IdentifiedData,
        MaxRetention = Duration.FromTimeSpan(scope.MaxRetention),
        ValidFrom = Timestamp.FromDateTimeOffset(scope.ValidFrom),
        ValidUntil = Timestamp.FromDateTimeOffset(scope.ValidUntil),
    };

    private static List<Model.Allocation> Lines(IEnumerable<V1.Allocation> lines) =>
        lines.Select(a => new Model.Allocation(a.HolderId, a.ClassId, a.Quantity)).ToList();

    private static IEnumerable<V1.Allocation> Lines(IEnumerable<Model.Allocation> lines) =>
        lines.Select(a => new V1.Allocation { HolderId = a.HolderId, ClassId = a.ClassId, Quantity = a.Quantity });
}
