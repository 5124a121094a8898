using System.Runtime.InteropServices;

namespace Gantry.Node;

/// <summary>
/// The signals a node answers, as nginx does for Kong: SIGQUIT drains, and so does SIGTERM (what Kubernetes,
/// systemd and container runtimes send to stop a process); SIGINT (Ctrl+C, 'gantry stop') stops at once.
/// It replaces the host's console lifetime, which would stop the node on all three alike.
/// </summary>
internal sealed class NodeSignals : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;

    public NodeSignals(Action drain, Action stop)
    {
        void Drain(PosixSignalContext context)
        {
            // Without this the runtime would go on to end the process.
            context.Cancel = true;
            drain();
        }

        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGQUIT, Drain),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Drain),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
            {
                context.Cancel = true;
                stop();
            }),
        ];
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
            registration.Dispose();
    }

    /// <summary>A host lifetime that leaves signals to <see cref="NodeSignals"/>.</summary>
    internal sealed class Lifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
