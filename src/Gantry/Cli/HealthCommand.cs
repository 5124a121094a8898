using System.CommandLine;
using Gantry.Node;

namespace Gantry.Cli;

/// <summary><c>gantry health</c>: whether a node runs at the prefix.</summary>
internal static class HealthCommand
{
    public static Command Create(GantryHost host)
    {
        var command = new Command("health", "Tell whether the Gantry node at the prefix is running");
        command.SetAction(result =>
        {
            var context = CliContext.Load(result, host);
            var prefix = new NodePrefix(context.Config.Prefix);
            if (prefix.RunningPid() is not { } pid)
                throw new CliException($"Gantry is not running at {prefix.Root}");
            Console.WriteLine($"Gantry is healthy at {prefix.Root} (pid {pid})");
            return ExitCodes.Success;
        });
        return command;
    }
}
