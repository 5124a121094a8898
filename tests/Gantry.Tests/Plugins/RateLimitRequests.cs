using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Tests.Proxy;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Plugins;

/// <summary>
/// Requests for the rate-limiting tests of every policy: each names its client in X-Client, which the
/// instances under test limit by, so a probe waiting for an instance to be in force counts apart from the
/// requests under test.
/// </summary>
public static class RateLimitRequests
{
    public static async Task<HttpResponseMessage> GetAsync(string url, string client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-Client", client);
        return await Http.SendAsync(request);
    }

    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "";

    /// <summary>Polls as the client "probe" until the instance with this minute limit answers with its headers.</summary>
    public static Task<HttpResponseMessage> UntilLimitedAsync(string url, int limit) =>
        UntilAsync(() => GetAsync(url, "probe"), r => Header(r, "X-RateLimit-Limit-Minute") == limit.ToString(), TimeSpan.FromSeconds(20));

    /// <summary>Waits out the end of a minute, so the requests under test fall in one window.</summary>
    public static async Task InOneMinuteWindowAsync()
    {
        var second = DateTimeOffset.UtcNow.Second;
        if (second >= 45)
            await Task.Delay(TimeSpan.FromSeconds(61 - second));
    }

    /// <summary>
    /// Two nodes of the installation on its database (for SQLite, the same file) serve /limited through
    /// <paramref name="plugin"/> (a limit of 5 a minute by X-Client): five requests alternating between the
    /// nodes pass with Kong's headers counting down, the sixth is refused 429 on either node, and another
    /// client keeps its own count. Returns the instance as the Admin API created it.
    /// </summary>
    public static async Task<JsonObject> TwoNodesEnforceOneLimitOf5Async(TestInstallation gantry, object plugin)
    {
        await using var upstream = new EchoUpstream();
        await using var nodeA = await StartAsync(gantry);
        var other = SecondNode(gantry);
        if (!gantry.IsPostgres)
            other["GANTRY_SQLITE_PATH"] = gantry.SqlitePath;
        await using var nodeB = GantryProcess.Start(other, "start");
        await nodeB.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        await ServeAsync(gantry, "echo", $"http://127.0.0.1:{upstream.Port}", "/shared");
        await CreateAsync(gantry, "/routes", new { name = "limited", paths = new[] { "/limited" }, service = new { name = "echo" } });
        var created = await (await Http.PostAsJsonAsync(gantry.AdminUrl + "/routes/limited/plugins", plugin)).Content.ReadFromJsonAsync<JsonObject>();
        string[] urls = [ProxyUrl(gantry) + "/limited", ProxyUrl(other) + "/limited"];
        foreach (var url in urls)
            Assert.Equal(HttpStatusCode.OK, (await UntilLimitedAsync(url, 5)).StatusCode);

        await InOneMinuteWindowAsync();
        for (var i = 0; i < 5; i++)
        {
            var passed = await GetAsync(urls[i % 2], "tester");
            Assert.Equal(HttpStatusCode.OK, passed.StatusCode);
            Assert.Equal((4 - i).ToString(), Header(passed, "X-RateLimit-Remaining-Minute"));
            Assert.Equal((4 - i).ToString(), Header(passed, "RateLimit-Remaining"));
        }
        foreach (var url in urls)
        {
            var refused = await GetAsync(url, "tester");
            Assert.Equal((HttpStatusCode)429, refused.StatusCode);
            Assert.Equal("API rate limit exceeded", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
            Assert.Equal("5", Header(refused, "X-RateLimit-Limit-Minute"));
            Assert.Equal("0", Header(refused, "X-RateLimit-Remaining-Minute"));
            Assert.Equal("5", Header(refused, "RateLimit-Limit"));
            Assert.InRange(int.Parse(Header(refused, "Retry-After")), 1, 60);
            Assert.Equal(Header(refused, "Retry-After"), Header(refused, "RateLimit-Reset"));
        }
        // Another client still has its own count, on either node.
        Assert.Equal("4", Header(await GetAsync(urls[1], "someone-else"), "X-RateLimit-Remaining-Minute"));
        return created!;
    }
}
