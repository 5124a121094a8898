namespace Gantry.Balancing;

/// <summary>
/// Per-target health owned by one balancer. Health checkers write it, pickers read it, neither takes
/// a lock: each flag is an int read and written atomically, and a picker that sees a change one pick
/// late does no harm.
/// </summary>
public sealed class TargetHealth
{
    private readonly int[] _unhealthy;
    private readonly bool[] _enabled;
    // Healthy targets with a non-zero weight, kept on every transition so pickers can return null at
    // once instead of walking a wheel or continuum that has nothing healthy on it.
    private int _healthyEnabled;

    internal TargetHealth(BalancerTarget[] targets)
    {
        _unhealthy = new int[targets.Length];
        _enabled = new bool[targets.Length];
        for (int i = 0; i < targets.Length; i++)
        {
            _enabled[i] = targets[i].Weight > 0;
            if (_enabled[i])
                _healthyEnabled++;
        }
    }

    public int Count => _unhealthy.Length;

    public bool IsHealthy(int index) => Volatile.Read(ref _unhealthy[index]) == 0;

    /// <summary>True when at least one target with a non-zero weight is healthy.</summary>
    public bool AnyPickable => Volatile.Read(ref _healthyEnabled) > 0;

    public void SetHealthy(int index, bool healthy)
    {
        int previous = Interlocked.Exchange(ref _unhealthy[index], healthy ? 0 : 1);
        // Only a real transition moves the count, so concurrent writers of the same state cannot skew it.
        if (!_enabled[index] || previous == (healthy ? 0 : 1))
            return;
        if (healthy)
            Interlocked.Increment(ref _healthyEnabled);
        else
            Interlocked.Decrement(ref _healthyEnabled);
    }
}
