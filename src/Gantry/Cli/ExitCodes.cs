using Gantry.Migrations;

namespace Gantry.Cli;

/// <summary>Every exit code the CLI uses; docs/cli.md lists the same table.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Error = 1;
    public const int Usage = 2;
    public const int NeedsBootstrap = 3;
    public const int PendingMigrations = 4;
    public const int NewMigrations = 5;
    public const int LockTimeout = 6;
    /// <summary>The database's migration records disagree with the code's migrations (changed, inserted or removed).</summary>
    public const int Drift = 7;
    /// <summary>A declarative document has errors (<c>config parse</c>, <c>config db_import</c>); nothing was changed.</summary>
    public const int InvalidDocument = 8;
    /// <summary><c>quit</c>: the node was asked to drain but had not exited when the timeout passed; it is still draining.</summary>
    public const int StillRunning = 9;
    /// <summary>A custom plugin the plugins property names is missing or cannot be loaded (docs/plugins.md); nothing was started.</summary>
    public const int PluginLoad = 10;

    /// <summary>The exit code of each way the migration engine refuses or fails.</summary>
    public static int Of(MigrationFailure failure) => failure switch
    {
        MigrationFailure.LockTimeout => LockTimeout,
        _ => Error,
    };
}

/// <summary>A failure the CLI reports as <c>Error: message</c> with the given exit code.</summary>
public sealed class CliException(string message, int exitCode = ExitCodes.Error, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}
