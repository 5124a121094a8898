using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;
using static Gantry.Tests.Plugins.RateLimitRequests;

namespace Gantry.Tests.Plugins;

/// <summary>
/// An upstream that spends response-ratelimiting's limits: it answers <c>X-Kong-Limit</c> with the
/// request's <c>spend</c> query argument, and echoes in its body the remaining count Gantry told it.
/// </summary>
public sealed class SpendingUpstream() : LoopbackServer(concurrent: true)
{
    protected override async Task HandleAsync(HttpListenerContext context)
    {
        if (context.Request.QueryString["spend"] is { } spend)
            context.Response.AddHeader("X-Kong-Limit", spend);
        context.Response.ContentType = "application/json";
        var body = System.Text.Encoding.UTF8.GetBytes(new JsonObject { ["remaining_videos"] = context.Request.Headers["X-RateLimit-Remaining-videos"] }.ToJsonString());
        await context.Response.OutputStream.WriteAsync(body);
        context.Response.Close();
    }
}

/// <summary>
/// response-ratelimiting through a node to a real upstream that spends limits with X-Kong-Limit, counted
/// in the node's memory and in the database nodes share.
/// </summary>
public sealed class ResponseRateLimitingTests
{
    private static JsonObject Limits(string policy, RedisServer? redis, bool block = false)
    {
        var config = new JsonObject
        {
            ["limits"] = new JsonObject { ["videos"] = new JsonObject { ["minute"] = 5 }, ["images"] = new JsonObject { ["minute"] = 100, ["hour"] = 200 } },
            ["limit_by"] = "ip",
            ["policy"] = policy,
            ["block_on_first_violation"] = block,
        };
        if (redis is not null)
            config["redis"] = new JsonObject { ["host"] = "127.0.0.1", ["port"] = redis.Port, ["timeout"] = 1000 };
        return new JsonObject { ["name"] = "response-ratelimiting", ["config"] = config };
    }

    [Theory]
    [InlineData("sqlite", "local")]
    [InlineData("postgres", "cluster")]
    [InlineData("sqlite", "cluster")]
    [InlineData("postgres", "redis")]
    public async Task The_upstream_spends_limits_with_its_header_and_an_exhausted_limit_answers_429(string store, string policy)
    {
        await using var redis = policy == "redis" ? await RedisServer.StartAsync() : null;
        await using var upstream = new SpendingUpstream();
        await using var gantry = await TestInstallation.CreateAsync(store);
        await using var node = await StartAsync(gantry);
        await ServeAsync(gantry, "videos", $"http://127.0.0.1:{upstream.Port}", "/videos");
        var plugin = await (await Http.PostAsJsonAsync(gantry.AdminUrl + "/services/videos/plugins", Limits(policy, redis))).Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal("x-kong-limit", plugin!["config"]!["header_name"]!.GetValue<string>());
        Assert.False(plugin["config"]!["block_on_first_violation"]!.GetValue<bool>());
        var url = ProxyUrl(gantry) + "/videos";
        await UntilAsync(() => Http.GetAsync(url), r => Header(r, "X-RateLimit-Limit-videos-minute") == "5", TimeSpan.FromSeconds(20));
        await InOneMinuteWindowAsync();

        // Spending 3: the client sees what is left after this response, never the upstream's header.
        var first = await Http.GetAsync(url + "?spend=videos=3");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.False(first.Headers.Contains("X-Kong-Limit"));
        Assert.Equal("5", Header(first, "X-RateLimit-Limit-videos-minute"));
        Assert.Equal("2", Header(first, "X-RateLimit-Remaining-videos-minute"));
        Assert.Equal("100", Header(first, "X-RateLimit-Remaining-images-minute"));
        Assert.Equal("200", Header(first, "X-RateLimit-Limit-images-hour"));
        // The upstream was told the tightest window's remainder before this request spent anything.
        Assert.Equal("5", (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("remaining_videos").GetString());

        // Several limits in one header, a name the instance does not have ignored.
        var second = await Http.GetAsync(url + "?spend=videos=2,%20images=10,%20music=7");
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("0", Header(second, "X-RateLimit-Remaining-videos-minute"));
        Assert.Equal("90", Header(second, "X-RateLimit-Remaining-images-minute"));
        Assert.Equal("190", Header(second, "X-RateLimit-Remaining-images-hour"));

        // videos is used up: a response that would spend it becomes a bodiless 429 and is not counted.
        var refused = await Http.GetAsync(url + "?spend=videos=1");
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.Empty(await refused.Content.ReadAsByteArrayAsync());
        Assert.False(refused.Headers.Contains("X-Kong-Limit"));
        // A response that spends only what is left still passes, and the upstream hears videos is at 0.
        var other = await Http.GetAsync(url + "?spend=images=1");
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal("89", Header(other, "X-RateLimit-Remaining-images-minute"));
        Assert.Equal("0", (await other.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("remaining_videos").GetString());
        if (policy == "cluster")
            Assert.Equal(5, await gantry.CountAsync("SELECT value FROM response_ratelimiting_metrics WHERE period = 'videos_minute'"));

        // block_on_first_violation refuses in access, before the upstream is asked, with Kong's message.
        await (await Http.DeleteAsync(gantry.AdminUrl + $"/plugins/{plugin["id"]}")).Content.ReadAsStringAsync();
        await CreateAsync(gantry, "/services/videos/plugins", Limits(policy, redis, block: true));
        var blocked = await UntilAsync(() => Http.GetAsync(url), r => r.StatusCode == (HttpStatusCode)429, TimeSpan.FromSeconds(20));
        Assert.Equal((HttpStatusCode)429, blocked.StatusCode);
        Assert.Equal("API rate limit exceeded for 'videos'", (await blocked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
    }

    [Fact]
    public async Task Limits_are_validated_as_Kong()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        await using var node = await StartAsync(gantry);
        async Task<JsonObject> RefusedAsync(object config)
        {
            var response = await Http.PostAsJsonAsync(gantry.AdminUrl + "/plugins", new { name = "response-ratelimiting", config });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        }

        Assert.Equal("required field missing", (await RefusedAsync(new { }))["fields"]!["config"]!["limits"]!.GetValue<string>());
        var order = await RefusedAsync(new { limits = new { videos = new { minute = 10, hour = 5 } } });
        Assert.Equal("the limit for hour(5.0) cannot be lower than the limit for minute(10.0)", order["fields"]!["config"]!["limits"]!.GetValue<string>());
        Assert.Equal("value must be greater than 0",
            (await RefusedAsync(new { limits = new { videos = new { minute = 0 } } }))["fields"]!["config"]!["limits"]!["minute"]!.GetValue<string>());
    }
}
