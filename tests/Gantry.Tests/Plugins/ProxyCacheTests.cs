using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Plugins.ProxyCache;
using Gantry.Tests.Support;

namespace Gantry.Tests.Plugins;

/// <summary>
/// A real loopback upstream that counts the requests it receives by path and query, and answers as its
/// query says: <c>status</c>, <c>type</c> (Content-Type) and <c>cc</c> (Cache-Control); its body names
/// how many times it was reached, so a response served from the cache shows the count of the one stored.
/// </summary>
public sealed class CountingUpstream() : LoopbackServer(concurrent: true)
{
    private readonly ConcurrentDictionary<string, int> _hits = new(StringComparer.Ordinal);

    /// <summary>Requests received for a path and query (<c>/a?x=1</c>, as the upstream saw it).</summary>
    public int Hits(string pathAndQuery) => _hits.GetValueOrDefault(pathAndQuery);

    public int Total => _hits.Values.Sum();

    protected override async Task HandleAsync(HttpListenerContext context)
    {
        var url = context.Request.RawUrl ?? "/";
        var count = _hits.AddOrUpdate(url, 1, (_, n) => n + 1);
        var query = context.Request.QueryString;
        context.Response.StatusCode = int.TryParse(query["status"], out var status) ? status : 200;
        context.Response.ContentType = query["type"] ?? "application/json";
        if (query["cc"] is { } cc)
            context.Response.AddHeader("Cache-Control", cc);
        context.Response.AddHeader("X-Upstream", "counting");
        var body = Encoding.UTF8.GetBytes(new JsonObject { ["count"] = count, ["url"] = url }.ToJsonString());
        if (context.Request.HttpMethod != "HEAD")
            await context.Response.OutputStream.WriteAsync(body);
        context.Response.Close();
    }
}

/// <summary>proxy-cache end to end: a node's proxy in front of a counting upstream, configured and purged through the Admin API.</summary>
public abstract class ProxyCacheTests(AdminNode node) : ProxyPluginTests(node), IAsyncLifetime
{
    protected CountingUpstream Counting { get; } = new();

    /// <summary>A route on the counting upstream with proxy-cache configured as given; returns the route's path once the plugin serves.</summary>
    protected async Task<(string Path, string PluginId)> CachedRouteAsync(string name, object config, bool quiet = false, object? alongside = null)
    {
        await Node.CreateAsync("/services", new { name = $"{Prefix}-{name}", url = $"http://127.0.0.1:{Counting.Port}" });
        await Node.CreateAsync($"/services/{Prefix}-{name}/routes", new { name = $"{Prefix}-{name}", paths = new[] { $"/{Prefix}/{name}" } });
        // The other plugin first: once proxy-cache serves, the snapshot holds both.
        if (alongside is not null)
            await Node.CreateAsync($"/routes/{Prefix}-{name}/plugins", alongside);
        var plugin = await Node.CreateAsync($"/routes/{Prefix}-{name}/plugins", new { name = "proxy-cache", config });
        var path = $"/{Prefix}/{name}";
        if (quiet)
        {
            // Without the diagnostic headers: the plugin serves once the same count comes back twice (a hit).
            var previous = -1;
            await UntilAsync(() => GetAsync(path + "/warm"), r => r.StatusCode == HttpStatusCode.OK && previous == (previous = Count(r).Result));
        }
        else
            await UntilAsync(() => GetAsync(path + "/warm"), r => CacheStatus(r) != "");
        return (path, plugin["id"]!.GetValue<string>());
    }

    protected static string CacheStatus(HttpResponseMessage response) => Header(response, "X-Cache-Status");

    protected static async Task<int> Count(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!["count"]!.GetValue<int>();

    protected async Task Miss_then_hit_reaches_the_upstream_once_and_admin_purges()
    {
        var (path, pluginId) = await CachedRouteAsync("hit", new { strategy = "memory" });
        var miss = await GetAsync(path + "/a?x=1");
        Assert.Equal("Miss", CacheStatus(miss));
        var key = Header(miss, "X-Cache-Key");
        Assert.Matches("^[0-9a-f]{64}$", key);
        Assert.Equal(1, await Count(miss));

        var hit = await GetAsync(path + "/a?x=1");
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Equal("Hit", CacheStatus(hit));
        Assert.Equal(key, Header(hit, "X-Cache-Key"));
        Assert.Equal(1, await Count(hit));
        Assert.Equal("counting", Header(hit, "X-Upstream"));
        Assert.Equal("application/json", hit.Content.Headers.ContentType!.MediaType);
        Assert.Matches("^[0-9]+$", Header(hit, "Age"));
        Assert.Equal(1, Counting.Hits("/a?x=1"));

        // The Admin API reads the entry back, in any dictionary or in the plugin's.
        var read = await Node.GetAsync("/proxy-cache/" + key);
        Assert.Equal(200, read.Status);
        Assert.Equal(200, read.Body!["status"]!.GetValue<int>());
        Assert.Contains("\"count\":1", read.Body["body"]!.GetValue<string>());
        Assert.Equal("counting", read.Body["headers"]!["x-upstream"]!.GetValue<string>());
        Assert.Equal(200, (await Node.GetAsync($"/proxy-cache/{pluginId}/caches/{key}")).Status);

        // A configuration change builds a new snapshot; the cache is the node's and stays.
        await Node.CreateAsync("/services", new { name = $"{Prefix}-other", url = $"http://127.0.0.1:{Counting.Port}" });
        await Node.CreateAsync($"/services/{Prefix}-other/routes", new { name = $"{Prefix}-other", paths = new[] { $"/{Prefix}/other" } });
        await UntilAsync(() => GetAsync($"/{Prefix}/other"), r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal("Hit", CacheStatus(await GetAsync(path + "/a?x=1")));

        // Purged by key: the next request goes upstream and is stored again.
        Assert.Equal(204, (await Node.DeleteAsync("/proxy-cache/" + key)).Status);
        var missing = await Node.GetAsync("/proxy-cache/" + key);
        Assert.Equal(404, missing.Status);
        Assert.Equal("Not found", missing.Body!["message"]!.GetValue<string>());
        Assert.Equal("Miss", CacheStatus(await GetAsync(path + "/a?x=1")));
        Assert.Equal(2, Counting.Hits("/a?x=1"));

        // Purged through the plugin's own path, then a second purge finds nothing.
        Assert.Equal(204, (await Node.DeleteAsync($"/proxy-cache/{pluginId}/caches/{key}")).Status);
        Assert.Equal(404, (await Node.DeleteAsync($"/proxy-cache/{pluginId}/caches/{key}")).Status);
        Assert.Equal(404, (await Node.GetAsync($"/proxy-cache/{Guid.NewGuid()}/caches/{key}")).Status);
        Assert.Equal("Miss", CacheStatus(await GetAsync(path + "/a?x=1")));
        Assert.Equal("Hit", CacheStatus(await GetAsync(path + "/a?x=1")));

        // Everything purged.
        Assert.Equal(204, (await Node.DeleteAsync("/proxy-cache")).Status);
        Assert.Equal("Miss", CacheStatus(await GetAsync(path + "/a?x=1")));
        Assert.Equal(4, Counting.Hits("/a?x=1"));
    }

    protected async Task Uncacheable_requests_and_responses_bypass_the_cache()
    {
        var (path, _) = await CachedRouteAsync("bypass", new { strategy = "memory" });
        foreach (var (method, url) in new[]
        {
            (HttpMethod.Post, "/post"),
            (HttpMethod.Get, "/html?type=text/html"),
            (HttpMethod.Get, "/charset?type=application/json;%20charset=utf-8"),
            (HttpMethod.Get, "/error?status=500"),
        })
        {
            for (var i = 1; i <= 2; i++)
            {
                var response = await SendAsync(method, path + url);
                Assert.Equal("Bypass", CacheStatus(response));
                Assert.Equal(i, await Count(response));
            }
        }
        // 404 is cacheable by default.
        Assert.Equal("Miss", CacheStatus(await GetAsync(path + "/gone?status=404")));
        var gone = await GetAsync(path + "/gone?status=404");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("Hit", CacheStatus(gone));
        Assert.Equal(1, Counting.Hits("/gone?status=404"));
    }

    protected async Task Entries_expire_after_cache_ttl_and_refresh_within_storage_ttl()
    {
        var (expiring, _) = await CachedRouteAsync("ttl", new { strategy = "memory", cache_ttl = 1 });
        Assert.Equal("Miss", CacheStatus(await GetAsync(expiring + "/e")));
        Assert.Equal("Hit", CacheStatus(await GetAsync(expiring + "/e")));
        await Task.Delay(TimeSpan.FromSeconds(1.3));
        var expired = await GetAsync(expiring + "/e");
        Assert.Equal("Miss", CacheStatus(expired));
        Assert.Equal(2, await Count(expired));

        var (kept, _) = await CachedRouteAsync("storage", new { strategy = "memory", cache_ttl = 1, storage_ttl = 60 });
        Assert.Equal("Miss", CacheStatus(await GetAsync(kept + "/s")));
        await Task.Delay(TimeSpan.FromSeconds(1.3));
        var refreshed = await GetAsync(kept + "/s");
        Assert.Equal("Refresh", CacheStatus(refreshed));
        Assert.Equal(2, await Count(refreshed));
        Assert.Equal("Hit", CacheStatus(await GetAsync(kept + "/s")));
    }

    protected async Task Vary_headers_and_query_params_decide_the_key()
    {
        var (path, _) = await CachedRouteAsync("vary", new { strategy = "memory", vary_headers = new[] { "X-Tenant" }, vary_query_params = new[] { "a" } });
        var first = await GetAsync(path + "/v?a=1&b=1", ("X-Tenant", "one"));
        Assert.Equal("Miss", CacheStatus(first));
        // b is not among vary_query_params: the same entry.
        var sameKey = await GetAsync(path + "/v?a=1&b=2", ("X-Tenant", "one"));
        Assert.Equal("Hit", CacheStatus(sameKey));
        Assert.Equal(Header(first, "X-Cache-Key"), Header(sameKey, "X-Cache-Key"));
        Assert.Equal("Miss", CacheStatus(await GetAsync(path + "/v?a=1&b=1", ("X-Tenant", "two"))));
        Assert.Equal("Miss", CacheStatus(await GetAsync(path + "/v?a=1&b=1")));
        Assert.Equal("Miss", CacheStatus(await GetAsync(path + "/v?a=2&b=1", ("X-Tenant", "one"))));

        // Without vary_query_params every argument counts, in any order; ignore_uri_case folds the path.
        var (all, _) = await CachedRouteAsync("all", new { strategy = "memory", ignore_uri_case = true });
        Assert.Equal("Miss", CacheStatus(await GetAsync(all + "/q?b=1&a=1")));
        Assert.Equal("Hit", CacheStatus(await GetAsync(all + "/q?a=1&b=1")));
        Assert.Equal("Hit", CacheStatus(await GetAsync(all + "/Q?a=1&b=1")));
        Assert.Equal("Miss", CacheStatus(await GetAsync(all + "/q?a=1&b=2")));
    }

    protected async Task Cache_control_is_honoured_when_enabled()
    {
        var (path, _) = await CachedRouteAsync("cc", new { strategy = "memory", cache_control = true });
        // No freshness from the upstream: nothing to keep.
        Assert.Equal("Bypass", CacheStatus(await GetAsync(path + "/none")));
        Assert.Equal("Bypass", CacheStatus(await GetAsync(path + "/none")));
        Assert.Equal("Bypass", CacheStatus(await GetAsync(path + "/private?cc=private,%20max-age=60")));
        Assert.Equal("Bypass", CacheStatus(await GetAsync(path + "/nostore?cc=no-store")));

        const string Fresh = "/fresh?cc=public,%20max-age=60";
        Assert.Equal("Miss", CacheStatus(await GetAsync(path + Fresh)));
        var hit = await GetAsync(path + Fresh);
        Assert.Equal("Hit", CacheStatus(hit));
        Assert.Equal(1, await Count(hit));
        // The client refuses a cached answer, or one older than it accepts; an Authorization header is private.
        Assert.Equal("Bypass", CacheStatus(await GetAsync(path + Fresh, ("Cache-Control", "no-cache"))));
        Assert.Equal("Bypass", CacheStatus(await GetAsync(path + Fresh, ("Authorization", "Bearer x"))));
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        var refreshed = await GetAsync(path + Fresh, ("Cache-Control", "max-age=0"));
        Assert.Equal("Refresh", CacheStatus(refreshed));
        Assert.Equal(4, await Count(refreshed));
        // only-if-cached with nothing cached: 504, without reaching the upstream.
        var onlyCached = await GetAsync(path + "/never?cc=max-age=60", ("Cache-Control", "only-if-cached"));
        Assert.Equal(HttpStatusCode.GatewayTimeout, onlyCached.StatusCode);
        Assert.Equal(0, Counting.Hits("/never?cc=max-age=60"));

        // Without cache_control the upstream's directives do not matter.
        var (ignoring, _) = await CachedRouteAsync("nocc", new { strategy = "memory" });
        Assert.Equal("Miss", CacheStatus(await GetAsync(ignoring + "/n?cc=no-store")));
        Assert.Equal("Hit", CacheStatus(await GetAsync(ignoring + "/n?cc=no-store", ("Cache-Control", "no-cache"))));
    }

    // Re-implements IAsyncLifetime so that the counting upstream is stopped too.
    public new async Task DisposeAsync()
    {
        await Counting.DisposeAsync();
        await base.DisposeAsync();
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class SqliteProxyCacheTests(SqliteProxyNode node) : ProxyCacheTests(node), IClassFixture<SqliteProxyNode>
{
    [Fact]
    public Task Miss_then_hit_then_purge() => Miss_then_hit_reaches_the_upstream_once_and_admin_purges();

    [Fact]
    public Task Bypass() => Uncacheable_requests_and_responses_bypass_the_cache();

    [Fact]
    public Task Ttl() => Entries_expire_after_cache_ttl_and_refresh_within_storage_ttl();

    [Fact]
    public Task Vary() => Vary_headers_and_query_params_decide_the_key();

    [Fact]
    public Task Cache_control() => Cache_control_is_honoured_when_enabled();

    [Fact]
    public async Task Response_headers_toggles_hide_the_diagnostic_headers()
    {
        var (path, _) = await CachedRouteAsync("quiet", new { strategy = "memory", response_headers = new Dictionary<string, bool> { ["age"] = false, ["X-Cache-Status"] = false, ["X-Cache-Key"] = false } }, quiet: true);
        await GetAsync(path + "/h");
        var hit = await GetAsync(path + "/h");
        Assert.Equal(1, await Count(hit));
        Assert.Equal("", CacheStatus(hit));
        Assert.Equal("", Header(hit, "X-Cache-Key"));
        Assert.Equal("", Header(hit, "Age"));
        // Kong-Debug shows them anyway.
        var debug = await GetAsync(path + "/h", ("Kong-Debug", "1"));
        Assert.Equal("Hit", CacheStatus(debug));
        Assert.Matches("^[0-9a-f]{64}$", Header(debug, "X-Cache-Key"));
        Assert.NotEqual("", Header(debug, "Age"));
    }

    [Fact]
    public async Task A_body_that_response_transformer_rewrites_is_not_cached_and_header_rules_apply_to_hits()
    {
        var (rewritten, _) = await CachedRouteAsync("rewritten", new { strategy = "memory" },
            alongside: new { name = "response-transformer", config = new { add = new { json = new[] { "added:1" } } } });
        for (var i = 1; i <= 2; i++)
        {
            var transformed = await GetAsync(rewritten + "/j");
            Assert.Equal("Bypass", CacheStatus(transformed));
            var text = await transformed.Content.ReadAsStringAsync();
            Assert.Contains("\"added\"", text);
            Assert.Contains($"\"count\":{i}", text);
        }

        var (headers, _) = await CachedRouteAsync("headers", new { strategy = "memory" },
            alongside: new { name = "response-transformer", config = new { add = new { headers = new[] { "x-added:1" } } } });
        Assert.Equal("Miss", CacheStatus(await GetAsync(headers + "/h")));
        var hit = await GetAsync(headers + "/h");
        Assert.Equal("Hit", CacheStatus(hit));
        Assert.Equal("1", Header(hit, "x-added"));
        Assert.Equal(1, Counting.Hits("/h"));
    }

    [Fact]
    public async Task Schema_errors_answer_400_in_kongs_shape()
    {
        var missing = await Node.PostAsync("/plugins", new { name = "proxy-cache", config = new { } });
        Assert.Equal(400, missing.Status);
        Assert.Equal("schema violation", missing.Body!["name"]!.GetValue<string>());
        Assert.Equal("required field missing", missing.Body["fields"]!["config"]!["strategy"]!.GetValue<string>());

        var redis = await Node.PostAsync("/plugins", new { name = "proxy-cache", config = new { strategy = "redis" } });
        Assert.Equal(400, redis.Status);
        Assert.Equal("expected one of: memory", redis.Body!["fields"]!["config"]!["strategy"]!.GetValue<string>());

        var codes = await Node.PostAsync("/plugins", new { name = "proxy-cache", config = new { strategy = "memory", response_code = new[] { 99 }, cache_ttl = 0, request_method = new[] { "DELETE" } } });
        Assert.Equal(400, codes.Status);
        var fields = codes.Body!["fields"]!["config"]!;
        Assert.Equal("value should be between 100 and 900", fields["response_code"]![0]!.GetValue<string>());
        Assert.Equal("value must be greater than 0", fields["cache_ttl"]!.GetValue<string>());
        Assert.Equal("expected one of: HEAD, GET, POST, PATCH, PUT", fields["request_method"]![0]!.GetValue<string>());

        var created = await Node.CreateAsync("/plugins", new { name = "proxy-cache", enabled = false, config = new { strategy = "memory" } });
        var config = created["config"]!;
        Assert.Equal("[200,301,404]", config["response_code"]!.ToJsonString());
        Assert.Equal("""["GET","HEAD"]""", config["request_method"]!.ToJsonString());
        Assert.Equal("""["text/plain","application/json"]""", config["content_type"]!.ToJsonString());
        Assert.Equal(300, config["cache_ttl"]!.GetValue<int>());
        Assert.Equal("kong_db_cache", config["memory"]!["dictionary_name"]!.GetValue<string>());
        Assert.True(config["response_headers"]!["X-Cache-Status"]!.GetValue<bool>());
        Assert.Equal(204, (await Node.DeleteAsync("/plugins/" + created["id"]!.GetValue<string>())).Status);
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class PostgresProxyCacheTests(PostgresProxyNode node) : ProxyCacheTests(node), IClassFixture<PostgresProxyNode>
{
    [Fact]
    public Task Miss_then_hit_then_purge() => Miss_then_hit_reaches_the_upstream_once_and_admin_purges();

    [Fact]
    public Task Bypass() => Uncacheable_requests_and_responses_bypass_the_cache();

    [Fact]
    public Task Vary() => Vary_headers_and_query_params_decide_the_key();
}

/// <summary>The memory dictionary's bounds: the least recently used entry goes when a cap is reached.</summary>
public sealed class ProxyCacheStoreTests
{
    private static CachedResponse Entry(int bodyBytes, long at = 1_000_000) => new(200, [new("X-A", ["1"])], new byte[bodyBytes], at, 300);

    [Fact]
    public void The_entry_cap_evicts_the_least_recently_used()
    {
        var store = new ProxyCacheStore(maxEntries: 2, maxBytes: 1 << 20);
        Assert.True(store.Store("a", Entry(10), 300));
        Assert.True(store.Store("b", Entry(10), 300));
        Assert.NotNull(store.Fetch("a", 1_000_001));
        Assert.True(store.Store("c", Entry(10), 300));
        Assert.Equal(2, store.Count);
        Assert.NotNull(store.Fetch("a", 1_000_001));
        Assert.Null(store.Fetch("b", 1_000_001));
        Assert.NotNull(store.Fetch("c", 1_000_001));
    }

    [Fact]
    public void The_byte_cap_makes_room_and_refuses_what_cannot_fit()
    {
        var one = Entry(1000).Size;
        var store = new ProxyCacheStore(maxEntries: 100, maxBytes: one * 3);
        for (var i = 0; i < 5; i++)
            Assert.True(store.Store("k" + i, Entry(1000), 300));
        Assert.Equal(3, store.Count);
        Assert.True(store.Bytes <= store.MaxBytes);
        Assert.Null(store.Fetch("k0", 1_000_001));
        Assert.NotNull(store.Fetch("k4", 1_000_001));
        Assert.False(store.Store("huge", Entry((int)(one * 3)), 300));
        Assert.Equal(3, store.Count);
    }

    [Fact]
    public void An_entry_goes_after_its_storage_ttl_and_purge_and_flush_empty_the_store()
    {
        var store = new ProxyCacheStore(10, 1 << 20);
        store.Store("a", Entry(10, at: 1_000_000), 2);
        Assert.NotNull(store.Fetch("a", 1_001_999));
        Assert.Null(store.Fetch("a", 1_002_000));
        Assert.Equal(0, store.Bytes);
        store.Store("b", Entry(10), 300);
        store.Store("c", Entry(10), 300);
        Assert.True(store.Purge("b"));
        Assert.False(store.Purge("b"));
        store.Flush();
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.Bytes);
    }
}

/// <summary>Two nodes on one PostgreSQL: each caches in its own memory, and a purge on one reaches the other.</summary>
public sealed class ProxyCacheClusterTests
{
    private static async Task<string> StatusAsync(string url) =>
        (await ProxyNode.Http.GetAsync(url)).Headers.TryGetValues("X-Cache-Status", out var values) ? values.Single() : "";

    [Fact]
    public async Task A_purge_through_one_nodes_admin_api_empties_the_other_nodes_cache_too()
    {
        await using var upstream = new CountingUpstream();
        await using var gantry = await TestInstallation.CreateAsync("postgres");
        await using var nodeA = await ProxyNode.StartAsync(gantry);
        var other = ProxyNode.SecondNode(gantry);
        await using var nodeB = GantryProcess.Start(other, "start");
        await nodeB.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        await ProxyNode.ServeAsync(gantry, "counted", $"http://127.0.0.1:{upstream.Port}", "/cached");
        await ProxyNode.CreateAsync(gantry, "/plugins", new { name = "proxy-cache", config = new { strategy = "memory" } });
        string[] urls = [ProxyNode.ProxyUrl(gantry) + "/cached", ProxyNode.ProxyUrl(other) + "/cached"];
        foreach (var url in urls)
            await ProxyNode.UntilAsync(() => StatusAsync(url + "/warm"), status => status != "", TimeSpan.FromSeconds(20));

        // Each node keeps its own copy: one upstream request per node.
        foreach (var url in urls)
        {
            Assert.Equal("Miss", await StatusAsync(url + "/k"));
            Assert.Equal("Hit", await StatusAsync(url + "/k"));
        }
        Assert.Equal(2, upstream.Hits("/k"));
        var key = (await ProxyNode.Http.GetAsync(urls[0] + "/k")).Headers.GetValues("X-Cache-Key").Single();

        // Purged by key on node A: node B follows within db_update_frequency.
        Assert.Equal(HttpStatusCode.NoContent, (await ProxyNode.Http.DeleteAsync(gantry.AdminUrl + "/proxy-cache/" + key)).StatusCode);
        Assert.Equal("Miss", await StatusAsync(urls[0] + "/k"));
        await ProxyNode.UntilAsync(() => ProxyNode.Http.GetAsync("http://" + other["GANTRY_ADMIN_LISTEN"] + "/proxy-cache/" + key),
            r => r.StatusCode == HttpStatusCode.NotFound, TimeSpan.FromSeconds(10));
        Assert.Equal("Miss", await StatusAsync(urls[1] + "/k"));
        Assert.Equal(4, upstream.Hits("/k"));

        // Everything purged through node B: node A's copy goes too.
        Assert.Equal(HttpStatusCode.NoContent, (await ProxyNode.Http.DeleteAsync("http://" + other["GANTRY_ADMIN_LISTEN"] + "/proxy-cache")).StatusCode);
        await ProxyNode.UntilAsync(() => ProxyNode.Http.GetAsync(gantry.AdminUrl + "/proxy-cache/" + key),
            r => r.StatusCode == HttpStatusCode.NotFound, TimeSpan.FromSeconds(10));
        Assert.Equal("Miss", await StatusAsync(urls[0] + "/k"));
        Assert.Equal(5, upstream.Hits("/k"));
    }
}

/// <summary>Content types matched as Kong matches them: media type case-insensitively, parameters exactly, wildcards.</summary>
public sealed class CacheableTypesTests
{
    [Theory]
    [InlineData("application/json", "application/json", true)]
    [InlineData("application/json", "Application/JSON", true)]
    [InlineData("application/json", "application/json; charset=utf-8", false)]
    [InlineData("application/json; charset=utf-8", "application/json;charset=\"utf-8\"", true)]
    [InlineData("text/*", "text/html", true)]
    [InlineData("text/*", "application/json", false)]
    [InlineData("*/*", "image/png", true)]
    [InlineData("*/*", "image/png; q=1", false)]
    [InlineData("text/plain", "not a type", false)]
    public void Matches(string configured, string response, bool allowed) =>
        Assert.Equal(allowed, new CacheableTypes([configured]).Allows(response));
}
