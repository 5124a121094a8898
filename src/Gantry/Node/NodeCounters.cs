namespace Gantry.Node;

/// <summary>
/// The node's request and connection counters that <c>GET /status</c> reports: plain interlocked
/// integers, updated by one middleware and one connection hook, so counting costs nothing measurable.
/// </summary>
internal sealed class NodeCounters
{
    private long _totalRequests;
    private long _activeConnections;
    private long _acceptedConnections;

    public long TotalRequests => Interlocked.Read(ref _totalRequests);

    public long ActiveConnections => Interlocked.Read(ref _activeConnections);

    public long AcceptedConnections => Interlocked.Read(ref _acceptedConnections);

    public void RequestStarted() => Interlocked.Increment(ref _totalRequests);

    public void ConnectionOpened()
    {
        Interlocked.Increment(ref _acceptedConnections);
        Interlocked.Increment(ref _activeConnections);
    }

    public void ConnectionClosed() => Interlocked.Decrement(ref _activeConnections);
}
