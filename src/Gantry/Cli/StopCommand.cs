using System.CommandLine;
using System.Diagnostics;
using Gantry.Node;

namespace Gantry.Cli;

/// <summary>
/// <c>gantry stop</c>: the fast stop. Sends SIGINT, because SIGTERM drains (<see cref="QuitCommand"/>), and waits
/// for the node to exit.
/// </summary>
internal static class StopCommand
{
    public static Command Create(GantryHost host)
    {
        var command = new Command("stop", "Stop the Gantry node running at the prefix");
        command.SetAction(async (result, ct) =>
        {
            var context = CliContext.Load(result, host);
            var prefix = new NodePrefix(context.Config.Prefix);
            if (prefix.RunningPid() is not { } pid)
                throw new CliException($"Gantry is not running at {prefix.Root}");
            ProcessSignals.Send(pid, ProcessSignals.SigInt);
            var clock = Stopwatch.StartNew();
            while (ProcessSignals.IsAlive(pid))
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(30))
                    throw new CliException($"Gantry (pid {pid}) did not stop within 30s");
                await Task.Delay(50, ct);
            }
            Console.WriteLine("Gantry stopped");
            return ExitCodes.Success;
        });
        return command;
    }
}
