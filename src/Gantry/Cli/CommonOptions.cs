using System.CommandLine;

namespace Gantry.Cli;

/// <summary>The options every command shares, with Kong's spellings.</summary>
internal static class CommonOptions
{
    public static readonly Option<string?> Conf = new("--conf", "-c")
    {
        Description = "Configuration file (default: /etc/gantry/gantry.conf when it exists)",
        Recursive = true,
    };

    public static readonly Option<string?> Prefix = new("--prefix", "-p")
    {
        Description = "Override the prefix directory (the prefix property)",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--v")
    {
        Description = "Verbose: also print each SQL statement and timing",
        Recursive = true,
    };

    public static readonly Option<bool> Debug = new("--vv")
    {
        Description = "Debug: verbose, plus stack traces on errors",
        Recursive = true,
    };

    public static readonly Option<double?> DbTimeout = new("--db-timeout")
    {
        Description = "Seconds each database operation may take (default: pg_timeout)",
    };

    public static readonly Option<double> LockTimeout = new("--lock-timeout")
    {
        Description = "Seconds to wait for the migration lock held by another process",
        DefaultValueFactory = _ => 60,
    };

    public static readonly Option<int> DdlLockTimeout = new("--ddl-lock-timeout")
    {
        Description = "Milliseconds each schema change may wait for its table lock before it is rolled back and retried",
        DefaultValueFactory = _ => 1000,
    };

    public static readonly Option<double> DdlRetryFor = new("--ddl-retry-for")
    {
        Description = "Seconds to keep retrying a schema change whose lock is taken, before giving up",
        DefaultValueFactory = _ => 300,
    };

    public static readonly Option<bool> Force = new("--force", "-f")
    {
        Description = "bootstrap: reset first; up/finish: run recorded migrations again",
    };

    public static readonly Option<ProgressStyle> Progress = new("--progress")
    {
        Description = "How backfills report progress: auto (a rewriting line on a terminal, lines in a log), plain, or json (one object per line)",
        DefaultValueFactory = _ => ProgressStyle.Auto,
    };

    public static Verbosity VerbosityOf(ParseResult result) =>
        result.GetValue(Debug) ? Verbosity.Debug : result.GetValue(Verbose) ? Verbosity.Verbose : Verbosity.Normal;
}
