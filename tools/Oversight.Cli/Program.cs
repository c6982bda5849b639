using System.CommandLine;
using Oversight.Cli;
using Oversight.Consent.V1;
using static Oversight.Cli.GlobalOptions;

// oversight-cli [--address URL] [--token T | --as ORG --kind KIND] [--json | --quiet] <command>
//   token | consent … | subject … | registry purposes|categories|mandates | receipts keys
//   org … | venture … | transfer … | capital-change … | proposal … | executive … | alliance … | mandate …
//   exchange dataset|upload|request|fetch|delivery|attest|overdue … | exchange freeze|unfreeze|status
//   audit list|entry|checkpoint save|verify|verify-log --service consent|governance|exchange

var root = new RootCommand("oversight-cli: a command-line client of the Oversight Consent, Governance and Exchange services.");
foreach (var option in GlobalOptions.All)
{
    root.Options.Add(option);
}

var org = new Option<string>("--org") { Description = "The organisation id (the token's sub).", Required = true };
var service = new Option<string?>("--service") { Description = "For service-to-service tokens: the calling service (svc claim)." };
var hours = new Option<int>("--hours") { Description = "Lifetime in hours.", DefaultValueFactory = _ => 12 };
var token = new Command("token", "Prints a bearer token signed with the development key, or Oversight__Auth__SigningKey when set.")
{
    org, service, hours,
};
token.Validators.Add(result =>
{
    if (result.GetValue(Kind) is null)
    {
        result.AddError("token needs --kind.");
    }
});
token.SetAction(parse =>
{
    Console.WriteLine(MintToken(parse.GetRequiredValue(org), parse.GetRequiredValue(Kind)!, parse.GetValue(service), TimeSpan.FromHours(parse.GetValue(hours))));
    return 0;
});

var purposes = new Command("purposes", "Lists the registered purposes.");
purposes.SetAction(Remote(async (_, s) =>
{
    var response = await Session.AllPagesAsync(page => s.Registry.ListPurposesAsync(new ListPurposesRequest { PageToken = page }, cancellationToken: s.Cancellation));
    s.Output.Print(response, () =>
    {
        foreach (var purpose in response.Purposes)
        {
            Console.WriteLine($"{purpose.Id,-28} {purpose.DisplayName}: {purpose.Description}");
        }
    });
}));

var categories = new Command("categories", "Lists the data category taxonomy, parents before children.");
categories.SetAction(Remote(async (_, s) =>
{
    var response = await Session.AllPagesAsync(page => s.Registry.ListDataCategoriesAsync(new ListDataCategoriesRequest { PageToken = page }, cancellationToken: s.Cancellation));
    s.Output.Print(response, () =>
    {
        foreach (var category in response.DataCategories)
        {
            Console.WriteLine($"{category.Id,-40} {(category.Sensitive ? "sensitive" : ""),-9}  {category.DisplayName}");
        }
    });
}));

var mandates = new Command("mandates", "Lists the statutory mandates (in force or repealed), by id.");
mandates.SetAction(Remote(async (_, s) =>
{
    var response = await Session.AllPagesAsync(page => s.Registry.ListStatutoryMandatesAsync(new ListStatutoryMandatesRequest { PageToken = page }, cancellationToken: s.Cancellation));
    s.Output.Print(response, () => Output.Lines(response.Mandates, m =>
    {
        var repealed = m.RepealTime is null ? "" : $"  repealed {Output.Time(m.RepealTime)}";
        Console.WriteLine($"{m.Id}  {m.RecipientId}  {string.Join(",", m.Purposes)}  {string.Join(",", m.DataCategories)}  {m.LegalReference}{repealed}");
    }));
}));

var keys = new Command("keys", "Lists the public keys that verify consent receipts, current first.");
keys.SetAction(Remote(async (_, s) =>
{
    var response = await s.ReceiptKeys.ListReceiptKeysAsync(new ListReceiptKeysRequest(), cancellationToken: s.Cancellation);
    s.Output.Print(response, () =>
    {
        foreach (var key in response.Keys)
        {
            Console.WriteLine($"{key.KeyId}  {key.Algorithm} {key.KeyType} {key.Curve}");
            Console.WriteLine(key.PublicKeyPem.TrimEnd());
        }
    });
}));

root.Subcommands.Add(token);
root.Subcommands.Add(ConsentCommands.Create());
root.Subcommands.Add(ConsentCommands.Subjects());
root.Subcommands.Add(new Command("registry", "The vocabularies consents are written in.") { purposes, categories, mandates });
root.Subcommands.Add(new Command("receipts", "Receipt verification keys.") { keys });
GovernanceCommands.Create().ToList().ForEach(root.Subcommands.Add);
root.Subcommands.Add(ExchangeCommands.Create(GovernanceCommands.ExchangeOrders()));
root.Subcommands.Add(AuditCommands.Create());

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // The errors alone, with where to look: the full help would bury a one-line mistake.
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"error: {error.Message}");
    }

    Console.Error.WriteLine($"  options: {CommandPath(parse.CommandResult)} --help");
    return 1;
}

return await parse.InvokeAsync();

static string CommandPath(System.CommandLine.Parsing.CommandResult command)
{
    var names = new List<string>();
    for (var result = command; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
    {
        names.Insert(0, result.Command is RootCommand ? "oversight-cli" : result.Command.Name);
    }

    return string.Join(' ', names);
}
