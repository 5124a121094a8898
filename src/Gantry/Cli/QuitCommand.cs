using System.CommandLine;
using System.Diagnostics;
using Gantry.Node;

namespace Gantry.Cli;

/// <summary>
/// <c>gantry quit</c>: asks the node of a prefix to drain (SIGQUIT) and waits until it has exited. The node
/// does the draining, so a node stopped by its supervisor's SIGTERM behaves the same.
/// </summary>
internal static class QuitCommand
{
    private static readonly Option<double?> Timeout = new("--timeout", "-t")
    {
        Description = "Seconds to wait for the node to exit (default: nginx_main_worker_shutdown_timeout plus 5)",
    };

    public static Command Create(GantryHost host)
    {
        var command = new Command("quit", "Gracefully quit the Gantry node running at the prefix: stop taking traffic, finish requests in flight, exit");
        command.Options.Add(Timeout);
        command.SetAction(async (result, ct) =>
        {
            var context = CliContext.Load(result, host);
            var prefix = new NodePrefix(context.Config.Prefix);
            // The node gives requests in flight this long; a little more lets it stop its host and exit.
            var timeout = result.GetValue(Timeout) is { } seconds
                ? TimeSpan.FromSeconds(Math.Max(0, seconds))
                : context.Config.WorkerShutdownTimeout + TimeSpan.FromSeconds(5);
            if (prefix.RunningPid() is not { } pid)
                throw new CliException($"Gantry is not running at {prefix.Root}");
            if (!ProcessSignals.Send(pid, ProcessSignals.SigQuit))
                throw new CliException($"cannot signal Gantry (pid {pid}): {new System.ComponentModel.Win32Exception(System.Runtime.InteropServices.Marshal.GetLastPInvokeError()).Message}");
            var clock = Stopwatch.StartNew();
            while (ProcessSignals.IsAlive(pid))
            {
                if (clock.Elapsed > timeout)
                    throw new CliException(
                        $"Gantry (pid {pid}) is still draining after {timeout.TotalSeconds:0.#}s; it exits by itself once nginx_main_worker_shutdown_timeout has passed, or stop it at once with 'gantry stop -p {prefix.Root}'",
                        ExitCodes.StillRunning);
                await Task.Delay(50, ct);
            }
            Console.WriteLine("Gantry stopped (gracefully)");
            return ExitCodes.Success;
        });
        return command;
    }
}
