namespace Gantry.Balancing;

/// <summary>
/// Weighted round-robin over a wheel holding each enabled target once per unit of its weight divided
/// by the weights' GCD, shuffled so that heavy targets are interleaved rather than served in bursts.
/// </summary>
public sealed class RoundRobinBalancer : Balancer
{
    private readonly int[] _wheel;
    private int _next = -1;

    internal RoundRobinBalancer(BalancerTarget[] targets, int seed, double threshold) : base(targets, threshold)
    {
        int gcd = 0;
        foreach (var t in targets)
            if (t.Weight > 0)
                gcd = Gcd(gcd, t.Weight);

        long size = 0;
        foreach (var t in targets)
            if (t.Weight > 0)
                size += t.Weight / gcd;

        _wheel = new int[size];
        int at = 0;
        foreach (var t in targets)
            for (int k = 0; k < (t.Weight > 0 ? t.Weight / gcd : 0); k++)
                _wheel[at++] = t.Index;

        // Fisher-Yates with a seeded generator: the order is deterministic for a given seed and target list.
        var random = new Random(seed);
        for (int i = _wheel.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (_wheel[i], _wheel[j]) = (_wheel[j], _wheel[i]);
        }
    }

    public override BalancerAlgorithm Algorithm => BalancerAlgorithm.RoundRobin;

    /// <summary>Entries in one turn of the wheel; a full turn serves each target exactly its reduced weight.</summary>
    public int WheelSize => _wheel.Length;

    public override BalancerTarget? Pick(ReadOnlySpan<byte> hashKey)
    {
        if (_wheel.Length == 0 || !Health.AnyPickable)
            return null;
        // Casting to uint keeps the slot non-negative after the counter wraps past int.MaxValue.
        uint start = (uint)Interlocked.Increment(ref _next) % (uint)_wheel.Length;
        // An unhealthy entry hands over to the next healthy one; AnyPickable guarantees one exists,
        // and the bound protects against a target turning unhealthy during the walk.
        for (int step = 0; step < _wheel.Length; step++)
        {
            uint slot = start + (uint)step;
            if (slot >= (uint)_wheel.Length)
                slot -= (uint)_wheel.Length;
            int index = _wheel[slot];
            if (Health.IsHealthy(index))
                return TargetArray[index];
        }
        return null;
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
            (a, b) = (b, a % b);
        return a;
    }
}
