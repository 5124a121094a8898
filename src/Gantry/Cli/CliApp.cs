using System.CommandLine;
using Gantry.Migrations;
using Gantry.Node;
using Gantry.Store;

namespace Gantry.Cli;

/// <summary>The <c>gantry</c> command line: parses, runs one command, and turns every failure into
/// <c>Error: …</c> on stderr with a documented exit code.</summary>
public static class CliApp
{
    public static Task<int> RunAsync(string[] args) => RunAsync(args, GantryHost.Default);

    /// <summary>Runs one command line with what <paramref name="host"/> adds: extra migrations, another release.</summary>
    public static async Task<int> RunAsync(string[] args, GantryHost host)
    {
        // First, before anything makes .NET set up its signal handling, which keeps ignored signals ignored.
        ProcessSignals.Unignore(ProcessSignals.SigInt);
        ProcessSignals.Unignore(ProcessSignals.SigQuit);
        // Before anything reads the version: plugin descriptors and the proxy's headers capture it.
        if (host.Release is { } release)
            GantryInfo.Claim(release);
        var root = new RootCommand("Gantry: a Kong-compatible API gateway with zero-downtime upgrades");
        root.Options.Add(CommonOptions.Conf);
        root.Options.Add(CommonOptions.Prefix);
        root.Options.Add(CommonOptions.Verbose);
        root.Options.Add(CommonOptions.Debug);
        root.Subcommands.Add(StartCommand.Create(host));
        root.Subcommands.Add(StopCommand.Create(host));
        root.Subcommands.Add(QuitCommand.Create(host));
        root.Subcommands.Add(HealthCommand.Create(host));
        root.Subcommands.Add(CheckCommand.Create(host));
        root.Subcommands.Add(VersionCommand.Create());
        root.Subcommands.Add(MigrationsCommand.Create(host));
        root.Subcommands.Add(ConfigCommand.Create(host));
        root.Subcommands.Add(HybridCommand.Create());

        var result = root.Parse(args);
        var verbosity = CommonOptions.VerbosityOf(result);
        var output = Output.Console(verbosity);
        if (result.Errors.Count > 0)
        {
            foreach (var error in result.Errors)
                output.Error(error.Message);
            Console.Error.WriteLine($"Run '{string.Join(' ', CommandPath(result))} --help' for usage");
            return ExitCodes.Usage;
        }
        try
        {
            return await result.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            var (message, code) = e switch
            {
                CliException cli => (cli.Message, cli.ExitCode),
                MigrationException migration => (migration.Message, ExitCodes.Of(migration.Failure)),
                NodeStartException node => (node.Message, ExitCodes.Error),
                DatabaseUnavailableException db => (db.Message, ExitCodes.Error),
                FileNotFoundException file => (file.Message, ExitCodes.Error),
                OperationCanceledException => ("interrupted", ExitCodes.Error),
                _ => ($"unexpected {e.GetType().Name}: {e.Message}", ExitCodes.Error),
            };
            output.Error(message);
            if (verbosity >= Verbosity.Debug)
                Console.Error.WriteLine(e.ToString());
            else if (verbosity < Verbosity.Verbose)
                Console.Error.WriteLine("Run with --v (verbose) or --vv (debug) for more details");
            return code;
        }
    }

    private static IEnumerable<string> CommandPath(ParseResult result)
    {
        var names = new Stack<string>();
        for (var command = result.CommandResult; command is not null; command = command.Parent as System.CommandLine.Parsing.CommandResult)
            names.Push(command.Command is RootCommand ? "gantry" : command.Command.Name);
        return names;
    }
}
