using System.Collections.Concurrent;

namespace Gantry.Plugins.RateLimiting;

/// <summary>
/// The <c>local</c> policy's counters: one per (the instance's route and service scope, identifier, period, window start) in
/// this node's memory, outliving configuration snapshots. Windows that ended are swept at most once a
/// second by whichever request notices first, so memory follows the number of live windows.
/// </summary>
public sealed class LocalCounters
{
    private readonly ConcurrentDictionary<CounterKey, StrongBox> _counters = new();
    private long _nextSweep;

    public readonly record struct CounterKey(Guid Route, Guid Service, string Identifier, int Period, long WindowStart);

    private sealed class StrongBox(long windowEnd)
    {
        public long Value;
        public long WindowEnd { get; } = windowEnd;
    }

    /// <summary>The count in the window so far.</summary>
    public long Get(in CounterKey key) => _counters.TryGetValue(key, out var box) ? Volatile.Read(ref box.Value) : 0;

    /// <summary>Counts one request in the window that ends at <paramref name="windowEnd"/> (Unix seconds).</summary>
    public void Increment(in CounterKey key, long windowEnd, long now)
    {
        var box = _counters.GetOrAdd(key, static (_, end) => new StrongBox(end), windowEnd);
        Interlocked.Increment(ref box.Value);
        var next = Volatile.Read(ref _nextSweep);
        if (now >= next && Interlocked.CompareExchange(ref _nextSweep, now + 1, next) == next)
            Sweep(now);
    }

    private void Sweep(long now)
    {
        foreach (var (key, box) in _counters)
        {
            if (box.WindowEnd <= now)
                _counters.TryRemove(key, out _);
        }
    }

    /// <summary>How many windows are counted; for tests and diagnostics.</summary>
    public int Count => _counters.Count;
}
