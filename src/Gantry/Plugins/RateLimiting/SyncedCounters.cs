using System.Collections.Concurrent;
using System.Globalization;

namespace Gantry.Plugins.RateLimiting;

/// <summary>
/// rate-limiting's <c>sync_rate</c> above 0: requests are decided and counted in this node's memory, and
/// every <c>sync_rate</c> seconds the counts gathered since are added to the shared store (Redis or the
/// database) and the shared totals read back, so a request costs no round trip. Nodes then enforce the
/// limit together only as closely as the sync interval allows (each may let through what it counted
/// since the last sync). A window's first request on the node reads the shared total once.
/// </summary>
public sealed class SyncedCounters : ICounterStore, IDisposable
{
    /// <summary>Kong's smallest interval; shorter ones are raised to it.</summary>
    public const double MinimumInterval = 0.02;

    private static readonly TimeSpan IdleLifetime = TimeSpan.FromMinutes(10);

    private readonly ICounterStore _shared;
    private readonly ConcurrentDictionary<(CounterScope Scope, CounterWindow Window), Entry> _entries = new();
    private readonly Timer _timer;
    private readonly ILogger _logger;
    private readonly Action _retire;
    private int _syncing;
    private int _failing;
    private long _lastUse = Environment.TickCount64;

    private sealed class Entry
    {
        public long Synced;
        public long InFlight;
        public long Pending;
        public volatile bool Known;
    }

    public SyncedCounters(ICounterStore shared, double seconds, ILogger logger, Action retire)
    {
        _shared = shared;
        _logger = logger;
        _retire = retire;
        var interval = TimeSpan.FromSeconds(Math.Max(MinimumInterval, seconds));
        Interval = interval;
        _timer = new Timer(_ => _ = SyncAsync(), null, interval, interval);
    }

    public TimeSpan Interval { get; }

    public string Description => string.Create(CultureInfo.InvariantCulture, $"{_shared.Description} (synced every {Interval.TotalSeconds} s)");

    public async ValueTask<long[]> GetAsync(CounterScope scope, CounterWindow[] windows)
    {
        Volatile.Write(ref _lastUse, Environment.TickCount64);
        var entries = new Entry[windows.Length];
        List<int>? unknown = null;
        for (var i = 0; i < windows.Length; i++)
        {
            entries[i] = _entries.GetOrAdd((scope, windows[i]), static _ => new Entry());
            if (!entries[i].Known)
                (unknown ??= []).Add(i);
        }
        if (unknown is not null)
        {
            var totals = await _shared.GetAsync(scope, [.. unknown.Select(i => windows[i])]);
            for (var j = 0; j < unknown.Count; j++)
            {
                var entry = entries[unknown[j]];
                if (!entry.Known)
                {
                    Volatile.Write(ref entry.Synced, totals[j]);
                    entry.Known = true;
                }
            }
        }
        var counts = new long[windows.Length];
        for (var i = 0; i < windows.Length; i++)
            counts[i] = Volatile.Read(ref entries[i].Synced) + Volatile.Read(ref entries[i].InFlight) + Volatile.Read(ref entries[i].Pending);
        return counts;
    }

    public async ValueTask<long[]> AddAsync(CounterScope scope, CounterWindow[] windows, long amount)
    {
        var counts = await GetAsync(scope, windows);
        for (var i = 0; i < windows.Length; i++)
        {
            Interlocked.Add(ref _entries.GetOrAdd((scope, windows[i]), static _ => new Entry()).Pending, amount);
            counts[i] += amount;
        }
        return counts;
    }

    /// <summary>Adds what was counted since the last sync to the shared store and reads the totals back; one sync at a time.</summary>
    public async Task SyncAsync()
    {
        if (Interlocked.Exchange(ref _syncing, 1) == 1)
            return;
        try
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            foreach (var ((scope, window), entry) in _entries)
            {
                if (window.End <= now)
                {
                    _entries.TryRemove((scope, window), out _);
                    continue;
                }
                CounterWindow[] one = [window];
                var pending = Interlocked.Exchange(ref entry.Pending, 0);
                Volatile.Write(ref entry.InFlight, pending);
                try
                {
                    var total = (pending != 0 ? await _shared.AddAsync(scope, one, pending) : await _shared.GetAsync(scope, one))[0];
                    Volatile.Write(ref entry.Synced, total);
                    Volatile.Write(ref entry.InFlight, 0);
                    entry.Known = true;
                }
                catch (Exception error) when (error is not OperationCanceledException)
                {
                    // Kept for the next sync; the shared store's outage is logged once here, not per key.
                    Interlocked.Add(ref entry.Pending, pending);
                    if (Interlocked.Exchange(ref _failing, 1) == 0)
                        _logger.LogError("rate-limiting: syncing counts with {Store} failed: {Error}", _shared.Description, error.Message);
                    return;
                }
                finally
                {
                    Volatile.Write(ref entry.InFlight, 0);
                }
            }
            if (Interlocked.Exchange(ref _failing, 0) == 1)
                _logger.LogInformation("rate-limiting: {Store} answers again; counts are synced", _shared.Description);
            if (_entries.IsEmpty && Environment.TickCount64 - Volatile.Read(ref _lastUse) > IdleLifetime.TotalMilliseconds)
                _retire();
        }
        finally
        {
            Volatile.Write(ref _syncing, 0);
        }
    }

    public void Dispose() => _timer.Dispose();
}

/// <summary>
/// The node's synced stores, one per plugin instance and shared store, outliving configuration snapshots
/// (a rebuilt handler keeps the counts gathered since the last sync). A store unused for ten minutes
/// retires itself and stops its timer.
/// </summary>
public sealed class SyncedCounterStores
{
    private readonly ConcurrentDictionary<string, SyncedCounters> _stores = new();

    public SyncedCounters For(Guid instance, ICounterStore shared, double seconds, ILogger logger)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"{instance}|{shared.Description}|{seconds}");
        while (true)
        {
            if (_stores.TryGetValue(key, out var existing))
                return existing;
            SyncedCounters? created = null;
            created = new SyncedCounters(shared, seconds, logger, () =>
            {
                if (_stores.TryRemove(new KeyValuePair<string, SyncedCounters>(key, created!)))
                    created!.Dispose();
            });
            if (_stores.TryAdd(key, created))
                return created;
            created.Dispose();
        }
    }
}
