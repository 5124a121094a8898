using System.CommandLine;
using Gantry.Configuration;
using Gantry.Entities.Definitions;
using Gantry.Entities.Schema;
using Gantry.Migrations;
using Gantry.Plugins;
using Gantry.Plugins.Custom;
using Gantry.Store;

namespace Gantry.Cli;

/// <summary>What a command works with: the loaded configuration, the console, and the datastore.</summary>
internal sealed class CliContext
{
    private CliContext(GantryConfig config, Output output, PluginCatalog plugins, IReadOnlyList<PluginDescriptor> enabledPlugins,
        IReadOnlyList<Subsystem> extra)
    {
        Config = config;
        Output = output;
        Plugins = plugins;
        EnabledPlugins = enabledPlugins;
        Subsystems = MigrationCatalog.For(enabledPlugins, extra);
    }

    public GantryConfig Config { get; }

    public Output Output { get; }

    public PluginCatalog Plugins { get; }

    public IReadOnlyList<PluginDescriptor> EnabledPlugins { get; }

    public IReadOnlyList<Subsystem> Subsystems { get; }

    /// <summary>Loads and validates the configuration; every problem is reported, not only the first.</summary>
    public static CliContext Load(ParseResult result, GantryHost host, string? confPath = null)
    {
        var output = Output.Console(CommonOptions.VerbosityOf(result));
        var loaded = ConfLoader.Load(confPath ?? result.GetValue(CommonOptions.Conf), ConfLoader.ReadProcessEnvironment(), result.GetValue(CommonOptions.Prefix));
        var errors = loaded.Errors.Select(e => e.ToString()).ToList();
        var where = loaded.FilePath is { } file ? $"configuration at {file}" : "configuration";
        if (loaded.Config is null || errors.Count > 0)
            throw new CliException($"{where} is invalid:\n  " + string.Join("\n  ", errors));
        var valid = loaded.Config;
        var custom = LoadCustomPlugins(valid, host);
        var plugins = new PluginCatalog(host.ExtraPlugins.Concat(custom));
        // The configuration keeps the 'bundled' keyword apart from the names; the catalog expands it.
        var (enabled, pluginErrors) = plugins.Resolve(valid.LoadBundledPlugins ? ["bundled", .. valid.Plugins] : valid.Plugins);
        if (pluginErrors.Count > 0)
            throw new CliException($"{where} is invalid:\n  " + string.Join("\n  ", pluginErrors));
        foreach (var warning in loaded.Warnings)
            output.Warn(warning.ToString());
        output.Verbose(loaded.Config.FilePath is { } path ? $"reading configuration from {path}" : "no configuration file; using defaults and the environment");
        return new CliContext(loaded.Config, output, plugins, enabled, host.ExtraSubsystems);
    }

    /// <summary>
    /// The custom plugins the plugins property names, from plugin_paths. A node never starts without one
    /// it was told to load, since the routes configured with it would otherwise run unprotected or fail.
    /// </summary>
    private static IReadOnlyList<PluginDescriptor> LoadCustomPlugins(GantryConfig config, GantryHost host)
    {
        var known = new PluginCatalog(host.ExtraPlugins).All;
        var bundled = known.Where(p => p.Bundled).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var errors = new List<string>();
        // A folder in plugin_paths that claims a bundled name would be silently shadowed; say so instead.
        foreach (var name in config.Plugins.Where(bundled.Contains))
        {
            if (CustomPluginLoader.Find(config.PluginPaths, name) is { } shadow)
                errors.Add($"plugins: plugin '{name}': {shadow} has the name of a bundled plugin; give the custom plugin a name of its own");
        }
        var wanted = config.Plugins.Where(n => known.All(p => p.Name != n)).Distinct(StringComparer.Ordinal).ToList();
        var (loaded, loadErrors) = CustomPluginLoader.Load(config.PluginPaths, wanted, bundled);
        errors.AddRange(loadErrors);
        if (errors.Count > 0)
            throw new CliException((errors.Count == 1 ? "" : $"{errors.Count} plugins cannot be loaded:\n  ") + string.Join("\n  ", errors), ExitCodes.PluginLoad);
        return loaded;
    }

    /// <summary>The entities this node writes, validated as this node's role requires.</summary>
    public EntityRegistry Registry() => CoreEntities.Registry(EnabledPlugins, ValidationContext.Of(Config));

    /// <summary>The configured datastore; <paramref name="timeoutSeconds"/> overrides pg_timeout.</summary>
    public IDatabase OpenDatabase(double? timeoutSeconds = null, string purpose = "gantry")
    {
        switch (Config.Database)
        {
            case DatabaseKind.Postgres:
                var settings = Config.Postgres;
                if (timeoutSeconds is { } seconds)
                    settings = new PostgresSettings
                    {
                        Host = settings.Host, Port = settings.Port, User = settings.User, Password = settings.Password,
                        Database = settings.Database, Schema = settings.Schema, Ssl = settings.Ssl, SslRequired = settings.SslRequired,
                        SslVerify = settings.SslVerify, SslVersion = settings.SslVersion, MaxConcurrentQueries = settings.MaxConcurrentQueries,
                        SemaphoreTimeout = settings.SemaphoreTimeout, KeepaliveTimeout = settings.KeepaliveTimeout,
                        PoolSize = settings.PoolSize, Backlog = settings.Backlog,
                        Timeout = seconds < 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(seconds),
                    };
                return new PostgresDatabase(settings, $"{purpose} (pid {System.Environment.ProcessId} on {System.Environment.MachineName})");
            case DatabaseKind.Sqlite:
                return new SqliteDatabase(Config.SqlitePath, (int)Config.SqliteBusyTimeout.TotalMilliseconds);
            default:
                throw new CliException("this command needs a database, but the database property is 'off'");
        }
    }

    public MigrationRunner CreateRunner(IDatabase database, ParseResult result, string command) =>
        new(database, Subsystems, new ConsoleMigrationReporter(Output, result.GetValue(CommonOptions.Progress)), new MigrationOptions(
            TimeSpan.FromSeconds(Math.Max(0, result.GetValue(CommonOptions.LockTimeout))),
            result.GetValue(CommonOptions.Force),
            $"gantry migrations {command} (pid {System.Environment.ProcessId} on {System.Environment.MachineName})",
            new LockPolicy(
                TimeSpan.FromMilliseconds(Math.Max(1, result.GetValue(CommonOptions.DdlLockTimeout))),
                TimeSpan.FromSeconds(Math.Max(0, result.GetValue(CommonOptions.DdlRetryFor))))));
}
