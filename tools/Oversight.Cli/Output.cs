using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Oversight.Consent.V1;
using V1 = Oversight.Consent.V1;

namespace Oversight.Cli;

/// <summary>Prints responses as readable text, as the protobuf JSON mapping with --json, or only their ids with --quiet.</summary>
internal sealed class Output(bool json, bool quiet)
{
    // Default values too, so a script sees "state": "CONSENT_STATE_ACTIVE" rather than a missing key.
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithIndentation());

    /// <summary>Whether responses print as JSON (--json).</summary>
    public bool PrintsJson => json;

    /// <summary>Where a command's own report goes (a verification's checks): stderr under --json, so stdout stays one JSON document.</summary>
    public TextWriter Report => json ? Console.Error : Console.Out;

    public void Print(IMessage response, Action text) => Print(response, text, ResourceIds(response));

    /// <summary>
    /// As above, for a response whose ids are not its resources' <c>id</c> fields: an upload's id, the
    /// delivery a stream's summary closes, the sequence numbers of audit entries.
    /// </summary>
    public void Print(IMessage response, Action text, IReadOnlyCollection<string> quietIds)
    {
        if (json)
        {
            Console.WriteLine(Formatter.Format(response));
        }
        else if (quiet && quietIds.Count > 0)
        {
            foreach (var id in quietIds)
            {
                Console.WriteLine(id);
            }
        }
        else
        {
            text();
        }
    }

    /// <summary>
    /// The ids of the resource a response carries: its first message field (or repeated one) whose
    /// messages have a string <c>id</c> — the consent of a GrantConsentResponse, the transfers of a list.
    /// </summary>
    private static List<string> ResourceIds(IMessage response)
    {
        foreach (var field in response.Descriptor.Fields.InFieldNumberOrder().Where(f => f.FieldType == FieldType.Message))
        {
            var value = field.Accessor.GetValue(response);
            var resources = field.IsRepeated ? ((System.Collections.IEnumerable)value).Cast<IMessage>() : value is IMessage one ? [one] : [];
            var ids = resources.Select(r => r.Descriptor.FindFieldByName("id")?.Accessor.GetValue(r)).OfType<string>().ToList();
            if (ids.Count > 0)
            {
                return ids;
            }
        }

        return [];
    }

    public static void Error(RpcException exception)
    {
        Console.Error.WriteLine($"error: {exception.StatusCode}: {exception.Status.Detail}");
        foreach (var violation in exception.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations ?? [])
        {
            Console.Error.WriteLine($"  {violation.Field}: {violation.Description}");
        }

        // The client's own failures (no connection, say) keep their cause here, not in the detail.
        if (exception.Status.DebugException is { } cause)
        {
            Console.Error.WriteLine($"  cause: {cause.Message}");
        }
    }

    public static void Lines<T>(IReadOnlyCollection<T> items, Action<T> line)
    {
        if (items.Count == 0)
        {
            Console.WriteLine("(none)");
        }

        foreach (var item in items)
        {
            line(item);
        }
    }

    public static void ConsentDetails(V1.Consent consent)
    {
        var terms = consent.Terms;
        var evidence = terms.Evidence;
        Field("consent", consent.Id);
        Field("state", $"{Label(consent.State)} (version {consent.Version})" + Optional(", ", consent.StateReason));
        Field("subject", consent.SubjectId);
        Field("controller", consent.ControllerId);
        Field("recipient", terms.RecipientId);
        Field("purpose", terms.Purpose);
        Field("categories", string.Join(", ", terms.DataCategories));
        Field("valid", $"{Time(terms.ValidFrom ?? consent.CreateTime)} to {Time(terms.ValidUntil)}");
        Field("mode", Label(terms.Mode) + (terms.Mode == ConsentMode.Store ? $", data life {Days(terms.DataLife)}" : ""));
        if (terms.FrequencyLimit is { } limit)
        {
            Field("frequency", $"{limit.MaxDeliveries} per {Label(limit.Period).ToLowerInvariant()}");
        }

        if (evidence is not null)
        {
            var flags = new[]
            {
                evidence.SeparateConsent ? "separate consent" : null,
                evidence.CrossBorder ? "cross-border" : null,
                evidence.SubjectUnder14 ? $"under 14, guardian {evidence.Guardian?.GuardianId}" : null,
            }.OfType<string>();
            Field("evidence", string.Join(", ",
                new[] { Label(evidence.CollectionMethod), $"notice {evidence.NoticeId} v{evidence.NoticeVersion}", evidence.Language, evidence.Jurisdiction }.Concat(flags)));
        }

        if (consent.SupersedesId.Length > 0)
        {
            Field("supersedes", consent.SupersedesId);
        }

        if (consent.SupersededById.Length > 0)
        {
            Field("superseded by", consent.SupersededById);
        }
    }

    public static void ConsentLine(V1.Consent consent) =>
        Console.WriteLine(string.Join("  ",
            consent.Id, $"{Label(consent.State),-10}", consent.SubjectId, $"{consent.ControllerId} -> {consent.Terms.RecipientId}",
            consent.Terms.Purpose, string.Join(",", consent.Terms.DataCategories), $"until {Time(consent.Terms.ValidUntil)}"));

    public static void DecisionDetails(ConsentDecision decision)
    {
        Field("decision", Label(decision.Decision));
        if (decision.Decision == V1.Decision.Allow)
        {
            Field("legal basis", Label(decision.LegalBasis));
            if (decision.DataLife is { } life && life.ToTimeSpan() > TimeSpan.Zero)
            {
                Field("data life", Days(life));
            }
        }
        else
        {
            Field("reason", Label(decision.DenyReason));
        }

        if (decision.MandateId.Length > 0)
        {
            Field("mandate", decision.MandateId);
        }

        if (decision.ConsentId.Length > 0)
        {
            Field("consent", decision.ConsentId);
        }
    }

    public static void DecisionLine(ConsentDecision decision) =>
        Console.WriteLine(string.Join("  ",
            decision.SubjectId, decision.DataCategory, $"{Label(decision.Decision),-5}",
            decision.Decision == V1.Decision.Allow ? Label(decision.LegalBasis) : Label(decision.DenyReason),
            decision.ConsentId + decision.MandateId).TrimEnd());

    public static void Field(string label, string value) => Console.WriteLine($"{label,-18} {value}");

    public static string Time(Timestamp? time) => time is null ? "-" : time.ToDateTimeOffset().ToString("u");

    /// <summary>An enum value by its proto name without the type prefix: DENY_REASON_NO_CONSENT is NO_CONSENT.</summary>
    public static string Label<T>(T value)
        where T : struct, System.Enum
    {
        static string ProtoName(T v) => typeof(T).GetField(v.ToString())?.GetCustomAttribute<OriginalNameAttribute>()?.Name ?? v.ToString();
        var prefix = ProtoName(default)[..^"UNSPECIFIED".Length];
        var name = ProtoName(value);
        return name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : name;
    }

    private static string Days(Duration duration) => $"{duration.ToTimeSpan().TotalDays:0.##} days";

    private static string Optional(string separator, string value) => value.Length > 0 ? separator + value : "";
}
