using System.CommandLine;
using System.Diagnostics;
using Gantry.Configuration;
using Gantry.Migrations;
using Gantry.Node;
using Gantry.Store;

namespace Gantry.Cli;

/// <summary>
/// <c>gantry start</c>: checks the database's migration state, then runs a node in the foreground
/// (or detached with --daemon).
/// </summary>
internal static class StartCommand
{
    private static readonly Option<bool> Daemon = new("--daemon") { Description = "Run in the background; logs go to <prefix>/logs/error.log" };
    private static readonly Option<bool> RunMigrations = new("--run-migrations") { Description = "Run 'migrations up' first when new migrations exist" };

    public static Command Create(GantryHost host)
    {
        var command = new Command("start", "Start a Gantry node");
        command.Options.Add(Daemon);
        command.Options.Add(RunMigrations);
        command.Options.Add(CommonOptions.DbTimeout);
        command.Options.Add(CommonOptions.LockTimeout);
        command.SetAction(async (result, ct) =>
        {
            var context = CliContext.Load(result, host);
            // Before the first socket (the database's): the runtime reads this setting once.
            InlineIo.Apply(context.Config);
            var prefix = new NodePrefix(context.Config.Prefix);
            prefix.Prepare();
            // RunningPid takes a pid file naming this very process as stale (a container restarted after a crash).
            if (prefix.RunningPid() is { } running)
                throw new CliException($"Gantry is already running at {prefix.Root} (pid {running}); stop it with 'gantry stop -p {prefix.Root}'");
            if (result.GetValue(Daemon))
                return await StartDetachedAsync(prefix, ct);

            IDatabase? database = null;
            if (context.Config.Database != DatabaseKind.Off)
            {
                database = context.OpenDatabase(result.GetValue(CommonOptions.DbTimeout));
                await CheckMigrationsAsync(context, database, result, ct);
            }
            try
            {
                await GantryNode.RunAsync(new GantryNodeOptions(context.Config, prefix, database, context.EnabledPlugins, context.Subsystems)
                {
                    Started = () => context.Output.Line($"Gantry {GantryInfo.Version} started"),
                    FieldStripper = Clustering.Compatibility.FieldStripper.For(host),
                }, ct);
            }
            finally
            {
                if (database is not null)
                    await database.DisposeAsync();
            }
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Refuses to start on a database this release cannot serve, saying which command fixes it.</summary>
    private static async Task CheckMigrationsAsync(CliContext context, IDatabase database, ParseResult result, CancellationToken cancellationToken)
    {
        var runner = context.CreateRunner(database, result, "up");
        var output = context.Output;
        if (database is SqliteDatabase sqlite && !await database.ExistsAsync(cancellationToken))
        {
            output.Line($"no database at {sqlite.Path} yet; bootstrapping a new embedded database");
            await context.CreateRunner(database, result, "bootstrap").BootstrapAsync(cancellationToken);
        }
        await ReleaseFence.EnsureAllowedAsync(database, "upgrade this node to {0} or newer", cancellationToken);
        // Before 'up' runs (--run-migrations included): migrating on top of records that disagree with the
        // code would only bury the disagreement.
        if (MigrationDrift.Refusal(await MigrationDrift.AnalyzeAsync(database, context.Subsystems, cancellationToken)) is { } drift)
            throw new CliException(drift, ExitCodes.Drift);
        var status = await runner.ReadStatusAsync(cancellationToken);
        if (status.NeedsBootstrap)
        {
            throw new CliException(status.IncompleteBootstrap
                ? "the bootstrap of this database did not complete; run 'gantry migrations bootstrap' to complete it"
                : "Database needs bootstrapping; run 'gantry migrations bootstrap'");
        }
        if (status.HasNew)
        {
            if (!result.GetValue(RunMigrations))
                throw new CliException($"New migrations available ({MigrationRunner.Describe(status.New)}); run 'gantry migrations up' to proceed");
            await runner.UpAsync(cancellationToken);
            status = await runner.ReadStatusAsync(cancellationToken);
            if (status.HasNew)
                throw new CliException("new migrations are still not applied; run 'gantry migrations up' and read its output");
        }
        if (status.HasPending)
            output.Warn($"Database has pending migrations ({MigrationRunner.Describe(status.Pending)}); run 'gantry migrations finish' once every node runs this release");
        if (status.Unknown.Count > 0)
            output.Warn($"Database has migrations from a newer release ({MigrationRunner.Describe(status.Unknown)}); this node runs as the older release of a blue-green upgrade");
    }

    /// <summary>Starts the same command without --daemon in a new session, and waits until it has bound its listeners.</summary>
    private static async Task<int> StartDetachedAsync(NodePrefix prefix, CancellationToken cancellationToken)
    {
        var arguments = Environment.GetCommandLineArgs().Skip(1).Where(a => a != "--daemon").ToList();
        var log = Path.Combine(prefix.LogDirectory, "error.log");
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("log=\"$1\"; shift; exec setsid \"$@\" >>\"$log\" 2>&1 </dev/null");
        start.ArgumentList.Add("sh");
        start.ArgumentList.Add(log);
        start.ArgumentList.Add(Environment.ProcessPath!);
        // Under 'dotnet gantry.dll' the process path is the dotnet host; the program is the first argument
        // (the entry assembly: a host that embeds this CLI starts itself again, not gantry.dll).
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            start.ArgumentList.Add((System.Reflection.Assembly.GetEntryAssembly() ?? typeof(StartCommand).Assembly).Location);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var child = Process.Start(start) ?? throw new CliException("could not start the background process");
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (prefix.RunningPid() is { } pid)
            {
                Console.WriteLine($"Gantry started in the background (pid {pid}); logs in {log}");
                return ExitCodes.Success;
            }
            if (child.HasExited)
                throw new CliException($"the background node exited with code {child.ExitCode} before it started; see {log}");
            await Task.Delay(100, cancellationToken);
        }
        throw new CliException($"the background node did not start within 60s; see {log}");
    }
}
