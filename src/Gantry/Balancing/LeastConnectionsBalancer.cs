namespace Gantry.Balancing;

/// <summary>
/// Picks the healthy target with the lowest (active + 1) / weight. A linear scan rather than Kong's heap:
/// an upstream has tens of targets at most, the scan reads a few cache lines and needs no lock, while a
/// heap would have to be locked on every acquire and release.
/// </summary>
public sealed class LeastConnectionsBalancer : Balancer
{
    private readonly int[] _active;
    // Rotates the scan's starting point so that ties, such as several idle targets, are spread evenly.
    private int _start = -1;

    internal LeastConnectionsBalancer(BalancerTarget[] targets, double threshold) : base(targets, threshold)
    {
        _active = new int[targets.Length];
    }

    public override BalancerAlgorithm Algorithm => BalancerAlgorithm.LeastConnections;

    /// <summary>Requests currently holding a lease on the target.</summary>
    public int ActiveConnections(int index) => Volatile.Read(ref _active[index]);

    public override BalancerTarget? Pick(ReadOnlySpan<byte> hashKey)
    {
        var targets = TargetArray;
        if (targets.Length == 0 || !Health.AnyPickable)
            return null;
        int start = (int)((uint)Interlocked.Increment(ref _start) % (uint)targets.Length);
        int best = -1;
        long bestLoad = 0, bestWeight = 1;
        for (int step = 0; step < targets.Length; step++)
        {
            int i = start + step;
            if (i >= targets.Length)
                i -= targets.Length;
            int weight = targets[i].Weight;
            if (weight == 0 || !Health.IsHealthy(i))
                continue;
            long load = Volatile.Read(ref _active[i]) + 1L;
            // load / weight < bestLoad / bestWeight, compared by cross-multiplying to stay in integers.
            if (best < 0 || load * bestWeight < bestLoad * weight)
            {
                best = i;
                bestLoad = load;
                bestWeight = weight;
            }
        }
        return best < 0 ? null : targets[best];
    }

    public override BalancerLease Acquire(ReadOnlySpan<byte> hashKey)
    {
        var target = Pick(hashKey);
        if (target is null)
            return default;
        // Counted after the pick, so two concurrent picks may choose the same idle target; that slight
        // overshoot is the price of taking no lock, and the next picks correct it.
        Interlocked.Increment(ref _active[target.Index]);
        return new BalancerLease(target, _active);
    }
}
