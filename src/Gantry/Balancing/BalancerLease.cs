namespace Gantry.Balancing;

/// <summary>
/// A picked target held for the length of one proxied request. Under least-connections, disposing it
/// gives the connection back; under the other algorithms it holds nothing. It is a struct so that a pick
/// allocates nothing; dispose it exactly once, and not through a copy that is also disposed.
/// </summary>
public readonly struct BalancerLease : IDisposable
{
    private readonly int[]? _active;

    internal BalancerLease(BalancerTarget? target, int[]? active)
    {
        Target = target;
        _active = active;
    }

    /// <summary>Null when no target is healthy: the proxy answers 503.</summary>
    public BalancerTarget? Target { get; }

    public void Dispose()
    {
        if (_active is not null && Target is not null)
            Interlocked.Decrement(ref _active[Target.Index]);
    }
}
