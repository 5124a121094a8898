namespace Gantry.Balancing;

/// <summary>
/// Per-entry health flags of one balancer. Health checkers write them (through the node's
/// <see cref="HealthRegistry"/>, which keeps the state across rebuilds), pickers read them, neither takes
/// a lock: each flag is an int read and written atomically, and a picker that sees a change one pick
/// late does no harm.
/// </summary>
public sealed class TargetHealth
{
    private readonly int[] _unhealthy;
    private readonly int[] _weights;
    // More healthy weight than this is needed to pick at all: healthchecks.threshold percent of the total.
    private readonly double _requiredWeight;
    // The weight of the healthy entries, kept on every transition so pickers can return null at once
    // instead of walking a wheel or continuum that has nothing healthy on it.
    private long _healthyWeight;

    internal TargetHealth(BalancerTarget[] targets, double threshold)
    {
        _unhealthy = new int[targets.Length];
        _weights = new int[targets.Length];
        for (int i = 0; i < targets.Length; i++)
        {
            _weights[i] = targets[i].Weight;
            TotalWeight += targets[i].Weight;
        }
        _healthyWeight = TotalWeight;
        _requiredWeight = TotalWeight * threshold / 100.0;
    }

    public int Count => _unhealthy.Length;

    public long TotalWeight { get; }

    public long HealthyWeight => Volatile.Read(ref _healthyWeight);

    public bool IsHealthy(int index) => Volatile.Read(ref _unhealthy[index]) == 0;

    /// <summary>
    /// True when the healthy weight is above the threshold (with the default threshold of 0: when at
    /// least one entry with a non-zero weight is healthy).
    /// </summary>
    public bool AnyPickable => Volatile.Read(ref _healthyWeight) > _requiredWeight;

    public void SetHealthy(int index, bool healthy)
    {
        int previous = Interlocked.Exchange(ref _unhealthy[index], healthy ? 0 : 1);
        // Only a real transition moves the sum, so concurrent writers of the same state cannot skew it.
        if (previous == (healthy ? 0 : 1))
            return;
        Interlocked.Add(ref _healthyWeight, healthy ? _weights[index] : -_weights[index]);
    }
}
