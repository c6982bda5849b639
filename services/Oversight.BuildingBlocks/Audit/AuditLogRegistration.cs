using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using NSec.Cryptography;
using Oversight.BuildingBlocks.Data;
using Oversight.BuildingBlocks.Hosting;
using Oversight.BuildingBlocks.Security;

namespace Oversight.BuildingBlocks.Audit;

public static class AuditLogRegistration
{
    /// <summary>
    /// Registers a module's audit log (<see cref="ModuleAuditLog{TDatabase}"/>) and its checkpoint
    /// schedule, from <paramref name="section"/> (<c>Oversight:&lt;Module&gt;:AuditLog</c>). Call after the
    /// module registered its database and <c>ModuleDatabaseInitializer</c>, so the schema is there first.
    /// </summary>
    /// <param name="defaultOrigin">The origin when none is configured, e.g. <c>oversight/consent</c>.</param>
    /// <param name="dataDirectory">Where a development signing key is created when none is configured.</param>
    public static WebApplicationBuilder AddAuditLog<TDatabase>(this WebApplicationBuilder builder, IConfigurationSection section, string defaultOrigin, string dataDirectory)
        where TDatabase : ModuleDatabase
    {
        var options = section.Get<AuditLogOptions>() ?? new AuditLogOptions();
        var origin = string.IsNullOrWhiteSpace(options.Origin) ? defaultOrigin : options.Origin;
        if (!NoteKey.IsName(origin))
        {
            throw new InvalidOperationException($"{section.Path}:Origin '{origin}' must be printable text without spaces or '+'.");
        }

        var developmentKeys = DevelopmentKeys.Allowed(builder.Configuration, builder.Environment);
        var key = SigningKey(options, section.Path, Path.Combine(dataDirectory, $"{origin.Replace('/', '-')}-audit-log-key"), developmentKeys);
        var subjects = new SubjectReference(SubjectKey(options, section.Path, developmentKeys));
        var peers = options.PeerVerifierKeys.Select(text => NoteKey.ParseVerifierKey(text)
            ?? throw new InvalidOperationException($"{section.Path}:PeerVerifierKeys holds '{text}', which is not a C2SP Ed25519 verifier key.")).ToList();

        var previous = options.PreviousVerifierKeys.Select(text => NoteKey.ParseVerifierKey(text) is { } parsed && parsed.Name == origin ? parsed
            : throw new InvalidOperationException($"{section.Path}:PreviousVerifierKeys holds '{text}', which is not a C2SP Ed25519 verifier key named '{origin}'.")).ToList();
        builder.Services.AddSingleton(provider =>
        {
            var database = provider.GetRequiredService<TDatabase>();
            var time = provider.GetRequiredService<TimeProvider>();
            return new ModuleAuditLog<TDatabase>(
                database,
                new AuditLog(subjects, time),
                new CheckpointSigner(database, key, origin, time),
                // The logs of modules in this same process are known peers too (the embedded default).
                new WitnessedCheckpoints(database, origin,
                    peers.Concat(provider.GetServices<AuditLogIdentity>().Where(p => p.Origin != origin).Select(p => p.VerifierKey)), time),
                subjects,
                previous);
        });
        builder.Services.TryAddSingleton<AuditLogRoutes>();
        builder.Services.AddSingleton(new AuditLogIdentity(origin, NoteKey.Of(origin, key)));
        // The denial audit kept before the log, carried onto it at the first start (see LegacyAuditCarryOver).
        builder.Services.AddSingleton(new LegacyAuditTable<TDatabase>("access_denial", AuditSql.LegacyDenials, AuditSql.DeleteLegacyDenials));
        builder.Services.AddSingleton<LegacyAuditCarryOver<TDatabase>>();
        builder.Services.AddHostedService(provider => new CheckpointSchedule<TDatabase>(
            provider.GetRequiredService<ModuleAuditLog<TDatabase>>(), options.CheckpointInterval, provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<CheckpointSchedule<TDatabase>>>()));
        return builder;
    }

    /// <summary>
    /// Maps <c>oversight.audit.v1.AuditLogService</c> for the module's own log. Every module serves
    /// the same service, so modules sharing a process must each answer on a port of their own: a
    /// second log mapped without a port (or on a port already taken) would make every audit call
    /// ambiguous, and is refused at start-up instead.
    /// </summary>
    public static GrpcServiceEndpointConventionBuilder MapAuditLog<TDatabase>(this IEndpointRouteBuilder app, int? port = null)
        where TDatabase : ModuleDatabase
    {
        var routes = app.ServiceProvider.GetRequiredService<AuditLogRoutes>();
        lock (routes.Mapped)
        {
            if (routes.Mapped.FirstOrDefault(r => r.Port is null || port is null || r.Port == port) is { Database: { } other })
            {
                throw new InvalidOperationException(
                    $"The audit logs of {other.Name} and {typeof(TDatabase).Name} would answer on the same port; map each module on a port of its own.");
            }

            routes.Mapped.Add((port, typeof(TDatabase)));
        }

        return app.MapGrpcService<AuditLogGrpcService<TDatabase>>().OnPort(port);
    }

    /// <summary>A log of this process: its origin and the key its checkpoints verify with.</summary>
    internal sealed record AuditLogIdentity(string Origin, NoteKey VerifierKey);

    /// <summary>Which module's log answers on which port, so that two never share one.</summary>
    internal sealed class AuditLogRoutes
    {
        public List<(int? Port, Type Database)> Mapped { get; } = [];
    }

    private static Key SigningKey(AuditLogOptions options, string section, string developmentKeyPath, bool developmentKeys)
    {
        var seed = options.SigningKey;
        if (string.IsNullOrWhiteSpace(seed))
        {
            if (!developmentKeys)
            {
                throw new MissingKeyException(
                    $"{section}:SigningKey is not set. Set it to the base64 of a 32-byte Ed25519 seed (for example 'openssl rand -base64 32'); "
                    + "a key is created on first start only in the Development environment and the embedded default.");
            }

            seed = LoadOrCreate(developmentKeyPath);
        }

        try
        {
            return Key.Import(SignatureAlgorithm.Ed25519, Convert.FromBase64String(seed.Trim()), KeyBlobFormat.RawPrivateKey);
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException)
        {
            throw new InvalidOperationException($"{section}:SigningKey must be the base64 of a 32-byte Ed25519 seed.", exception);
        }
    }

    private static string LoadOrCreate(string path)
    {
        if (File.Exists(path))
        {
            return File.ReadAllText(path);
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        using var key = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var seed = Convert.ToBase64String(key.Export(KeyBlobFormat.RawPrivateKey));
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var writer = new StreamWriter(path, System.Text.Encoding.ASCII, fileOptions);
        writer.Write(seed);
        return seed;
    }

    private static byte[] SubjectKey(AuditLogOptions options, string section, bool developmentKeys)
    {
        var text = options.SubjectKey;
        if (string.IsNullOrWhiteSpace(text) || text == SubjectReference.DevelopmentKey)
        {
            if (!developmentKeys)
            {
                throw new MissingKeyException(
                    $"{section}:SubjectKey is not set (or is the public development key). Set it to the base64 of at least 32 random bytes; "
                    + "it keys the hashes that stand for subjects in the audit log.");
            }

            text = SubjectReference.DevelopmentKey;
        }

        try
        {
            return Convert.FromBase64String(text.Trim());
        }
        catch (FormatException exception)
        {
            throw new InvalidOperationException($"{section}:SubjectKey must be base64.", exception);
        }
    }
}
