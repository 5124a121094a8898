namespace Gantry.Balancing;

/// <summary>
/// A picked target held for the length of one proxied request. Under least-connections and latency,
/// disposing it gives the connection back (and latency times the request); under the other algorithms
/// it holds nothing. It is a struct so that a pick allocates nothing; dispose it exactly once, and not
/// through a copy that is also disposed.
/// </summary>
public readonly struct BalancerLease : IDisposable
{
    private readonly int[]? _active;
    private readonly LatencyBalancer? _latency;
    private readonly long _startedAt;

    internal BalancerLease(BalancerTarget? target, int[]? active, LatencyBalancer? latency = null, long startedAt = 0)
    {
        Target = target;
        _active = active;
        _latency = latency;
        _startedAt = startedAt;
    }

    /// <summary>Null when no target is healthy: the proxy answers 503.</summary>
    public BalancerTarget? Target { get; }

    public void Dispose()
    {
        if (Target is null)
            return;
        _latency?.Record(Target.Index, _startedAt);
        if (_active is not null)
            Interlocked.Decrement(ref _active[Target.Index]);
    }
}
