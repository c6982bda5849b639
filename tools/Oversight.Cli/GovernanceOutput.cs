using System.Globalization;
using Oversight.Governance.V1;
using static Oversight.Cli.Output;

namespace Oversight.Cli;

/// <summary>Governance's responses as readable text; <see cref="Output"/> prints them as JSON with --json.</summary>
internal static class GovernanceOutput
{
    public static void OrganisationDetails(Organisation organisation)
    {
        Field("organisation", organisation.Id);
        Field("kind", Kind(organisation.Kind));
        Field("name", organisation.Name);
        Field("jurisdiction", organisation.Jurisdiction);
        Field("affiliations", organisation.Affiliations.Count == 0 ? "-" : string.Join(", ", organisation.Affiliations));
        Field("version", $"{organisation.Version}, updated {Time(organisation.UpdateTime ?? organisation.CreateTime)}");
    }

    public static void OrganisationLine(Organisation organisation) =>
        Console.WriteLine($"{organisation.Id,-24} {Kind(organisation.Kind),-14} {organisation.Jurisdiction,-3} {organisation.Name}"
            + (organisation.Affiliations.Count == 0 ? "" : $"  (affiliated with {string.Join(", ", organisation.Affiliations)})"));

    /// <summary>An organisation kind as tokens spell it: platform, state_investor, …</summary>
    public static string Kind(OrganisationKind kind) => Label(kind).ToLowerInvariant();

    /// <summary>The cap table with one row per holder and a total row; percentages from basis points, never floating point.</summary>
    public static void CapTableDetails(CapTable table)
    {
        Field("ledger sequence", table.LedgerSequence.ToString(CultureInfo.InvariantCulture));
        Field("founded", Time(table.FoundTime));
        Field("share classes", string.Join("; ", table.ShareClasses.Select(c =>
            $"{c.Id} ({Label(c.Kind).ToLowerInvariant()}, {Count(c.VotesPerShare)} vote{(c.VotesPerShare == 1 ? "" : "s")} per share, {Count(c.Authorised)} authorised"
            + (c.Transferable ? ", transferable)" : ", not transferable)"))));
        Console.WriteLine();
        const string row = "{0,-24} {1,12} {2,10} {3,12} {4,8}";
        Console.WriteLine(row, "holder", "ordinary", "management", "votes", "percent");
        foreach (var h in table.Holdings)
        {
            Console.WriteLine(row, h.HolderId, Count(h.OrdinaryShares), Count(h.ManagementShares), Count(h.VotingPower), Percent(h.OrdinaryBasisPoints));
        }

        Console.WriteLine(row, "total", Count(table.OrdinaryOutstanding), Count(table.Holdings.Sum(h => h.ManagementShares)),
            Count(table.TotalVotingPower), Percent(table.Holdings.Sum(h => h.OrdinaryBasisPoints)));
    }

    public static void LedgerLine(LedgerEntry entry)
    {
        var movement = entry.Kind switch
        {
            LedgerEntryKind.Issuance => $"to {entry.ToHolderId}",
            LedgerEntryKind.Cancellation => $"from {entry.FromHolderId}",
            _ => $"{entry.FromHolderId} -> {entry.ToHolderId}",
        };
        Console.WriteLine($"#{entry.Sequence,-4} {Time(entry.RecordTime)}  {Label(entry.Kind),-12} {Count(entry.Quantity),12} {entry.ClassId,-12} {movement}  {entry.Reason}".TrimEnd());
    }

    public static void TransferDetails(ShareTransfer transfer)
    {
        Field("transfer", transfer.Id);
        Field("state", Label(transfer.State) + (transfer.State == ShareTransferState.AwaitingRegulator ? $": {transfer.ApprovalReason}" : ""));
        Field("shares", $"{Count(transfer.Quantity)} {transfer.ClassId} from {transfer.SellerId} to {transfer.BuyerId}");
        Field("requested", Time(transfer.RequestTime));
        if (transfer.DecideTime is not null)
        {
            Field("decided", Time(transfer.DecideTime) + (transfer.DecisionReason.Length > 0 ? $": {transfer.DecisionReason}" : ""));
        }

        if (transfer.State != ShareTransferState.AwaitingRegulator && transfer.ApprovalReason.Length > 0)
        {
            Field("needed regulator", transfer.ApprovalReason);
        }

        if (transfer.LedgerSequence > 0)
        {
            Field("ledger sequence", transfer.LedgerSequence.ToString(CultureInfo.InvariantCulture));
        }
    }

    public static void TransferLine(ShareTransfer transfer) =>
        Console.WriteLine($"{transfer.Id}  {Label(transfer.State),-18} {Count(transfer.Quantity),12} {transfer.ClassId} {transfer.SellerId} -> {transfer.BuyerId}  "
            + $"requested {Time(transfer.RequestTime)}" + (transfer.State == ShareTransferState.AwaitingRegulator ? $"  ({transfer.ApprovalReason})" : ""));

    public static void CapitalChangeDetails(CapitalChange change)
    {
        Field("capital change", change.Id);
        Field("state", Label(change.State) + (change.State == CapitalChangeState.AwaitingRegulator ? $": {change.ApprovalReason}" : ""));
        Field("shares", Shares(change.Kind, change.Allocations));
        Field("proposal", $"{change.ProposalId}, passed {Time(change.CreateTime)}");
        if (change.DecideTime is not null)
        {
            Field("decided", Time(change.DecideTime) + (change.DecisionReason.Length > 0 ? $": {change.DecisionReason}" : ""));
        }

        if (change.State != CapitalChangeState.AwaitingRegulator && change.ApprovalReason.Length > 0)
        {
            Field("needed regulator", change.ApprovalReason);
        }

        if (change.LedgerSequence > 0)
        {
            Field("ledger sequence", change.LedgerSequence.ToString(CultureInfo.InvariantCulture));
        }
    }

    public static void CapitalChangeLine(CapitalChange change) =>
        Console.WriteLine($"{change.Id}  {Label(change.State),-18} {Shares(change.Kind, change.Allocations)}  passed {Time(change.CreateTime)}"
            + (change.State == CapitalChangeState.AwaitingRegulator ? $"  ({change.ApprovalReason})" : ""));

    public static void ProposalDetails(Proposal proposal)
    {
        Field("proposal", proposal.Id);
        Field("title", proposal.Title);
        Field("state", Label(proposal.State) + (proposal.EndReason.Length > 0 ? $": {proposal.EndReason}" : ""));
        Field("category", $"{Label(proposal.Category)}: majority {Ratio(proposal.Majority)} of for + against, quorum {Ratio(proposal.Quorum)} of entitled votes (rules v{proposal.RuleVersion})");
        Field("action", Action(proposal.Action));
        Field("proposer", proposal.ProposerId);
        Field("voting", $"{Time(proposal.OpenTime)} to {Time(proposal.CloseTime)}");
        if (proposal.RelatedParties.Count > 0)
        {
            Field("related parties", string.Join(", ", proposal.RelatedParties));
        }

        if (proposal.Tally is { } tally)
        {
            Field("tally", $"for {Count(tally.ForWeight)}, against {Count(tally.AgainstWeight)}, abstain {Count(tally.AbstainWeight)} of {Count(tally.EntitledWeight)} entitled");
            Field("explanation", tally.Explanation);
        }

        if (proposal.AppointmentId.Length > 0)
        {
            Field("appointment", proposal.AppointmentId);
        }

        if (proposal.AllianceId.Length > 0)
        {
            Field("alliance", proposal.AllianceId);
        }

        if (proposal.CapitalChangeId.Length > 0)
        {
            Field("capital change", proposal.CapitalChangeId);
        }
    }

    public static void ProposalLine(Proposal proposal) =>
        Console.WriteLine($"{proposal.Id}  {Label(proposal.State),-14} {Label(proposal.Category),-15} voting {Time(proposal.OpenTime)} to {Time(proposal.CloseTime)}  {proposal.Title}");

    public static void AppointmentDetails(Appointment appointment)
    {
        Field("appointment", appointment.Id);
        Field("executive", $"{appointment.PersonName} as {appointment.Role}");
        Field("state", Label(appointment.State) + (appointment.DecisionReason.Length > 0 ? $": {appointment.DecisionReason}" : ""));
        if (appointment.EffectiveTime is not null)
        {
            Field("effective", Time(appointment.EffectiveTime));
        }

        if (appointment.EndTime is not null)
        {
            Field("ended", Time(appointment.EndTime));
        }

        Field("proposal", appointment.ProposalId);
    }

    public static void AppointmentLine(Appointment appointment) =>
        Console.WriteLine($"{appointment.Id}  {Label(appointment.State),-18} {appointment.Role,-20} {appointment.PersonName}"
            + (appointment.EffectiveTime is null ? "" : $"  effective {Time(appointment.EffectiveTime)}")
            + (appointment.EndTime is null ? "" : $"  ended {Time(appointment.EndTime)}"));

    public static void ExecutiveLine(Appointment appointment) =>
        Console.WriteLine($"{appointment.Role,-20} {appointment.PersonName,-24} since {Time(appointment.EffectiveTime)}  appointment {appointment.Id}");

    public static void AllianceDetails(Alliance alliance)
    {
        Field("alliance", alliance.Id);
        Field("institution", alliance.InstitutionId);
        Field("state", Label(alliance.State) + (alliance.StateReason.Length > 0 ? $": {alliance.StateReason}" : ""));
        Field("scope", Scope(alliance.Scope));
        Field("proposal", alliance.ProposalId);
        Field("updated", $"{Time(alliance.UpdateTime)} (version {alliance.Version})");
    }

    public static void AllianceLine(Alliance alliance) =>
        Console.WriteLine($"{alliance.Id}  {Label(alliance.State),-18} {alliance.InstitutionId,-24} "
            + $"{string.Join(",", alliance.Scope?.Purposes ?? [])}  valid {Time(alliance.Scope?.ValidFrom)} to {Time(alliance.Scope?.ValidUntil)}");

    public static void MandateDetails(StatutoryMandate mandate)
    {
        Field("mandate", mandate.Id);
        Field("legal reference", mandate.LegalReference);
        Field("recipient", mandate.RecipientId);
        Field("purposes", string.Join(", ", mandate.Purposes));
        Field("categories", string.Join(", ", mandate.DataCategories));
        Field("valid", $"{Time(mandate.ValidFrom)} to {(mandate.ValidUntil is null ? "repeal" : Time(mandate.ValidUntil))}");
        if (mandate.RepealTime is not null)
        {
            Field("repealed", $"{Time(mandate.RepealTime)}: {mandate.RepealReason}");
        }
    }

    public static void MandateLine(StatutoryMandate m) =>
        Console.WriteLine($"{m.Id}  {m.RecipientId}  {string.Join(",", m.Purposes)}  {string.Join(",", m.DataCategories)}  {m.LegalReference}"
            + (m.RepealTime is null ? "" : $"  repealed {Time(m.RepealTime)}"));

    public static void ExchangeStatusDetails(ExchangeStatus status)
    {
        Field("exchange", status.Frozen ? "FROZEN" : "open");
        if (status.OrderId.Length > 0)
        {
            Field("since", $"{Time(status.UpdateTime)}: {status.Reason}");
            Field("order", status.OrderId);
        }
    }

    private static string Action(ProposalAction action) => action.KindCase switch
    {
        ProposalAction.KindOneofCase.PlainResolution => $"resolution: {action.PlainResolution.Text}",
        ProposalAction.KindOneofCase.RulebookChange => $"rulebook change: {action.RulebookChange.Summary}",
        ProposalAction.KindOneofCase.AppointExecutive => $"appoint {action.AppointExecutive.PersonName} as {action.AppointExecutive.Role}",
        ProposalAction.KindOneofCase.RemoveExecutive => $"remove the executive of appointment {action.RemoveExecutive.AppointmentId}",
        ProposalAction.KindOneofCase.FormAlliance => $"form an alliance with {action.FormAlliance.InstitutionId}: {Scope(action.FormAlliance.Scope)}",
        ProposalAction.KindOneofCase.TerminateAlliance => $"terminate alliance {action.TerminateAlliance.AllianceId}",
        ProposalAction.KindOneofCase.IssueShares => Shares(CapitalChangeKind.Issuance, action.IssueShares.Allocations),
        ProposalAction.KindOneofCase.CancelShares => Shares(CapitalChangeKind.Cancellation, action.CancelShares.Cancellations),
        _ => action.KindCase.ToString(),
    };

    /// <summary>"issue 50,000 ordinary to dashfood, …" or "cancel 20,000 ordinary of paylink, …".</summary>
    private static string Shares(CapitalChangeKind kind, IEnumerable<Allocation> allocations) => kind == CapitalChangeKind.Cancellation
        ? "cancel " + string.Join(", ", allocations.Select(a => $"{Count(a.Quantity)} {a.ClassId} of {a.HolderId}"))
        : "issue " + string.Join(", ", allocations.Select(a => $"{Count(a.Quantity)} {a.ClassId} to {a.HolderId}"));

    private static string Scope(AllianceScope? scope) => scope is null
        ? "-"
        : $"purposes {string.Join(",", scope.Purposes)}; categories {string.Join(",", scope.DataCategories)}; fields {string.Join(",", scope.Fields)}; "
            + $"{(scope.IdentifiedData ? "identified" : "pseudonymised")}; kept at most {scope.MaxRetention?.ToTimeSpan().TotalDays:0.##} days; "
            + $"valid {Time(scope.ValidFrom)} to {Time(scope.ValidUntil)}";

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Percent(long basisPoints) => $"{basisPoints / 100}.{basisPoints % 100:00}%";

    private static string Ratio(Fraction? fraction) => fraction is null ? "-" : $"{fraction.Numerator}/{fraction.Denominator}";
}
