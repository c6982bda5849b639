using System.CommandLine;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Messaging;
using Oversight.BuildingBlocks.Security;
using Oversight.Host;

// oversight [--services consent,…] [--data DIR] [ASP.NET configuration arguments…]
// oversight token --org ID --kind KIND [--service NAME] [--hours N]
// oversight probe [--port N] [--live]

var servicesOption = new Option<string?>("--services")
{
    Description = "Comma-separated modules to run (" + string.Join(", ", Modules.All.Select(m => m.Name)) + "). Default: all, on the embedded default.",
};
var dataOption = new Option<string?>("--data") { Description = "Folder for the embedded SQLite files and keys (default $OVERSIGHT_DATA_DIR or ./data)." };
var demoOption = new Option<bool>("--demo")
{
    Description = "Seed a demonstration through the services' RPCs: the venture (regulator, state investor, four platforms, two institutions, founded with "
        + "shareholdings), an alliance with the credit bureau voted in and approved, and ShopWave's transactions dataset with its customers' consents. "
        + "Governance then runs with a 1-second notice period and tally unless they are set.",
};
var root = new RootCommand("Oversight: the Consent, Governance and Exchange services.") { servicesOption, dataOption, demoOption };
root.TreatUnmatchedTokensAsErrors = false;
root.SetAction((parse, cancellation) => RunAsync(
    parse.GetValue(servicesOption), parse.GetValue(dataOption), parse.GetValue(demoOption), parse.UnmatchedTokens.ToArray(), cancellation));

var orgOption = new Option<string>("--org") { Description = "The organisation id (the token's sub).", Required = true };
var kindOption = new Option<string>("--kind") { Description = "platform, institution, regulator, state_investor or operator.", Required = true };
var serviceOption = new Option<string?>("--service") { Description = "For service-to-service tokens: the calling service (svc claim)." };
var hoursOption = new Option<int>("--hours") { Description = "Lifetime in hours.", DefaultValueFactory = _ => 12 };
var token = new Command("token", "Prints a bearer token signed with the configured key (the development key unless Oversight__Auth__SigningKey is set).")
{
    orgOption, kindOption, serviceOption, hoursOption,
};
token.TreatUnmatchedTokensAsErrors = false;
token.SetAction(parse =>
{
    var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(parse.UnmatchedTokens.ToArray()).Build();
    var issuer = new TokenIssuer(AuthOptions.From(configuration), TimeProvider.System);
    Console.WriteLine(issuer.Mint(parse.GetValue(orgOption)!, parse.GetValue(kindOption)!, parse.GetValue(serviceOption), TimeSpan.FromHours(parse.GetValue(hoursOption))));
    return 0;
});
root.Subcommands.Add(token);

var probePortOption = new Option<int?>("--port") { Description = "The host's health port (default: Oversight__HealthPort, else 5100)." };
var liveOption = new Option<bool>("--live") { Description = "Ask /alive (is the process answering) instead of /healthz (is it ready: database, broker, outbox)." };
var probe = new Command("probe", "Asks a running host on this machine whether it is healthy, as a container's health check does (the image has no curl). "
    + "Prints the answer; exits 0 for Healthy or Degraded, 1 for Unhealthy or no answer within 5 s.")
{
    probePortOption, liveOption,
};
probe.SetAction(async (parse, cancellation) =>
{
    var port = parse.GetValue(probePortOption) ?? (int.TryParse(Environment.GetEnvironmentVariable("Oversight__HealthPort"), out var configured) ? configured : 5100);
    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
    try
    {
        using var response = await http.GetAsync($"http://127.0.0.1:{port}/{(parse.GetValue(liveOption) ? "alive" : "healthz")}", cancellation);
        Console.WriteLine(await response.Content.ReadAsStringAsync(cancellation));
        return response.IsSuccessStatusCode ? 0 : 1;
    }
    catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
    {
        await Console.Error.WriteLineAsync($"no answer on port {port}: {exception.Message}");
        return 1;
    }
});
root.Subcommands.Add(probe);

return await root.Parse(args).InvokeAsync();

static async Task<int> RunAsync(string? servicesArgument, string? dataArgument, bool demo, string[] configurationArgs, CancellationToken cancellation)
{
    var embeddedDefault = string.IsNullOrWhiteSpace(servicesArgument);
    var selected = new List<HostedModule>();
    foreach (var name in (servicesArgument ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
    {
        var module = Modules.Find(name);
        if (module is null)
        {
            await Console.Error.WriteLineAsync($"Unknown service '{name}'. Known: {string.Join(", ", Modules.All.Select(m => m.Name))}.");
            return 2;
        }

        selected.Add(module);
    }

    if (selected.Count == 0)
    {
        selected.AddRange(Modules.All);
    }

    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = configurationArgs, ContentRootPath = AppContext.BaseDirectory });
    if (embeddedDefault)
    {
        // The embedded default: its demo organisations, so a newcomer can grant a consent at once, and
        // leave to run on development keys (one process on one machine, nothing to share a key with).
        builder.Configuration.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "embedded-default.json"), optional: true);
        builder.Configuration.AddEnvironmentVariables();
        builder.Configuration.AddCommandLine(configurationArgs);
    }

    if (demo)
    {
        // The demo votes its alliance in while you wait: a short notice period and a quick tally, unless you set them.
        builder.Configuration.AddInMemoryCollection(DemoExchange.QuickVoting.Where(setting => builder.Configuration[setting.Key] is null)
            .Select(setting => KeyValuePair.Create(setting.Key, (string?)setting.Value)));
    }

    var dataDirectory = Path.GetFullPath(dataArgument ?? Environment.GetEnvironmentVariable("OVERSIGHT_DATA_DIR") ?? "data");
    Directory.CreateDirectory(dataDirectory);

    var listen = builder.Configuration["Oversight:ListenAddress"] ?? "127.0.0.1";
    var ports = selected.ToDictionary(m => m.Name, m => builder.Configuration.GetValue($"Oversight:{Capitalise(m.Name)}:Port", m.DefaultPort));
    // gRPC ports speak HTTP/2 without TLS (h2c, prior knowledge); a separate HTTP/1.1 port serves
    // /healthz to plain HTTP probes. TLS, where wanted, is Kestrel configuration (Kestrel:Endpoints).
    var healthPort = builder.Configuration.GetValue("Oversight:HealthPort", 5100);
    builder.WebHost.ConfigureKestrel(kestrel =>
    {
        var address = System.Net.IPAddress.Parse(listen);
        foreach (var port in ports.Values)
        {
            kestrel.Listen(address, port, endpoint => endpoint.Protocols = HttpProtocols.Http2);
        }

        kestrel.Listen(address, healthPort, endpoint => endpoint.Protocols = HttpProtocols.Http1);
    });

    try
    {
        builder.AddOversightDefaults();
        foreach (var module in selected)
        {
            module.Add(builder, dataDirectory);
        }
    }
    catch (MissingKeyException exception)
    {
        await Console.Error.WriteLineAsync($"error: {exception.Message}");
        return 2;
    }

    builder.Services.AddOversightBus(builder.Configuration);

    var app = builder.Build();
    app.MapOversightDefaults();
    foreach (var module in selected)
    {
        module.Map(app, selected.Count > 1 ? ports[module.Name] : null);
    }

    await app.StartAsync(cancellation);
    if (demo)
    {
        if (!ports.ContainsKey(Oversight.Governance.GovernanceModule.Name))
        {
            await Console.Error.WriteLineAsync("--demo needs the governance service.");
            return 2;
        }

        var loopback = listen is "0.0.0.0" or "::" ? "127.0.0.1" : listen;
        string Address(string module) => $"http://{loopback}:{ports[module]}";
        var tokens = app.Services.GetRequiredService<TokenIssuer>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await DemoVenture.SeedAsync(Address(Oversight.Governance.GovernanceModule.Name), tokens, cancellation);
        var story = "no exchange story (it needs consent and exchange in this process too)";
        if (ports.ContainsKey(Oversight.Consent.ConsentModule.Name) && ports.ContainsKey(Oversight.Exchange.ExchangeModule.Name))
        {
            try
            {
                story = await DemoExchange.SeedAsync(Address(Oversight.Consent.ConsentModule.Name), Address(Oversight.Governance.GovernanceModule.Name),
                    Address(Oversight.Exchange.ExchangeModule.Name), tokens, app.Services, cancellation);
            }
            catch (Exception exception) when (exception is Grpc.Core.RpcException or TimeoutException or InvalidOperationException)
            {
                // The services run on; what was made stays, and a second run finishes it (a vote missed on a slow machine is proposed again).
                var why = exception is Grpc.Core.RpcException call ? $"{call.StatusCode}: {call.Status.Detail}" : exception.Message;
                story = $"the exchange story stopped short ({why}); start with --demo again to finish it";
            }
        }

        Console.WriteLine($"demo venture: 8 organisations registered, founded with 1,000,000 ordinary shares and the management share; {story} (seeded in {clock.Elapsed.TotalSeconds:0.0} s)");
    }

    var bus = app.Services.GetRequiredService<BusOptions>().UsesRabbitMq ? "RabbitMQ" : "in-memory bus";
    foreach (var module in selected)
    {
        Console.WriteLine($"{module.Name,-12} http://{listen}:{ports[module.Name]}");
    }

    Console.WriteLine($"{"health",-12} http://{listen}:{healthPort}/healthz");
    Console.WriteLine($"data {dataDirectory}; {bus}; mint a token with: dotnet run --project services/Oversight.Host -- token --org shopwave --kind platform");
    if (app.Services.GetRequiredService<AuthOptions>().UsesDevelopmentKey)
    {
        Console.WriteLine("warning: using the DEVELOPMENT signing key; set Oversight__Auth__SigningKey outside development.");
    }

    await app.WaitForShutdownAsync(cancellation);
    return 0;
}

static string Capitalise(string name) => char.ToUpperInvariant(name[0]) + name[1..];
