using Gantry.Clustering.Registry;
using Gantry.Node;

namespace Gantry.Clustering;

/// <summary>
/// Writes what a control plane node knows of its data planes to the registry without ever holding a link
/// up: each data plane's reports go out one at a time in the background, and a report made while one is
/// being written replaces any older one still waiting (only the latest state of a row matters). A failed
/// write (the database down) is logged once for the node, and once more when writes succeed again; the
/// links go on regardless.
/// </summary>
public sealed class DataPlaneReporter(DataPlaneRegistry registry, ILogger logger)
{
    private int _failing;

    /// <summary>The reports of one data plane's link.</summary>
    public Queue For() => new(this);

    public sealed class Queue(DataPlaneReporter reporter)
    {
        private readonly object _gate = new();
        private DataPlaneReport? _pending;
        private bool _writing;
        private Task _writer = Task.CompletedTask;

        public void Report(DataPlaneReport report)
        {
            lock (_gate)
            {
                _pending = report;
                if (_writing)
                    return;
                _writing = true;
                _writer = InlineIo.RunOffSocketThreads(WriteAsync);
            }
        }

        /// <summary>Waits, at most <paramref name="timeout"/>, for what was reported to be written (before a refused link is closed).</summary>
        public async Task FlushAsync(TimeSpan timeout)
        {
            Task writer;
            lock (_gate)
                writer = _writer;
            await writer.WaitAsync(timeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        private async Task WriteAsync()
        {
            while (true)
            {
                DataPlaneReport report;
                lock (_gate)
                {
                    if (_pending is null)
                    {
                        _writing = false;
                        return;
                    }
                    report = _pending;
                    _pending = null;
                }
                await reporter.WriteAsync(report);
            }
        }
    }

    private async Task WriteAsync(DataPlaneReport report)
    {
        try
        {
            await registry.UpsertAsync(report, CancellationToken.None);
            if (Interlocked.Exchange(ref _failing, 0) == 1)
                logger.LogInformation("data planes are recorded in clustering_data_planes again");
        }
        // Whatever the database threw: the row is only a report, and the link it describes must not suffer from it.
        catch (Exception e)
        {
            if (Interlocked.Exchange(ref _failing, 1) == 0)
                logger.LogError("cannot record data plane {NodeId} in clustering_data_planes ({Message}); the links go on, and /clustering/data-planes "
                    + "shows old rows until the database answers (logged once until then)", report.Id, e.Message);
        }
    }
}
