using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Tests.Proxy;
using Gantry.Tests.Support;
using StackExchange.Redis;
using static Gantry.Tests.Support.ProxyNode;
using static Gantry.Tests.Plugins.RateLimitRequests;

namespace Gantry.Tests.Plugins;

/// <summary>
/// rate-limiting's redis policy against a redis-server of each test's own: nodes sharing it enforce one
/// limit together, and fault_tolerant decides what a request gets while Redis is down.
/// </summary>
public sealed class RedisRateLimitingTests
{
    /// <summary>Limits per X-Client header, so a probe waiting for the plugin to be in force counts apart from the requests under test.</summary>
    private static object Limited(int minute, RedisServer redis, bool faultTolerant = true) => new
    {
        name = "rate-limiting",
        config = new
        {
            minute,
            limit_by = "header",
            header_name = "X-Client",
            policy = "redis",
            fault_tolerant = faultTolerant,
            redis = new { host = "127.0.0.1", port = redis.Port, timeout = 1000 },
        },
    };

    [Fact]
    public async Task Two_nodes_sharing_redis_enforce_one_limit_together()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var gantry = await TestInstallation.CreateAsync("postgres");
        var plugin = await TwoNodesEnforceOneLimitOf5Async(gantry, Limited(5, redis));
        Assert.Equal("redis", plugin["config"]!["policy"]!.GetValue<string>());
        Assert.Equal(redis.Port, plugin["config"]!["redis"]!["port"]!.GetValue<int>());

        // The count is Kong's key in Redis: route, service, identifier, window start (ms), period; expiring with its window.
        await using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port}");
        var keys = connection.GetServer("127.0.0.1", redis.Port).Keys(pattern: $"ratelimit:{plugin["route"]!["id"]}:*:tester:*:minute").ToList();
        var key = Assert.Single(keys);
        Assert.Equal(5, (long)await connection.GetDatabase().StringGetAsync(key));
        Assert.InRange((await connection.GetDatabase().KeyTimeToLiveAsync(key))!.Value.TotalSeconds, 1, 60);
    }

    [Fact]
    public async Task With_a_sync_rate_requests_count_in_memory_and_reach_redis_on_a_timer_in_both_directions()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = new EchoUpstream();
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        await using var node = await StartAsync(gantry);
        await ServeAsync(gantry, "echo", $"http://127.0.0.1:{upstream.Port}", "/batched");
        var plugin = await (await Http.PostAsJsonAsync(gantry.AdminUrl + "/services/echo/plugins", new
        {
            name = "rate-limiting",
            config = new { minute = 1000, limit_by = "header", header_name = "X-Client", policy = "redis", sync_rate = 1, redis = new { host = "127.0.0.1", port = redis.Port } },
        })).Content.ReadFromJsonAsync<JsonObject>();
        var url = ProxyUrl(gantry) + "/batched";
        Assert.Equal(HttpStatusCode.OK, (await UntilLimitedAsync(url, 1000)).StatusCode);
        await using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port},allowAdmin=true");
        var server = connection.GetServer("127.0.0.1", redis.Port);
        async Task<long> IncrementsAsync() =>
            (await server.InfoAsync("commandstats")).SelectMany(g => g).Where(p => p.Key == "cmdstat_incrby")
                .Select(p => long.Parse(p.Value.Split(',')[0]["calls=".Length..])).SingleOrDefault();

        await InOneMinuteWindowAsync();
        await Task.Delay(1500); // the probes' counts reach Redis first
        var before = await IncrementsAsync();
        for (var i = 0; i < 20; i++)
            Assert.Equal((999 - i).ToString(), Header(await GetAsync(url, "tester"), "X-RateLimit-Remaining-Minute"));
        // The 20 counts reach Redis batched, one INCRBY per sync that had counts (one or two here, more on a
        // loaded machine), rather than one per request.
        var key = $"ratelimit:00000000-0000-0000-0000-000000000000:{plugin!["service"]!["id"]}:tester:{DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60 * 1000}:minute";
        await UntilAsync(async () => (long)await connection.GetDatabase().StringGetAsync(key), total => total == 20, TimeSpan.FromSeconds(10));
        Assert.InRange(await IncrementsAsync() - before, 1, 10);

        // What another node added to Redis is read back at the next sync.
        await connection.GetDatabase().StringIncrementAsync(key, 500);
        await UntilAsync(() => GetAsync(url, "tester"), r => int.Parse(Header(r, "X-RateLimit-Remaining-Minute")) < 500, TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task With_redis_down_fault_tolerant_lets_requests_through_and_otherwise_answers_500(string store)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = new EchoUpstream();
        await using var gantry = await TestInstallation.CreateAsync(store);
        await using var node = await StartAsync(gantry);
        await ServeAsync(gantry, "echo", $"http://127.0.0.1:{upstream.Port}", "/tolerant");
        await CreateAsync(gantry, "/routes", new { name = "strict", paths = new[] { "/strict" }, service = new { name = "echo" } });
        await CreateAsync(gantry, "/services/echo/plugins", Limited(100, redis, faultTolerant: true));
        // Written with Kong's older flat names, which land in the redis record.
        var strictPlugin = await (await Http.PostAsJsonAsync(gantry.AdminUrl + "/routes/strict/plugins", new
        {
            name = "rate-limiting",
            config = new { minute = 100, limit_by = "header", header_name = "X-Client", policy = "redis", fault_tolerant = false, redis_host = "127.0.0.1", redis_port = redis.Port, redis_timeout = 1000 },
        })).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("127.0.0.1", strictPlugin!["config"]!["redis"]!["host"]!.GetValue<string>());
        Assert.Equal(redis.Port, strictPlugin["config"]!["redis"]!["port"]!.GetValue<int>());
        Assert.Equal(1000, strictPlugin["config"]!["redis"]!["timeout"]!.GetValue<int>());
        Assert.False(strictPlugin["config"]!.AsObject().ContainsKey("redis_port"));
        var tolerant = ProxyUrl(gantry) + "/tolerant";
        var strict = ProxyUrl(gantry) + "/strict";
        Assert.Equal(HttpStatusCode.OK, (await UntilLimitedAsync(tolerant, 100)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await UntilLimitedAsync(strict, 100)).StatusCode);

        // A Redis that was never there: the first connection fails, the request still passes.
        await using (var never = await RedisServer.StartAsync())
        {
            await never.StopAsync();
            await CreateAsync(gantry, "/routes", new { name = "nowhere", paths = new[] { "/nowhere" }, service = new { name = "echo" } });
            await CreateAsync(gantry, "/routes/nowhere/plugins", Limited(100, never, faultTolerant: true));
            // Polled until the instance is in force: its failure is logged once.
            var failureLogged = node.WaitForOutputAsync($"rate-limiting: Redis at 127.0.0.1:{never.Port} failed", TimeSpan.FromSeconds(30));
            await UntilAsync(() => GetAsync(ProxyUrl(gantry) + "/nowhere", "probe"), _ => failureLogged.IsCompleted, TimeSpan.FromSeconds(30));
            await failureLogged;
            var nowhere = await GetAsync(ProxyUrl(gantry) + "/nowhere", "tester");
            Assert.Equal(HttpStatusCode.OK, nowhere.StatusCode);
            Assert.Equal("", Header(nowhere, "X-RateLimit-Limit-Minute"));
        }

        await redis.StopAsync();
        for (var i = 0; i < 3; i++)
        {
            var through = await GetAsync(tolerant, "tester");
            Assert.Equal(HttpStatusCode.OK, through.StatusCode);
            // Nothing was counted, so no count is claimed.
            Assert.Equal("", Header(through, "X-RateLimit-Remaining-Minute"));
            var failed = await GetAsync(strict, "tester");
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            Assert.Equal("An unexpected error occurred", (await failed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        }
    }
}
