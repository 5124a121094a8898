using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Tests.Proxy;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;
using static Gantry.Tests.Plugins.RateLimitRequests;

namespace Gantry.Tests.Plugins;

/// <summary>
/// rate-limiting's cluster policy: the counts live in the nodes' shared database (ratelimiting_metrics,
/// from the plugin's migration), so nodes on one PostgreSQL or one SQLite file enforce one limit together;
/// fault_tolerant decides what a request gets when the database fails; a node without a database refuses
/// the policy as Kong does.
/// </summary>
public sealed class ClusterRateLimitingTests
{
    private static object Limited(int minute, bool faultTolerant = true) => new
    {
        name = "rate-limiting",
        config = new { minute, limit_by = "header", header_name = "X-Client", policy = "cluster", fault_tolerant = faultTolerant },
    };

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Two_nodes_sharing_the_database_enforce_one_limit_together(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        var plugin = await TwoNodesEnforceOneLimitOf5Async(gantry, Limited(5));
        Assert.Equal("cluster", plugin["config"]!["policy"]!.GetValue<string>());

        // One row per window, under the route's id and the zero service id of a route-scoped instance; refused requests are not counted.
        var route = plugin["route"]!["id"]!.GetValue<string>();
        Assert.Equal(5, await gantry.CountAsync($"SELECT value FROM ratelimiting_metrics WHERE identifier = 'tester' AND period = 'minute' AND route_id = '{route}'"));
        Assert.Equal(1, await gantry.CountAsync($"SELECT count(*) FROM ratelimiting_metrics WHERE identifier = 'tester' AND service_id = '{Guid.Empty}'"));
        var ttl = await gantry.CountAsync("SELECT ttl FROM ratelimiting_metrics WHERE identifier = 'tester'");
        Assert.InRange(ttl - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 0, 60);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task With_the_counters_table_gone_fault_tolerant_lets_requests_through_and_otherwise_answers_500(string store)
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await TestInstallation.CreateAsync(store);
        await using var node = await StartAsync(gantry);
        await ServeAsync(gantry, "echo", $"http://127.0.0.1:{upstream.Port}", "/tolerant");
        await CreateAsync(gantry, "/routes", new { name = "strict", paths = new[] { "/strict" }, service = new { name = "echo" } });
        await CreateAsync(gantry, "/services/echo/plugins", Limited(100, faultTolerant: true));
        await CreateAsync(gantry, "/routes/strict/plugins", Limited(100, faultTolerant: false));
        var tolerant = ProxyUrl(gantry) + "/tolerant";
        var strict = ProxyUrl(gantry) + "/strict";
        Assert.Equal(HttpStatusCode.OK, (await UntilLimitedAsync(tolerant, 100)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await UntilLimitedAsync(strict, 100)).StatusCode);

        // A database that fails the statements: the table moved away under the running node.
        var failureLogged = node.WaitForOutputAsync("rate-limiting: the database (", TimeSpan.FromSeconds(30));
        await gantry.ExecuteAsync("ALTER TABLE ratelimiting_metrics RENAME TO ratelimiting_metrics_away");
        for (var i = 0; i < 3; i++)
        {
            var through = await GetAsync(tolerant, "tester");
            Assert.Equal(HttpStatusCode.OK, through.StatusCode);
            Assert.Equal("", Header(through, "X-RateLimit-Remaining-Minute"));
            var failed = await GetAsync(strict, "tester");
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            Assert.Equal("An unexpected error occurred", (await failed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        }
        await failureLogged;

        // Back: counting resumes where it was, and the node says so.
        await gantry.ExecuteAsync("ALTER TABLE ratelimiting_metrics_away RENAME TO ratelimiting_metrics");
        var counted = await GetAsync(strict, "tester");
        Assert.Equal(HttpStatusCode.OK, counted.StatusCode);
        Assert.Equal("99", Header(counted, "X-RateLimit-Remaining-Minute"));
        await node.WaitForOutputAsync("answers again", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_node_without_a_database_refuses_the_cluster_policy_as_Kong_does()
    {
        await using var gantry = await TestInstallation.CreateAsync("off");
        await using var node = gantry.Start("start");
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        static string Document(string policy) =>
            $"_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n  config:\n    minute: 5\n    policy: {policy}\n";

        using var refused = await Http.PostAsync(gantry.AdminUrl + "/config", new StringContent(Document("cluster"), Encoding.UTF8, "text/yaml"));
        var body = await refused.Content.ReadFromJsonAsync<JsonObject>();
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("invalid declarative configuration", body!["name"]!.GetValue<string>());
        Assert.Equal("expected one of: local, redis", body["fields"]!["plugin"]![0]!["config.policy"]!.GetValue<string>());
        Assert.Empty((await Http.GetFromJsonAsync<JsonObject>(gantry.AdminUrl + "/plugins"))!["data"]!.AsArray());

        using var accepted = await Http.PostAsync(gantry.AdminUrl + "/config", new StringContent(Document("local"), Encoding.UTF8, "text/yaml"));
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
    }
}
