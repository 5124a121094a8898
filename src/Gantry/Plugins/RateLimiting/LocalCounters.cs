using System.Collections.Concurrent;

namespace Gantry.Plugins.RateLimiting;

/// <summary>
/// The <c>local</c> policy's counters: one per (scope, period, window start) in this node's memory,
/// outliving configuration snapshots. Windows that ended are swept at most once a second by whichever
/// request notices first, so memory follows the number of live windows.
/// </summary>
public sealed class LocalCounters : ICounterStore
{
    private readonly ConcurrentDictionary<CounterKey, StrongBox> _counters = new();
    private long _nextSweep;

    private readonly record struct CounterKey(CounterScope Scope, string Period, long WindowStart);

    private sealed class StrongBox(long windowEnd)
    {
        public long Value;
        public long WindowEnd { get; } = windowEnd;
    }

    public string Description => "the node's memory";

    public ValueTask<long[]> GetAsync(CounterScope scope, CounterWindow[] windows)
    {
        var counts = new long[windows.Length];
        for (var i = 0; i < windows.Length; i++)
        {
            if (_counters.TryGetValue(new CounterKey(scope, windows[i].Period, windows[i].Start), out var box))
                counts[i] = Volatile.Read(ref box.Value);
        }
        return ValueTask.FromResult(counts);
    }

    public ValueTask<long[]> AddAsync(CounterScope scope, CounterWindow[] windows, long amount)
    {
        var counts = new long[windows.Length];
        for (var i = 0; i < windows.Length; i++)
        {
            var box = _counters.GetOrAdd(new CounterKey(scope, windows[i].Period, windows[i].Start), static (_, end) => new StrongBox(end), windows[i].End);
            counts[i] = Interlocked.Add(ref box.Value, amount);
        }
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var next = Volatile.Read(ref _nextSweep);
        if (now >= next && Interlocked.CompareExchange(ref _nextSweep, now + 1, next) == next)
            Sweep(now);
        return ValueTask.FromResult(counts);
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
