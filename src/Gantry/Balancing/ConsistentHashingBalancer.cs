using System.Buffers.Text;
using System.IO.Hashing;
using System.Text;

namespace Gantry.Balancing;

/// <summary>
/// Ketama-style consistent hashing: a continuum of about <c>slots</c> points, each enabled target owning
/// a share proportional to its weight. A key hashes onto the continuum and belongs to the next point
/// clockwise, so adding or removing a target moves only the keys near its points.
/// Hash: xxHash32 (seed 0) from System.IO.Hashing, the function Kong's continuum uses, so that it is
/// stable across processes, nodes and releases, unlike string.GetHashCode.
/// </summary>
public sealed class ConsistentHashingBalancer : Balancer
{
    // Sorted point hashes and, at the same positions, the index of the target owning each point.
    private readonly uint[] _points;
    private readonly int[] _owners;
    // Spreads keyless requests over the continuum, hence by weight, rather than sending them all to one point.
    private int _keyless = -1;

    internal ConsistentHashingBalancer(BalancerTarget[] targets, int slots, double threshold) : base(targets, threshold)
    {
        if (slots is < BalancerSettings.MinSlots or > BalancerSettings.MaxSlots)
            throw new BalancerConfigurationException(
                $"slots is {slots}; it must be between {BalancerSettings.MinSlots} and {BalancerSettings.MaxSlots}");

        long totalWeight = 0;
        foreach (var t in targets)
            totalWeight += t.Weight;

        var pointCounts = new int[targets.Length];
        long count = 0;
        if (totalWeight > 0)
        {
            foreach (var t in targets)
            {
                if (t.Weight == 0)
                    continue;
                // At least one point, so a light target next to heavy ones is still reachable.
                pointCounts[t.Index] = (int)Math.Max(1, Math.Round((double)slots * t.Weight / totalWeight));
                count += pointCounts[t.Index];
            }
        }

        // Each point hashes "<address> <n>": a target keeps its first points whatever else is on the
        // continuum, which is what keeps remapping small when the target list changes.
        var keys = new ulong[count];
        int at = 0;
        foreach (var t in targets)
        {
            if (pointCounts[t.Index] == 0)
                continue;
            byte[] prefix = Encoding.UTF8.GetBytes(t.Address + " ");
            byte[] input = new byte[prefix.Length + 11];
            prefix.CopyTo(input, 0);
            for (int n = 0; n < pointCounts[t.Index]; n++)
            {
                Utf8Formatter.TryFormat(n, input.AsSpan(prefix.Length), out int written);
                uint hash = Hash(input.AsSpan(0, prefix.Length + written));
                // Hash in the high half, owner in the low: one sort orders points and breaks ties by owner.
                keys[at++] = ((ulong)hash << 32) | (uint)t.Index;
            }
        }
        Array.Sort(keys);

        _points = new uint[keys.Length];
        _owners = new int[keys.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            _points[i] = (uint)(keys[i] >> 32);
            _owners[i] = (int)(uint)keys[i];
        }
    }

    public override BalancerAlgorithm Algorithm => BalancerAlgorithm.ConsistentHashing;

    public int PointCount => _points.Length;

    /// <summary>The 32-bit hash used for keys and points: xxHash32, seed 0.</summary>
    public static uint Hash(ReadOnlySpan<byte> data) => XxHash32.HashToUInt32(data);

    public override BalancerTarget? Pick(ReadOnlySpan<byte> hashKey)
    {
        if (_points.Length == 0 || !Health.AnyPickable)
            return null;

        int start;
        if (hashKey.IsEmpty)
        {
            start = (int)((uint)Interlocked.Increment(ref _keyless) % (uint)_points.Length);
        }
        else
        {
            uint hash = Hash(hashKey);
            start = LowerBound(hash);
            if (start == _points.Length)
                start = 0;
        }

        // An unhealthy owner passes the key clockwise to the next healthy one, as if its points were gone.
        for (int step = 0; step < _points.Length; step++)
        {
            int i = start + step;
            if (i >= _points.Length)
                i -= _points.Length;
            int owner = _owners[i];
            if (Health.IsHealthy(owner))
                return TargetArray[owner];
        }
        return null;
    }

    /// <summary>The first point whose hash is at least <paramref name="hash"/>, or the length when none is.</summary>
    private int LowerBound(uint hash)
    {
        int lo = 0, hi = _points.Length;
        while (lo < hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            if (_points[mid] < hash)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }
}
