using System.CommandLine;
using System.CommandLine.Parsing;
using Oversight.Governance.V1;
using Duration = Google.Protobuf.WellKnownTypes.Duration;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace Oversight.Cli;

/// <summary>
/// The options of <c>proposal create</c>: category and title, exactly one action (with the
/// alliance's scope for --form-alliance, the share class for --issue-shares and --cancel-shares),
/// the voting window, and the related parties. They are checked for shape here; the server checks
/// their meaning against the rulebook and the registry.
/// </summary>
internal sealed class ProposalOptions
{
    private readonly Option<string> _category = new Option<string>("--category")
    {
        Description = "ordinary (a majority of for + against), special (2/3) or reserved (special, and the management share may veto).",
        Required = true,
    }.AcceptOnlyFromAmong("ordinary", "special", "reserved");

    private readonly Option<string> _title = new("--title") { Description = "A short title, 1 to 200 characters.", Required = true };

    private readonly Option<string?> _resolution = new("--resolution") { Description = "Action: a plain resolution with this text." };
    private readonly Option<string?> _rulebookChange = new("--rulebook-change") { Description = "Action: change the data-sharing rulebook as this summary says." };
    private readonly Option<string?> _appointExecutive = new("--appoint-executive") { Description = "Action: appoint --person to this role (such as ceo).", HelpName = "ROLE" };
    private readonly Option<string?> _person = new("--person") { Description = "With --appoint-executive: the person's name.", HelpName = "NAME" };
    private readonly Option<string?> _removeExecutive = new("--remove-executive") { Description = "Action: end this appointment.", HelpName = "APPOINTMENT_ID" };
    private readonly Option<string?> _formAlliance = new("--form-alliance") { Description = "Action: form an alliance with this institution, within the scope options below.", HelpName = "INSTITUTION" };
    private readonly Option<string?> _terminateAlliance = new("--terminate-alliance") { Description = "Action: end this alliance.", HelpName = "ALLIANCE_ID" };

    private readonly Option<Allocation[]> _issueShares = new("--issue-shares")
    {
        Description = "Action: issue new shares to a holder, such as dashfood:50000; repeat for each holder. Needs --category special or reserved.",
        HelpName = "HOLDER:QUANTITY",
        CustomParser = result => [.. result.Tokens.Select(t => ParseHolding("--issue-shares", t.Value, result)).OfType<Allocation>()],
    };

    private readonly Option<Allocation[]> _cancelShares = new("--cancel-shares")
    {
        Description = "Action: cancel shares a holder holds, such as paylink:20000; repeat for each holder. Needs --category special or reserved.",
        HelpName = "HOLDER:QUANTITY",
        CustomParser = result => [.. result.Tokens.Select(t => ParseHolding("--cancel-shares", t.Value, result)).OfType<Allocation>()],
    };

    private readonly Option<string> _shareClass = new("--class")
    {
        Description = "With --issue-shares or --cancel-shares: the share class (the venture's ordinary class).",
        HelpName = "CLASS",
        DefaultValueFactory = _ => "ordinary",
    };

    private readonly Option<string[]> _purposes = new("--purpose") { Description = "Alliance scope: a purpose data may be used for; repeat for more.", AllowMultipleArgumentsPerToken = true };
    private readonly Option<string[]> _dataCategories = new("--data-category") { Description = "Alliance scope: a data category that may flow; repeat for more.", AllowMultipleArgumentsPerToken = true };
    private readonly Option<string[]> _fields = new("--field") { Description = "Alliance scope: a field that may flow; repeat for more.", AllowMultipleArgumentsPerToken = true };
    private readonly Option<bool> _identifiedData = new("--identified-data") { Description = "Alliance scope: subjects may be identified (default: pseudonymised per recipient)." };
    private readonly Option<TimeSpan?> _maxRetention = TimeOptions.Duration("--max-retention", "Alliance scope: the longest the institution may keep the data.");
    private readonly Option<DateTimeOffset?> _validFrom = TimeOptions.Time("--valid-from", "Alliance scope: when data access begins (default now).");
    private readonly Option<DateTimeOffset?> _validUntil = TimeOptions.Time("--valid-until", "Alliance scope: when data access ends.");

    private readonly Option<TimeSpan?> _openIn = TimeOptions.Duration("--open-in", "Voting opens this long from now; at least the rulebook's notice period (7 days by default).");
    private readonly Option<DateTimeOffset?> _openTime = TimeOptions.Time("--open-time", "Voting opens at this time (the record date of the weights). Instead of --open-in.");
    private readonly Option<TimeSpan?> _window = TimeOptions.Duration("--window", "Voting stays open this long after it opens.");
    private readonly Option<DateTimeOffset?> _closeTime = TimeOptions.Time("--close-time", "Voting closes at this time. Instead of --window.");

    private readonly Option<string[]> _relatedParties = new("--related-party")
    {
        Description = "A holder recused as a related party: it neither votes nor counts; repeat for more.",
        AllowMultipleArgumentsPerToken = true,
    };

    private Option[] Actions => [_resolution, _rulebookChange, _appointExecutive, _removeExecutive, _formAlliance, _terminateAlliance, _issueShares, _cancelShares];

    private Option[] Scope => [_purposes, _dataCategories, _fields, _identifiedData, _maxRetention, _validFrom, _validUntil];

    public void AddTo(Command command)
    {
        Option[] timing = [_openIn, _openTime, _window, _closeTime];
        foreach (var option in new Option[] { _category, _title }.Concat(Actions).Append(_person).Append(_shareClass).Concat(Scope).Concat(timing).Append(_relatedParties))
        {
            command.Options.Add(option);
        }

        command.Validators.Add(result =>
        {
            static bool Given(System.CommandLine.Parsing.CommandResult result, Option option) => result.GetResult(option) is { Implicit: false };

            var actions = Actions.Where(a => Given(result, a)).Select(a => a.Name).ToList();
            if (actions.Count != 1)
            {
                result.AddError(actions.Count == 0
                    ? "Give the proposal's action: --resolution, --rulebook-change, --appoint-executive, --remove-executive, --form-alliance, "
                        + "--terminate-alliance, --issue-shares or --cancel-shares."
                    : $"Give one action per proposal, not {string.Join(" and ", actions)}.");
            }

            if (Given(result, _appointExecutive) != Given(result, _person))
            {
                result.AddError("--appoint-executive ROLE and --person NAME go together.");
            }

            if (Given(result, _shareClass) && !Given(result, _issueShares) && !Given(result, _cancelShares))
            {
                result.AddError("--class names the class of --issue-shares or --cancel-shares and goes with one of them.");
            }

            var scope = Scope.Where(o => Given(result, o)).Select(o => o.Name).ToList();
            if (Given(result, _formAlliance))
            {
                var missing = new Option[] { _purposes, _dataCategories, _fields, _maxRetention, _validUntil }.Where(o => !Given(result, o)).Select(o => o.Name).ToList();
                if (missing.Count > 0)
                {
                    result.AddError($"--form-alliance needs its scope: {string.Join(", ", missing)}.");
                }
            }
            else if (scope.Count > 0)
            {
                result.AddError($"{string.Join(", ", scope)} state an alliance's scope and go with --form-alliance.");
            }

            if (Given(result, _openIn) == Given(result, _openTime))
            {
                result.AddError("Give when voting opens: --open-in DURATION or --open-time TIME.");
            }

            if (Given(result, _window) == Given(result, _closeTime))
            {
                result.AddError("Give when voting closes: --window DURATION (after the opening) or --close-time TIME.");
            }
        });
    }

    /// <summary>
    /// The request as given, without its request id. Relative times count from now, so a retry with
    /// the same --request-id must give --open-time and --close-time to send the same body.
    /// </summary>
    public CreateProposalRequest Read(ParseResult parse)
    {
        var now = DateTimeOffset.UtcNow;
        var opensAt = parse.GetValue(_openTime) ?? now + parse.GetValue(_openIn)!.Value;
        var closesAt = parse.GetValue(_closeTime) ?? opensAt + parse.GetValue(_window)!.Value;
        return new CreateProposalRequest
        {
            Category = parse.GetRequiredValue(_category) switch
            {
                "ordinary" => ProposalCategory.Ordinary,
                "special" => ProposalCategory.Special,
                _ => ProposalCategory.ReservedMatter,
            },
            Title = parse.GetRequiredValue(_title),
            Action = Action(parse, now),
            OpenTime = Timestamp.FromDateTimeOffset(opensAt),
            CloseTime = Timestamp.FromDateTimeOffset(closesAt),
            RelatedParties = { parse.GetValue(_relatedParties) ?? [] },
        };
    }

    private ProposalAction Action(ParseResult parse, DateTimeOffset now)
    {
        if (parse.GetValue(_resolution) is { } text)
        {
            return new ProposalAction { PlainResolution = new PlainResolution { Text = text } };
        }

        if (parse.GetValue(_rulebookChange) is { } summary)
        {
            return new ProposalAction { RulebookChange = new RulebookChange { Summary = summary } };
        }

        if (parse.GetValue(_appointExecutive) is { } role)
        {
            return new ProposalAction { AppointExecutive = new AppointExecutive { Role = role, PersonName = parse.GetValue(_person)! } };
        }

        if (parse.GetValue(_removeExecutive) is { } appointmentId)
        {
            return new ProposalAction { RemoveExecutive = new RemoveExecutive { AppointmentId = appointmentId } };
        }

        if (parse.GetValue(_terminateAlliance) is { } allianceId)
        {
            return new ProposalAction { TerminateAlliance = new TerminateAlliance { AllianceId = allianceId } };
        }

        if (parse.GetValue(_issueShares) is [_, ..] issued)
        {
            return new ProposalAction { IssueShares = new IssueShares { Allocations = { InClass(issued, parse) } } };
        }

        if (parse.GetValue(_cancelShares) is [_, ..] cancelled)
        {
            return new ProposalAction { CancelShares = new CancelShares { Cancellations = { InClass(cancelled, parse) } } };
        }

        return new ProposalAction
        {
            FormAlliance = new FormAlliance
            {
                InstitutionId = parse.GetValue(_formAlliance)!,
                Scope = new AllianceScope
                {
                    Purposes = { parse.GetValue(_purposes) ?? [] },
                    DataCategories = { parse.GetValue(_dataCategories) ?? [] },
                    Fields = { parse.GetValue(_fields) ?? [] },
                    IdentifiedData = parse.GetValue(_identifiedData),
                    MaxRetention = Duration.FromTimeSpan(parse.GetValue(_maxRetention)!.Value),
                    ValidFrom = Timestamp.FromDateTimeOffset(parse.GetValue(_validFrom) ?? now),
                    ValidUntil = Timestamp.FromDateTimeOffset(parse.GetValue(_validUntil)!.Value),
                },
            },
        };
    }

    private IEnumerable<Allocation> InClass(Allocation[] holdings, ParseResult parse)
    {
        var classId = parse.GetRequiredValue(_shareClass);
        return holdings.Select(h => new Allocation { HolderId = h.HolderId, ClassId = classId, Quantity = h.Quantity });
    }

    /// <summary>HOLDER:QUANTITY; the class comes from --class.</summary>
    private static Allocation? ParseHolding(string name, string text, ArgumentResult result)
    {
        var parts = text.Split(':');
        if (parts is not [{ Length: > 0 } holder, var count] || GovernanceCommands.Quantity(count, minimum: 1) is not { } quantity)
        {
            result.AddError($"{name} '{text}': write HOLDER:QUANTITY with a whole number of at least 1, such as dashfood:50000.");
            return null;
        }

        return new Allocation { HolderId = holder, Quantity = quantity };
    }
}
