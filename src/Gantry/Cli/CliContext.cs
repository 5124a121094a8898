using System.Collections;
using System.CommandLine;
using Gantry.Configuration;
using Gantry.Migrations;
using Gantry.Plugins;
using Gantry.Store;

namespace Gantry.Cli;

/// <summary>What a command works with: the loaded configuration, the console, and the datastore.</summary>
internal sealed class CliContext
{
    private CliContext(GantryConfig config, Output output, PluginCatalog plugins, IReadOnlyList<PluginDescriptor> enabledPlugins,
        IReadOnlyList<Subsystem> testing)
    {
        Config = config;
        Output = output;
        Plugins = plugins;
        EnabledPlugins = enabledPlugins;
        Subsystems = MigrationCatalog.For(enabledPlugins, testing);
    }

    public GantryConfig Config { get; }

    public Output Output { get; }

    public PluginCatalog Plugins { get; }

    public IReadOnlyList<PluginDescriptor> EnabledPlugins { get; }

    public IReadOnlyList<Subsystem> Subsystems { get; }

    public static IReadOnlyDictionary<string, string> Environment()
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
            environment[(string)entry.Key] = (string?)entry.Value ?? "";
        return environment;
    }

    /// <summary>Loads and validates the configuration; every problem is reported, not only the first.</summary>
    public static CliContext Load(ParseResult result, string? confPath = null)
    {
        var output = Output.Console(CommonOptions.VerbosityOf(result));
        var loaded = ConfLoader.Load(confPath ?? result.GetValue(CommonOptions.Conf), Environment(), result.GetValue(CommonOptions.Prefix));
        var testing = TestingSubsystems.Load(System.Environment.GetEnvironmentVariable(TestingSubsystems.EnvironmentVariable));
        var plugins = new PluginCatalog(TestingSubsystems.AsPlugins(testing));
        var errors = loaded.Errors.Select(e => e.ToString()).ToList();
        var (enabled, pluginErrors) = plugins.Resolve(loaded.Config.GetList("plugins"));
        errors.AddRange(pluginErrors);
        if (errors.Count > 0)
        {
            var where = loaded.Config.FilePath is { } file ? $"configuration at {file}" : "configuration";
            throw new CliException($"{where} is invalid:\n  " + string.Join("\n  ", errors));
        }
        output.Verbose(loaded.Config.FilePath is { } path ? $"reading configuration from {path}" : "no configuration file; using defaults and the environment");
        return new CliContext(loaded.Config, output, plugins, enabled, testing);
    }

    /// <summary>The configured datastore; <paramref name="timeoutSeconds"/> overrides pg_timeout.</summary>
    public IDatabase OpenDatabase(double? timeoutSeconds = null, string purpose = "gantry")
    {
        switch (Config.Get("database"))
        {
            case "postgres":
                var timeout = timeoutSeconds is { } seconds ? (int)Math.Round(seconds * 1000) : Config.GetInt("pg_timeout");
                return new PostgresDatabase(new PostgresSettings(
                    Config.Get("pg_host"),
                    Config.GetInt("pg_port"),
                    Config.Get("pg_user"),
                    Config.Get("pg_password") is { Length: > 0 } password ? password : null,
                    Config.Get("pg_database"),
                    Config.Get("pg_schema") is { Length: > 0 } schema ? schema : null,
                    timeout,
                    Config.GetBool("pg_ssl"),
                    Config.GetBool("pg_ssl_required"),
                    Config.GetBool("pg_ssl_verify"),
                    Math.Max(1, Config.GetInt("pg_pool_size")),
                    $"{purpose} (pid {System.Environment.ProcessId} on {System.Environment.MachineName})"));
            case "sqlite":
                return new SqliteDatabase(Config.SqlitePath, Config.GetInt("sqlite_busy_timeout"));
            default:
                throw new CliException("this command needs a database, but the database property is 'off'");
        }
    }

    public MigrationRunner CreateRunner(IDatabase database, ParseResult result, string command) =>
        new(database, Subsystems, Output, new MigrationOptions(
            TimeSpan.FromSeconds(Math.Max(0, result.GetValue(CommonOptions.LockTimeout))),
            result.GetValue(CommonOptions.Force),
            $"gantry migrations {command} (pid {System.Environment.ProcessId} on {System.Environment.MachineName})"));
}
