using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Gantry.Node;

/// <summary>
/// Graceful replacement of a node ('gantry quit', SIGQUIT, SIGTERM): readiness turns 503 at once, the proxy
/// and Admin API listeners close, every open connection on them is asked to close after its current request,
/// and the drain ends once none is left or the timeout has passed. The Status API is not drained: it keeps
/// answering (/status/ready with 503) until the process exits.
/// </summary>
internal sealed class NodeDrain(ClosableListenerFactory listeners, IReadOnlySet<int> statusPorts, TimeSpan timeout, ILogger logger)
{
    private readonly ConcurrentDictionary<ConnectionContext, byte> _open = new();
    private int _draining;

    public bool IsDraining => Volatile.Read(ref _draining) == 1;

    /// <summary>Wraps the life of one connection; on the Status API's listeners it only passes through.</summary>
    public async Task TrackAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        if (connection.LocalEndPoint is System.Net.IPEndPoint local && statusPorts.Contains(local.Port))
        {
            await next(connection);
            return;
        }
        _open.TryAdd(connection, 0);
        // Pairs with the fence in RunAsync: either the sweep there sees this connection, or this sees the drain.
        Interlocked.MemoryBarrier();
        if (IsDraining)
            RequestClose(connection);
        try
        {
            await next(connection);
        }
        finally
        {
            _open.TryRemove(connection, out _);
        }
    }

    /// <summary>Drains; true when every connection closed within the timeout, false when some are left to cut.</summary>
    public async Task<bool> RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _draining, 1) == 1)
            return false;
        var clock = Stopwatch.StartNew();
        logger.LogInformation("draining: /status/ready answers 503; closing the proxy and Admin API listeners; requests in flight have {Timeout} s to finish",
            timeout.TotalSeconds);
        await listeners.CloseAllExceptAsync(statusPorts);
        foreach (var connection in _open.Keys)
            RequestClose(connection);
        while (!_open.IsEmpty)
        {
            if (clock.Elapsed >= timeout)
            {
                logger.LogWarning("draining: {Count} connection(s) still busy after {Timeout} s (nginx_main_worker_shutdown_timeout); cutting them",
                    _open.Count, timeout.TotalSeconds);
                return false;
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
        logger.LogInformation("drained in {Milliseconds} ms", clock.ElapsedMilliseconds);
        return true;
    }

    /// <summary>
    /// Kestrel's own graceful close, per connection: an idle one closes now; one with a request in flight
    /// answers it with 'Connection: close' (HTTP/1.1) or GOAWAY (HTTP/2), then closes, so that its client
    /// moves to another node.
    /// </summary>
    private static void RequestClose(ConnectionContext connection) =>
        connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
}
