using System.Diagnostics;

namespace Gantry.Balancing;

/// <summary>
/// Latency balancing with a peak EWMA per entry: each finished request is a sample of how long the entry
/// took; a sample above the average replaces it at once (a slowing entry is avoided immediately), one
/// below pulls it down with a 10 s decay (a recovering entry wins traffic back gradually). The pick is the
/// healthy entry with the lowest average × (requests in flight + 1) ÷ weight, ties (entries not sampled
/// yet, all at 0) spread evenly; an entry never sampled therefore gets traffic first. A request is timed
/// from the pick until its lease is disposed, which covers the whole exchange with the entry, response
/// body included.
/// </summary>
public sealed class LatencyBalancer : LowestScoreBalancer
{
    private static readonly double DecayTicks = 10.0 * Stopwatch.Frequency;

    private readonly double[] _averageMs;
    private readonly long[] _sampledAt;
    // One lock per entry: a sample reads and writes two values together, and entries do not contend.
    private readonly object[] _locks;

    internal LatencyBalancer(BalancerTarget[] targets, double threshold) : base(targets, threshold)
    {
        _averageMs = new double[targets.Length];
        _sampledAt = new long[targets.Length];
        _locks = new object[targets.Length];
        for (int i = 0; i < _locks.Length; i++)
            _locks[i] = new object();
    }

    public override BalancerAlgorithm Algorithm => BalancerAlgorithm.Latency;

    /// <summary>The entry's current average in milliseconds; 0 before its first sample.</summary>
    public double AverageMilliseconds(int index) => Volatile.Read(ref _averageMs[index]);

    /// <remarks>
    /// The average fades with the time since the entry's last sample, at the same 10 s decay: an entry
    /// that one slow answer took out of favour would otherwise never be measured again while another
    /// stays faster than its stale figure; fading, it is tried again and its real latency decides.
    /// </remarks>
    private protected override double Score(int index, int active, int weight)
    {
        double average = Volatile.Read(ref _averageMs[index]);
        if (average > 0)
            average *= Math.Exp(-(Stopwatch.GetTimestamp() - Volatile.Read(ref _sampledAt[index])) / DecayTicks);
        return average * (active + 1) / weight;
    }

    private protected override BalancerLease Lease(BalancerTarget target, int[] active) => new(target, active, this, Stopwatch.GetTimestamp());

    /// <summary>Counts one finished request of the entry.</summary>
    internal void Record(int index, long startedAt)
    {
        long now = Stopwatch.GetTimestamp();
        Record(index, (now - startedAt) * 1000.0 / Stopwatch.Frequency, now);
    }

    internal void Record(int index, double milliseconds, long now)
    {
        lock (_locks[index])
        {
            double average = _averageMs[index];
            long last = _sampledAt[index];
            if (last == 0 || milliseconds >= average)
            {
                average = milliseconds;
            }
            else
            {
                double keep = Math.Exp(-(now - last) / DecayTicks);
                average = average * keep + milliseconds * (1 - keep);
            }
            _sampledAt[index] = now;
            Volatile.Write(ref _averageMs[index], average);
        }
    }

    /// <summary>
    /// Carries the averages of the balancer this one replaces, by address, so that a configuration
    /// rebuild does not forget what was learnt; an address new to it starts at the others' mean.
    /// </summary>
    internal void Inherit(Balancer previous)
    {
        if (previous is not LatencyBalancer before)
            return;
        double sum = 0;
        int known = 0;
        var fresh = new List<int>();
        foreach (var target in TargetArray)
        {
            int old = before.IndexOf(target.Address);
            if (old < 0 || before._sampledAt[old] == 0)
            {
                fresh.Add(target.Index);
                continue;
            }
            lock (before._locks[old])
            {
                _averageMs[target.Index] = before._averageMs[old];
                _sampledAt[target.Index] = before._sampledAt[old];
            }
            sum += _averageMs[target.Index];
            known++;
        }
        if (known == 0)
            return;
        long now = Stopwatch.GetTimestamp();
        foreach (int index in fresh)
        {
            _averageMs[index] = sum / known;
            _sampledAt[index] = now;
        }
    }
}
