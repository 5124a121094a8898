using Gantry.Node;

namespace Gantry.Store;

/// <summary>
/// A <c>cluster_events</c> channel that carries broadcasts between the nodes of a cluster, as Kong's
/// cluster-wide events: the node that acts writes a row, every other node polls the channel each
/// db_update_frequency and handles the rows it did not write. Nothing is stored beyond the event, and a node
/// that starts later does not replay what was broadcast before it.
/// </summary>
public sealed class ClusterBroadcast(EntityDao dao, string channel, Guid nodeId, TimeSpan frequency, Action<string> handle, ILogger logger) : IAsyncDisposable
{
    // Rows are read again for this long: a transaction that commits late can carry an earlier timestamp
    // than a row already handled.
    private readonly ClusterEventCursor _events = new(dao, channel, TimeSpan.FromSeconds(2));
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public Task PublishAsync(string data, CancellationToken cancellationToken) => dao.PublishEventAsync(channel, data, cancellationToken);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _events.ReadAsync(cancellationToken);
        _loop = InlineIo.RunOffSocketThreads(LoopAsync);
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(frequency);
        while (await timer.WaitForNextTickAsync(_stop.Token))
        {
            try
            {
                foreach (var (_, node, _, data) in await _events.ReadAsync(_stop.Token))
                {
                    if (node != nodeId)
                        handle(data);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database is away; the snapshot holder reports that. Events are picked up when it answers.
                logger.LogDebug("cannot read the cluster events of {Channel}: {Message}", channel, e.Message);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
