namespace Gantry.Balancing;

/// <summary>
/// The algorithms that pick the healthy entry with the lowest score, where the score depends on the
/// requests each entry has in flight: least-connections and latency. A linear scan rather than Kong's
/// heap: an upstream has tens of entries at most, the scan reads a few cache lines and needs no lock,
/// while a heap would have to be locked on every acquire and release.
/// </summary>
public abstract class LowestScoreBalancer : Balancer
{
    private readonly int[] _active;
    // Rotates the scan's starting point so that ties, such as several idle entries, are spread evenly.
    private int _start = -1;

    private protected LowestScoreBalancer(BalancerTarget[] targets, double threshold) : base(targets, threshold)
    {
        _active = new int[targets.Length];
    }

    /// <summary>Requests currently holding a lease on the entry.</summary>
    public int ActiveConnections(int index) => Volatile.Read(ref _active[index]);

    /// <summary>The entry's score with <paramref name="active"/> requests in flight; lower is better.</summary>
    private protected abstract double Score(int index, int active, int weight);

    public override BalancerTarget? Pick(ReadOnlySpan<byte> hashKey)
    {
        var targets = TargetArray;
        if (targets.Length == 0 || !Health.AnyPickable)
            return null;
        int start = (int)((uint)Interlocked.Increment(ref _start) % (uint)targets.Length);
        int best = -1;
        double bestScore = 0;
        for (int step = 0; step < targets.Length; step++)
        {
            int i = start + step;
            if (i >= targets.Length)
                i -= targets.Length;
            int weight = targets[i].Weight;
            if (weight == 0 || !Health.IsHealthy(i))
                continue;
            double score = Score(i, Volatile.Read(ref _active[i]), weight);
            if (best < 0 || score < bestScore)
            {
                best = i;
                bestScore = score;
            }
        }
        return best < 0 ? null : targets[best];
    }

    public override BalancerLease Acquire(ReadOnlySpan<byte> hashKey)
    {
        var target = Pick(hashKey);
        if (target is null)
            return default;
        // Counted after the pick, so two concurrent picks may choose the same idle entry; that slight
        // overshoot is the price of taking no lock, and the next picks correct it.
        Interlocked.Increment(ref _active[target.Index]);
        return Lease(target, _active);
    }

    /// <summary>The lease that gives the request back when disposed.</summary>
    private protected virtual BalancerLease Lease(BalancerTarget target, int[] active) => new(target, active);
}
