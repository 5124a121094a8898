using System.Text;
using System.Text.Json.Nodes;
using Gantry.Admin;

namespace Gantry.Plugins.ProxyCache;

/// <summary>
/// Kong's proxy-cache Admin API: purge every dictionary, or one entry by its key (in any dictionary, or in
/// the one a given plugin instance uses), and read an entry back. The cache is the node's own memory, so
/// a purge acts on the node that serves the Admin request and, with a database, is broadcast to the others.
/// </summary>
public sealed class ProxyCacheEndpoints(ProxyCacheStores stores, ProxyCachePurges? purges)
{
    public void Map(AdminApi api)
    {
        api.Map("/proxy-cache", [HttpMethods.Delete], (http, _) => FlushAsync(http));
        api.Map("/proxy-cache/{cache_key}", [HttpMethods.Get, HttpMethods.Delete], (http, s) => AnyDictionaryAsync(http, s[1]));
        api.Map("/proxy-cache/{plugin_id}/caches/{cache_key}", [HttpMethods.Get, HttpMethods.Delete], (http, s) => PluginDictionaryAsync(http, api, s[1], s[3]));
    }

    private async Task FlushAsync(HttpContext http)
    {
        var purge = new ProxyCachePurge(null, null);
        purge.ApplyTo(stores);
        await BroadcastAsync(purge, http.RequestAborted);
        http.Response.StatusCode = 204;
    }

    private Task BroadcastAsync(ProxyCachePurge purge, CancellationToken cancellationToken) =>
        purges?.BroadcastAsync(purge, cancellationToken) ?? Task.CompletedTask;

    private Task AnyDictionaryAsync(HttpContext http, string key)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var store in stores.All)
        {
            if (store.Fetch(key, now) is { } cached)
                return AnswerAsync(http, store, null, key, cached);
        }
        throw EntityEndpoints.NotFound();
    }

    private async Task PluginDictionaryAsync(HttpContext http, AdminApi api, string pluginId, string key)
    {
        var plugin = Guid.TryParse(pluginId, out _)
            ? await api.Dao.GetAsync(api.Registry.Get("plugins"), pluginId, http.RequestAborted)
            : null;
        if (plugin?["name"]?.GetValue<string>() != ProxyCachePlugin.Name)
            throw EntityEndpoints.NotFound();
        var dictionary = plugin["config"]?["memory"]?["dictionary_name"]?.GetValue<string>() ?? ProxyCachePlugin.DefaultDictionary;
        if (stores.Find(dictionary) is not { } store || store.Fetch(key, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) is not { } cached)
            throw EntityEndpoints.NotFound();
        await AnswerAsync(http, store, dictionary, key, cached);
    }

    /// <param name="dictionary">The dictionary the other nodes purge the key from; null for all of them.</param>
    private async Task AnswerAsync(HttpContext http, ProxyCacheStore store, string? dictionary, string key, CachedResponse cached)
    {
        if (HttpMethods.IsDelete(http.Request.Method))
        {
            store.Purge(key);
            await BroadcastAsync(new ProxyCachePurge(dictionary, key), http.RequestAborted);
            http.Response.StatusCode = 204;
            return;
        }
        await AdminJson.WriteAsync(http, 200, Describe(cached));
    }

    /// <summary>An entry as Kong's memory strategy keeps it: status, headers, body and its length, when (Unix seconds) and for how long.</summary>
    private static JsonObject Describe(CachedResponse cached)
    {
        var headers = new JsonObject();
        foreach (var (name, values) in cached.Headers)
            headers[name.ToLowerInvariant()] = values.Length == 1 ? values[0] : new JsonArray(values.Select(v => (JsonNode?)v).ToArray());
        return new JsonObject
        {
            ["status"] = cached.Status,
            ["headers"] = headers,
            ["body"] = Encoding.UTF8.GetString(cached.Body),
            ["body_len"] = cached.Body.Length,
            ["timestamp"] = cached.Timestamp / 1000,
            ["ttl"] = cached.Ttl,
            ["version"] = 1,
        };
    }
}
