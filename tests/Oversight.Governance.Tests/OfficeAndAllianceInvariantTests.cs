using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Oversight.Governance.V1;

namespace Oversight.Governance.Tests;

/// <summary>
/// Random histories of appointments and alliances — passed, approved, rejected, withdrawn, revoked,
/// removed, suspended, resumed, terminated, expired — then, at every six hours of the history:
/// nobody in office without a regulator's approval covering the role and the date, one holder per
/// role; and no alliance ever ACTIVE without a passed special proposal and the regulator's approval.
/// </summary>
public sealed class OfficeAndAllianceInvariantTests : FoundedVentureTests
{
    private static readonly string[] Roles = ["ceo", "cfo", "chief_data_officer"];

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private static async Task TryAsync(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (RpcException exception) when (exception.StatusCode is StatusCode.FailedPrecondition)
        {
            // A random step may find its target already moved on (a role taken, an alliance expired): a legitimate refusal.
        }
    }

    private ProposalAction FormAlliance(Random random) => new()
    {
        FormAlliance = new FormAlliance
        {
            InstitutionId = "bureau",
            Scope = new AllianceScope
            {
                Purposes = { "credit_assessment" }, DataCategories = { "user.financial.transactions" }, Fields = { "amount" },
                MaxRetention = Duration.FromTimeSpan(TimeSpan.FromDays(30)),
                ValidFrom = Timestamp.FromDateTimeOffset(Host.Time.GetUtcNow()),
                ValidUntil = Timestamp.FromDateTimeOffset(Host.Time.GetUtcNow().AddDays(20 + random.Next(40))),
            },
        },
    };

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    public async Task Random_histories_keep_offices_and_alliances_covered_by_the_regulator(int seed)
    {
        var random = new Random(seed);
        var start = Host.Time.GetUtcNow();
        var regulator = Host.Executives();
        var alliances = Host.Alliances();
        for (var step = 0; step < 60; step++)
        {
            Host.Time.Advance(TimeSpan.FromHours(random.Next(1, 48)));
            await Host.Services.GetRequiredService<Application.Alliances>().ExpireDueAsync(CancellationToken.None);
            var appointments = (await regulator.ListAppointmentsAsync(new ListAppointmentsRequest { PageSize = 500 })).Appointments;
            var awaiting = appointments.Where(a => a.State == AppointmentState.AwaitingRegulator).ToList();
            var approved = appointments.Where(a => a.State == AppointmentState.Approved).ToList();
            var allied = (await alliances.ListAlliancesAsync(new ListAlliancesRequest { PageSize = 500 })).Alliances;
            string Id() => Guid.NewGuid().ToString();
            switch (random.Next(14))
            {
                case 0 or 1:
                    await PassAsync(new ProposalAction { AppointExecutive = new AppointExecutive { PersonName = $"Person {step}", Role = Pick(random, Roles) } });
                    break;
                case 2 or 3 when awaiting.Count > 0:
                    var effective = Host.Time.GetUtcNow().AddHours(random.Next(0, 96));
                    await TryAsync(() => regulator.ApproveAppointmentAsync(new ApproveAppointmentRequest
                    {
                        RequestId = Id(), AppointmentId = Pick(random, awaiting).Id, EffectiveTime = Timestamp.FromDateTimeOffset(effective),
                    }).ResponseAsync);
                    break;
                case 4 when awaiting.Count > 0:
                    await (random.Next(2) == 0
                        ? (Task)regulator.RejectAppointmentAsync(new RejectAppointmentRequest { RequestId = Id(), AppointmentId = Pick(random, awaiting).Id, Reason = "no" }).ResponseAsync
                        : Host.Executives("operator", "operator").WithdrawAppointmentAsync(
                            new WithdrawAppointmentRequest { RequestId = Id(), AppointmentId = Pick(random, awaiting).Id, Reason = "declined" }).ResponseAsync);
                    break;
                case 5 or 12 or 13 when approved.Count > 0:
                    await (random.Next(2) == 0
                        ? (Task)regulator.RevokeAppointmentAsync(new RevokeAppointmentRequest { RequestId = Id(), AppointmentId = Pick(random, approved).Id, Reason = "misconduct" }).ResponseAsync
                        : PassAsync(new ProposalAction { RemoveExecutive = new RemoveExecutive { AppointmentId = Pick(random, approved).Id } }));
                    break;
                case 6:
                    var formed = await PassAsync(FormAlliance(random));
                    if (random.Next(4) > 0)
                    {
                        await alliances.ApproveAllianceAsync(new ApproveAllianceRequest { RequestId = Id(), AllianceId = formed });
                    }

                    break;
                case 7 or 8 or 9 when allied.Any(a => a.State == AllianceState.AwaitingRegulator):
                    var candidate = Pick(random, allied.Where(a => a.State == AllianceState.AwaitingRegulator).ToList());
                    await TryAsync(() => random.Next(4) == 0
                        ? alliances.RejectAllianceAsync(new RejectAllianceRequest { RequestId = Id(), AllianceId = candidate.Id, Reason = "scope too wide" }).ResponseAsync
                        : alliances.ApproveAllianceAsync(new ApproveAllianceRequest { RequestId = Id(), AllianceId = candidate.Id }).ResponseAsync);
                    break;
                case 10 when allied.Any(a => a.State is AllianceState.Active or AllianceState.Suspended):
                    var live = Pick(random, allied.Where(a => a.State is AllianceState.Active or AllianceState.Suspended).ToList());
                    await TryAsync(() => live.State == AllianceState.Active
                        ? alliances.SuspendAllianceAsync(new SuspendAllianceRequest { RequestId = Id(), AllianceId = live.Id, Reason = "breach" }).ResponseAsync
                        : alliances.ResumeAllianceAsync(new ResumeAllianceRequest { RequestId = Id(), AllianceId = live.Id, Reason = "remedied" }).ResponseAsync);
                    break;
                case 11 when allied.Any(a => a.State is AllianceState.Active or AllianceState.Suspended):
                    await PassAsync(new ProposalAction { TerminateAlliance = new TerminateAlliance { AllianceId = allied.First(a => a.State is AllianceState.Active or AllianceState.Suspended).Id } });
                    break;
            }
        }

        await Host.Services.GetRequiredService<Application.Alliances>().ExpireDueAsync(CancellationToken.None);
        await AssertOfficesCoveredAsync(start, Host.Time.GetUtcNow().AddDays(5));
        await AssertAlliancesCoveredAsync();
    }

    private async Task<ILookup<string, Oversight.Audit.V1.AuditEntry>> AuditByTargetAsync()
    {
        var entries = new List<Oversight.Audit.V1.AuditEntry>();
        var page = "";
        do
        {
            var response = await Host.Audit().ListEntriesAsync(new Oversight.Audit.V1.ListEntriesRequest { PageSize = 500, PageToken = page });
            entries.AddRange(response.Entries);
            page = response.NextPageToken;
        }
        while (page != "");

        return entries.ToLookup(e => e.Resource);
    }

    private async Task AssertOfficesCoveredAsync(DateTimeOffset from, DateTimeOffset until)
    {
        var audit = await AuditByTargetAsync();
        var proposals = (await Host.Proposals("operator", "operator").ListProposalsAsync(new ListProposalsRequest { PageSize = 500 })).Proposals;
        var everInOffice = 0;
        for (var at = from; at <= until; at = at.AddHours(6))
        {
            var inOffice = (await Host.Executives().ListExecutivesInOfficeAsync(new ListExecutivesInOfficeRequest { AtTime = Timestamp.FromDateTimeOffset(at) })).Appointments;
            everInOffice += inOffice.Count;
            Assert.Equal(inOffice.Count, inOffice.Select(a => a.Role).Distinct().Count());
            foreach (var appointment in inOffice)
            {
                var approval = Assert.Single(audit[$"appointment/{appointment.Id}"], e => e.Action == "executive.approved");
                Assert.Equal("regulator", approval.ActorKind);
                Assert.True(appointment.EffectiveTime.ToDateTimeOffset() <= at && approval.RecordTime.ToDateTimeOffset() <= appointment.EffectiveTime.ToDateTimeOffset());
                Assert.True(appointment.EndTime is null || at < appointment.EndTime.ToDateTimeOffset());
                var proposal = Assert.Single(proposals, p => p.Id == appointment.ProposalId);
                Assert.Equal((V1.ProposalState.Passed, appointment.Id, appointment.Role), (proposal.State, proposal.AppointmentId, proposal.Action.AppointExecutive.Role));
            }
        }

        Assert.True(everInOffice > 0, "the random history never put anyone in office; the check would be empty");
        var appointments = (await Host.Executives().ListAppointmentsAsync(new ListAppointmentsRequest { State = AppointmentState.Ended, PageSize = 500 })).Appointments;
        Assert.True(appointments.Count > 0, "the random history never ended an appointment; the check would miss offices held past their end");
    }

    private async Task AssertAlliancesCoveredAsync()
    {
        var audit = await AuditByTargetAsync();
        var proposals = (await Host.Proposals("operator", "operator").ListProposalsAsync(new ListProposalsRequest { PageSize = 500 })).Proposals;
        var all = (await Host.Alliances().ListAlliancesAsync(new ListAlliancesRequest { PageSize = 500 })).Alliances;
        Assert.Contains(all, a => audit[$"alliance/{a.Id}"].Any(e => e.Action == "alliance.approved"));
        foreach (var alliance in all)
        {
            var proposal = Assert.Single(proposals, p => p.Id == alliance.ProposalId);
            Assert.Equal((V1.ProposalState.Passed, alliance.Id, alliance.InstitutionId), (proposal.State, proposal.AllianceId, proposal.Action.FormAlliance.InstitutionId));
            Assert.NotEqual(V1.ProposalCategory.Ordinary, proposal.Category);
            var approvals = audit[$"alliance/{alliance.Id}"].Where(e => e.Action == "alliance.approved").ToList();
            // Only an approval makes an alliance live; one that expired may or may not have been live before.
            Assert.All(approvals, a => Assert.Equal("regulator", a.ActorKind));
            switch (alliance.State)
            {
                case AllianceState.Active or AllianceState.Suspended or AllianceState.Terminated:
                    Assert.Single(approvals);
                    break;
                case AllianceState.AwaitingRegulator or AllianceState.Rejected:
                    Assert.Empty(approvals);
                    break;
                default:
                    Assert.True(approvals.Count <= 1);
                    break;
            }

            if (alliance.State == AllianceState.Active)
            {
                Assert.True(Host.Time.GetUtcNow() < alliance.Scope.ValidUntil.ToDateTimeOffset(), $"alliance {alliance.Id} is ACTIVE past its validity");
            }
        }
    }
}
