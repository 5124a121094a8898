using System.Text.Json;
using Gantry.Store;

namespace Gantry.Plugins.ProxyCache;

/// <summary>A purge: one key or every key (null), in one dictionary or in all of them (null).</summary>
public sealed record ProxyCachePurge(string? Dictionary, string? CacheKey)
{
    public string ToJson() => JsonSerializer.Serialize(new { dictionary = Dictionary, cache_key = CacheKey });

    public static ProxyCachePurge? FromJson(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            return new ProxyCachePurge(root.GetProperty("dictionary").GetString(), root.GetProperty("cache_key").GetString());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    public void ApplyTo(ProxyCacheStores stores)
    {
        var targets = Dictionary is null ? stores.All : stores.Find(Dictionary) is { } one ? [one] : [];
        foreach (var store in targets)
        {
            if (CacheKey is null)
                store.Flush();
            else
                store.Purge(CacheKey);
        }
    }
}

/// <summary>
/// Carries Admin API purges to the other nodes of a cluster, as Kong broadcasts them on its
/// <c>proxy-cache:purge</c> channel: the node that takes the call purges its own memory and writes a
/// <c>cluster_events</c> row; every other node polls the channel each db_update_frequency and purges too.
/// </summary>
public sealed class ProxyCachePurges(EntityDao dao, ProxyCacheStores stores, Guid nodeId, TimeSpan frequency, ILogger logger) : IAsyncDisposable
{
    public const string Channel = "proxy-cache:purge";

    private readonly ClusterBroadcast _broadcast = new(dao, Channel, nodeId, frequency, data => ProxyCachePurge.FromJson(data)?.ApplyTo(stores), logger);

    public Task BroadcastAsync(ProxyCachePurge purge, CancellationToken cancellationToken) => _broadcast.PublishAsync(purge.ToJson(), cancellationToken);

    /// <summary>A node that starts later has nothing cached from before: earlier purges are not replayed.</summary>
    public Task StartAsync(CancellationToken cancellationToken) => _broadcast.StartAsync(cancellationToken);

    public ValueTask DisposeAsync() => _broadcast.DisposeAsync();
}
