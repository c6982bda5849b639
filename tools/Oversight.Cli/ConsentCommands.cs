using System.Buffers.Text;
using System.CommandLine;
using System.Text;
using Oversight.Consent.V1;
using static Oversight.Cli.GlobalOptions;
using V1 = Oversight.Consent.V1;

namespace Oversight.Cli;

/// <summary>The <c>consent</c> command tree: one subcommand per ConsentService RPC.</summary>
internal static class ConsentCommands
{
    public static Command Create()
    {
        var id = new Option<string>("--id") { Description = "The consent id.", Required = true };
        var reason = new Option<string?>("--reason") { Description = "Why; at most 500 characters." };
        var requestId = new Option<string?>("--request-id") { Description = "Idempotency key; reuse it to retry safely. Default: a new GUID." };
        string RequestId(ParseResult parse) => parse.GetValue(requestId) ?? Guid.NewGuid().ToString();
        var terms = new TermsOptions();

        var grantSubject = new Option<string>("--subject") { Description = "The person's pseudonymous id.", Required = true };
        var grant = new Command("grant", "Grants a consent; the caller (a platform) becomes its controller.") { grantSubject, requestId };
        terms.AddTo(grant);
        grant.SetAction(Remote(async (parse, s) =>
        {
            var response = await s.Consents.GrantConsentAsync(new GrantConsentRequest
            {
                RequestId = RequestId(parse),
                SubjectId = parse.GetRequiredValue(grantSubject),
                Terms = terms.Read(parse),
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => Written(response.Consent, response.ConsistencyToken, response.ReceiptJws));
        }));

        var amend = new Command("amend", "Amends a consent: issues a new one with these terms and supersedes the old.") { id, requestId };
        terms.AddTo(amend);
        amend.SetAction(Remote(async (parse, s) =>
        {
            var response = await s.Consents.AmendConsentAsync(new AmendConsentRequest
            {
                RequestId = RequestId(parse),
                ConsentId = parse.GetRequiredValue(id),
                Terms = terms.Read(parse),
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => Written(response.Consent, response.ConsistencyToken, response.ReceiptJws));
        }));

        var get = new Command("get", "Shows one consent.") { id };
        get.SetAction(Remote(async (parse, s) =>
        {
            var response = await s.Consents.GetConsentAsync(new GetConsentRequest { ConsentId = parse.GetRequiredValue(id) }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => Output.ConsentDetails(response.Consent));
        }));

        var listSubject = new Option<string?>("--subject") { Description = "List this person's consents." };
        var listController = new Option<string?>("--controller") { Description = "List this platform's consents." };
        var pageSize = new Option<int>("--page-size") { Description = "Consents per request (the server's default when unset)." };
        var list = new Command("list", "Lists the consents of a subject or of a controller, newest first.") { listSubject, listController, pageSize };
        list.Validators.Add(result =>
        {
            if (result.GetValue(listSubject) is null == result.GetValue(listController) is null)
            {
                result.AddError("Give exactly one of --subject and --controller.");
            }
        });
        list.SetAction(Remote(async (parse, s) =>
        {
            var response = await Session.AllPagesAsync(token => s.Consents.ListConsentsAsync(new ListConsentsRequest
            {
                SubjectId = parse.GetValue(listSubject) ?? "",
                ControllerId = parse.GetValue(listController) ?? "",
                PageSize = parse.GetValue(pageSize),
                PageToken = token,
            }, cancellationToken: s.Cancellation));
            s.Output.Print(response, () => Output.Lines(response.Consents, Output.ConsentLine));
        }));

        var history = new Command("history", "Lists a consent's state changes, oldest first.") { id };
        history.SetAction(Remote(async (parse, s) =>
        {
            var response = await Session.AllPagesAsync(token => s.Consents.ListConsentEventsAsync(
                new ListConsentEventsRequest { ConsentId = parse.GetRequiredValue(id), PageToken = token }, cancellationToken: s.Cancellation));
            s.Output.Print(response, () =>
            {
                foreach (var e in response.Events)
                {
                    Console.WriteLine($"{Output.Time(e.EventTime)}  v{e.Version}  {Output.Label(e.State),-10}  by {e.ActorId}  {e.Reason}".TrimEnd());
                }
            });
        }));

        var pause = new Command("pause", "Pauses an active consent; checks deny until it is resumed.") { id, reason, requestId };
        pause.SetAction(Remote(async (parse, s) =>
        {
            var response = await s.Consents.PauseConsentAsync(new PauseConsentRequest
            {
                RequestId = RequestId(parse),
                ConsentId = parse.GetRequiredValue(id),
                Reason = parse.GetValue(reason) ?? "",
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => Written(response.Consent, response.ConsistencyToken));
        }));

        var resume = new Command("resume", "Resumes a paused consent.") { id, requestId };
        resume.SetAction(Remote(async (parse, s) =>
        {
            var response = await s.Consents.ResumeConsentAsync(new ResumeConsentRequest
            {
                RequestId = RequestId(parse),
                ConsentId = parse.GetRequiredValue(id),
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => Written(response.Consent, response.ConsistencyToken));
        }));

        var revoke = new Command("revoke", "Withdraws a consent at once.") { id, reason, requestId };
        revoke.SetAction(Remote(async (parse, s) =>
        {
            var response = await s.Consents.RevokeConsentAsync(new RevokeConsentRequest
            {
                RequestId = RequestId(parse),
                ConsentId = parse.GetRequiredValue(id),
                Reason = parse.GetValue(reason) ?? "",
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => Written(response.Consent, response.ConsistencyToken));
        }));

        var consistencyToken = new Option<string?>("--consistency-token") { Description = "From an earlier write: the answer reflects at least that write." };
        var controller = new Option<string>("--controller") { Description = "The platform providing the data.", Required = true };
        var recipient = new Option<string>("--recipient") { Description = "The organisation receiving the data.", Required = true };
        var purpose = new Option<string>("--purpose") { Description = "The purpose of the flow.", Required = true };

        var checkSubject = new Option<string>("--subject") { Description = "The person.", Required = true };
        var checkCategory = new Option<string>("--category") { Description = "The data category.", Required = true };
        var check = new Command("check", "Checks whether one category of one person's data may flow.")
        {
            checkSubject, controller, recipient, purpose, checkCategory, consistencyToken,
        };
        check.SetAction(Remote(async (parse, s) =>
        {
            var response = await s.Consents.CheckConsentAsync(new CheckConsentRequest
            {
                SubjectId = parse.GetRequiredValue(checkSubject),
                ControllerId = parse.GetRequiredValue(controller),
                RecipientId = parse.GetRequiredValue(recipient),
                Purpose = parse.GetRequiredValue(purpose),
                DataCategory = parse.GetRequiredValue(checkCategory),
                ConsistencyToken = parse.GetValue(consistencyToken) ?? "",
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () =>
            {
                Output.DecisionDetails(response.Decision);
                Output.Field("consistency token", response.ConsistencyToken);
            });
        }));

        var batchSubjects = new Option<string[]>("--subject") { Description = "The people; repeat or list several.", Required = true, AllowMultipleArgumentsPerToken = true };
        var batchCategories = new Option<string[]>("--category") { Description = "The data categories; repeat or list several.", Required = true, AllowMultipleArgumentsPerToken = true };
        var batchCheck = new Command("batch-check", "Checks every subject against every category for one controller, recipient and purpose.")
        {
            controller, recipient, purpose, batchSubjects, batchCategories, consistencyToken,
        };
        batchCheck.SetAction(Remote(async (parse, s) =>
        {
            var response = await s.Consents.BatchCheckConsentAsync(new BatchCheckConsentRequest
            {
                ControllerId = parse.GetRequiredValue(controller),
                RecipientId = parse.GetRequiredValue(recipient),
                Purpose = parse.GetRequiredValue(purpose),
                SubjectIds = { parse.GetRequiredValue(batchSubjects) },
                DataCategories = { parse.GetRequiredValue(batchCategories) },
                ConsistencyToken = parse.GetValue(consistencyToken) ?? "",
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () =>
            {
                response.Decisions.ToList().ForEach(Output.DecisionLine);
                Output.Field("consistency token", response.ConsistencyToken);
            });
        }));

        var receipt = new Command("receipt", "Shows a consent's signed receipt and what it says.") { id };
        receipt.SetAction(Remote(async (parse, s) =>
        {
            var response = await s.Consents.GetConsentReceiptAsync(new GetConsentReceiptRequest { ConsentId = parse.GetRequiredValue(id) }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () =>
            {
                Output.Field("key", response.KeyId);
                Output.Field("payload", JwsPayload(response.ReceiptJws));
                Output.Field("receipt", response.ReceiptJws);
            });
        }));

        return new Command("consent", "Grant, inspect, change and check consents.")
        {
            grant, get, list, history, pause, resume, revoke, amend, check, batchCheck, receipt,
        };
    }

    /// <summary>
    /// The <c>subject</c> command tree: a person's view through the platform that serves them
    /// (SubjectService) — who received their data, and the erasure of it.
    /// </summary>
    public static Command Subjects()
    {
        var subject = new Option<string>("--subject") { Description = "The person's pseudonymous id.", Required = true };
        var requestId = new Option<string?>("--request-id") { Description = "Idempotency key; reuse it to retry safely. Default: a new GUID." };

        var disclosures = new Command("disclosures", "Lists who received the person's data, newest first (their platform for its consents; the regulator all).") { subject };
        disclosures.SetAction(Remote(async (parse, s) =>
        {
            var response = await Session.AllPagesAsync(token => s.Subjects.ListDisclosuresAsync(
                new ListDisclosuresRequest { SubjectId = parse.GetRequiredValue(subject), PageToken = token }, cancellationToken: s.Cancellation));
            s.Output.Print(response, () => Output.Lines(response.Disclosures, d => Console.WriteLine(string.Join("  ",
                Output.Time(d.DiscloseTime), $"{d.ControllerId} -> {d.RecipientId}", d.Purpose, string.Join(",", d.DataCategories),
                $"delivery {d.DeliveryId}", d.ConsentId.Length > 0 ? $"consent {d.ConsentId}" : $"mandate {d.MandateId}",
                d.HasAuditEntry ? $"exchange audit entry #{d.AuditSequence}" : "").TrimEnd())));
        }));

        var erase = new Command("erase", "Asks for the person's data held for the calling platform to be erased, and revokes their consents with it (the platform).")
        {
            subject, requestId,
        };
        erase.SetAction(Remote(async (parse, s) =>
        {
            var response = await s.Subjects.RequestErasureAsync(new RequestErasureRequest
            {
                RequestId = parse.GetValue(requestId) ?? Guid.NewGuid().ToString(),
                SubjectId = parse.GetRequiredValue(subject),
            }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () =>
            {
                ErasureDetails(response.ErasureRequest);
                Output.Field("consistency token", response.ConsistencyToken);
            });
        }));

        var id = new Argument<string>("id") { Description = "The erasure request id (from subject erase)." };
        var erasure = new Command("erasure", "Shows an erasure request and whether the data holders confirmed it.") { id };
        erasure.SetAction(Remote(async (parse, s) =>
        {
            var response = await s.Subjects.GetErasureRequestAsync(
                new GetErasureRequestRequest { ErasureRequestId = parse.GetRequiredValue(id) }, cancellationToken: s.Cancellation);
            s.Output.Print(response, () => ErasureDetails(response.ErasureRequest));
        }));

        return new Command("subject", "A person's disclosures and erasure, through their platform (Consent).") { disclosures, erase, erasure };
    }

    private static void ErasureDetails(ErasureRequest request)
    {
        Output.Field("erasure request", request.Id);
        Output.Field("state", Output.Label(request.State));
        Output.Field("subject", $"{request.SubjectId} at {request.ControllerId}");
        Output.Field("requested", Output.Time(request.CreateTime));
        Output.Field("revoked", $"{request.RevokedConsentCount} consent(s)");
        if (request.CompleteTime is not null)
        {
            Output.Field("confirmed", $"{Output.Time(request.CompleteTime)}: {request.ErasedRecordCount} record(s) erased");
        }
    }

    private static void Written(V1.Consent consent, string consistencyToken, string? receiptJws = null)
    {
        Output.ConsentDetails(consent);
        Output.Field("consistency token", consistencyToken);
        if (receiptJws is not null)
        {
            Output.Field("receipt", receiptJws);
        }
    }

    /// <summary>The receipt's claims, readable without a JWT tool; the signature is for verifiers, not for this view.</summary>
    private static string JwsPayload(string jws)
    {
        var parts = jws.Split('.');
        return parts.Length == 3 ? Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1])) : "(not a compact JWS)";
    }
}
