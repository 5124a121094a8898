using System.Collections.Frozen;
using System.Text.Json.Nodes;

namespace Gantry.Plugins.Pipeline;

/// <summary>
/// What a plugin's handler factory may read while a snapshot is built: the consumers, the plugin's own
/// entities (its credentials), the node's long-lived plugin state, and a memo so that data shared by all
/// instances of a plugin (a key index) is computed once per snapshot.
/// </summary>
public sealed class PluginSetup(
    FrozenDictionary<Guid, ConsumerInfo> consumers,
    IReadOnlyDictionary<string, IReadOnlyList<JsonObject>> entities,
    PluginNodeState node,
    ILogger logger)
{
    private readonly Dictionary<string, object> _shared = [];
    private FrozenDictionary<string, ConsumerInfo>? _byUsername;

    public FrozenDictionary<Guid, ConsumerInfo> Consumers { get; } = consumers;

    /// <summary>State that outlives snapshots (rate-limiting counters).</summary>
    public PluginNodeState Node { get; } = node;

    public ILogger Logger { get; } = logger;

    /// <summary>The rows of an entity a plugin owns, by its schema name (keyauth_credentials).</summary>
    public IReadOnlyList<JsonObject> Entities(string schema) => entities.GetValueOrDefault(schema) ?? [];

    /// <summary>Computes a value once per snapshot for every instance that asks for the same key.</summary>
    public T Shared<T>(string key, Func<T> create) where T : class
    {
        if (!_shared.TryGetValue(key, out var value))
            _shared[key] = value = create();
        return (T)value;
    }

    /// <summary>A consumer by id or username, as the anonymous setting of authentication plugins names it.</summary>
    public ConsumerInfo? FindConsumer(string idOrUsername)
    {
        if (Guid.TryParse(idOrUsername, out var id) && Consumers.TryGetValue(id, out var byId))
            return byId;
        _byUsername ??= Consumers.Values.Where(c => c.Username is not null).ToFrozenDictionary(c => c.Username!, StringComparer.Ordinal);
        return _byUsername.GetValueOrDefault(idOrUsername);
    }
}

/// <summary>Plugin state that lives as long as the node, across configuration snapshots.</summary>
public sealed class PluginNodeState : IAsyncDisposable
{
    /// <summary>The node's database, where the cluster policies count; null on a node without one (database = off).</summary>
    public Store.IDatabase? Database { get; init; }

    public RateLimiting.LocalCounters RateLimitCounters { get; } = new();

    /// <summary>response-ratelimiting's local counts, apart from rate-limiting's.</summary>
    public RateLimiting.LocalCounters ResponseRateLimitCounters { get; } = new();

    /// <summary>The redis policy's connections, one per Redis server.</summary>
    public RateLimiting.RedisConnections Redis { get; } = new();

    /// <summary>The stores of instances with a sync_rate, which count between syncs.</summary>
    public RateLimiting.SyncedCounterStores SyncedCounters { get; } = new();

    /// <summary>What the prometheus plugin counted, served on /metrics.</summary>
    public Prometheus.PrometheusMetrics Prometheus { get; } = new();

    /// <summary>proxy-cache's memory dictionaries: what was cached survives configuration changes.</summary>
    public ProxyCache.ProxyCacheStores ProxyCache { get; } = new();

    /// <summary>Where oauth2 reads and writes its tokens and codes; null where no store is at hand (unit tests).</summary>
    public OAuth2.OAuth2Store? OAuth2 { get; init; }

    /// <summary>The log plugins' queues (http-log, tcp-log, udp-log), one per instance.</summary>
    public Logging.LogQueues LogQueues { get; } = new();

    /// <summary>file-log's writers, one per file.</summary>
    public FileLog.LogFiles LogFiles { get; } = new();

    /// <summary>Sends what the log queues still hold and closes the log files when the node stops.</summary>
    public async ValueTask DisposeAsync()
    {
        await LogQueues.DisposeAsync();
        await LogFiles.DisposeAsync();
    }
}
