using System.Collections.Concurrent;

namespace Gantry.Plugins.ProxyCache;

/// <summary>
/// One response kept by proxy-cache: what the upstream answered, when it was stored (Unix milliseconds,
/// so that a one-second TTL is not rounded away) and its freshness in seconds.
/// </summary>
public sealed record CachedResponse(
    int Status,
    IReadOnlyList<KeyValuePair<string, string[]>> Headers,
    byte[] Body,
    long Timestamp,
    long Ttl)
{
    /// <summary>What the entry counts against its dictionary's byte cap: the body, the headers and a fixed overhead.</summary>
    public long Size { get; } = Body.Length + 256 + Headers.Sum(h => h.Key.Length + h.Value.Sum(v => v.Length + 4L));
}

/// <summary>
/// One memory dictionary (Kong's <c>memory.dictionary_name</c>): responses by cache key, bounded by an
/// entry count and a byte total, the least recently used going first when either is reached; an entry
/// also goes once its storage time has passed. Hand-written rather than MemoryCache because that cache
/// refuses an insert past its size limit (and compacts later, in the background) instead of making room,
/// and keeps a single limit where both a count and a byte total are wanted.
/// </summary>
public sealed class ProxyCacheStore(int maxEntries, long maxBytes)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<(string Key, CachedResponse Response, long ExpiresAt)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, CachedResponse Response, long ExpiresAt)> _recency = new();
    private long _bytes;

    public int MaxEntries { get; } = maxEntries;

    public long MaxBytes { get; } = maxBytes;

    public int Count
    {
        get
        {
            lock (_lock)
                return _entries.Count;
        }
    }

    public long Bytes
    {
        get
        {
            lock (_lock)
                return _bytes;
        }
    }

    /// <summary>The entry under <paramref name="key"/> still within its storage time at <paramref name="now"/> (Unix milliseconds).</summary>
    public CachedResponse? Fetch(string key, long now)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var node))
                return null;
            if (node.Value.ExpiresAt <= now)
            {
                RemoveNode(node);
                return null;
            }
            _recency.Remove(node);
            _recency.AddFirst(node);
            return node.Value.Response;
        }
    }

    /// <summary>Keeps the response for <paramref name="storageTtl"/> seconds; false when it alone is larger than the dictionary.</summary>
    public bool Store(string key, CachedResponse response, long storageTtl)
    {
        if (response.Size > MaxBytes || storageTtl <= 0)
            return false;
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var old))
                RemoveNode(old);
            while (_entries.Count >= MaxEntries || _bytes + response.Size > MaxBytes)
                RemoveNode(_recency.Last!);
            var node = _recency.AddFirst((key, response, response.Timestamp + storageTtl * 1000));
            _entries[key] = node;
            _bytes += response.Size;
            return true;
        }
    }

    public bool Purge(string key)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var node))
                return false;
            RemoveNode(node);
            return true;
        }
    }

    public void Flush()
    {
        lock (_lock)
        {
            _entries.Clear();
            _recency.Clear();
            _bytes = 0;
        }
    }

    private void RemoveNode(LinkedListNode<(string Key, CachedResponse Response, long ExpiresAt)> node)
    {
        _entries.Remove(node.Value.Key);
        _recency.Remove(node);
        _bytes -= node.Value.Response.Size;
    }
}

/// <summary>
/// The node's proxy-cache dictionaries by name. They live in <see cref="Pipeline.PluginNodeState"/>, so
/// a configuration change (a new snapshot) keeps what was cached; each dictionary has its own caps, as
/// each of Kong's shared dictionaries has its own size.
/// </summary>
public sealed class ProxyCacheStores
{
    /// <summary>Entries per dictionary: past it the least recently used goes.</summary>
    public const int MaxEntries = 10_000;

    /// <summary>Bytes per dictionary, Kong's default mem_cache_size (128m), which sizes its kong_db_cache dictionary.</summary>
    public const long MaxBytes = 128L << 20;

    private readonly ConcurrentDictionary<string, ProxyCacheStore> _stores = new(StringComparer.Ordinal);

    public ProxyCacheStore For(string dictionary) => _stores.GetOrAdd(dictionary, _ => new ProxyCacheStore(MaxEntries, MaxBytes));

    /// <summary>The dictionary named, only if a plugin instance has used it.</summary>
    public ProxyCacheStore? Find(string dictionary) => _stores.GetValueOrDefault(dictionary);

    public IEnumerable<ProxyCacheStore> All => _stores.Values;
}
