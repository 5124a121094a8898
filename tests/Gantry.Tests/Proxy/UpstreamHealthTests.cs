using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;

namespace Gantry.Tests.Proxy;

/// <summary>
/// Target health end to end: a node, real loopback upstreams that can be told to fail or to stop
/// listening, active probes, passive counting of proxied traffic, the threshold, the Admin API's manual
/// changes (broadcast between nodes) and DNS targets. Health-check intervals are 0.2 s; every wait polls
/// with a generous timeout, so a slow machine makes a test slower, not red.
/// </summary>
public abstract class UpstreamHealthSuite(string forwarder) : ForwarderSuite(forwarder)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static Task<GantryProcess> StartAsync(TestInstallation gantry) => ProxyNode.StartAsync(gantry);

    private static string ProxyUrl(TestInstallation gantry) => ProxyNode.ProxyUrl(gantry.Environment);

    private static async Task CreatedAsync(string url, object body)
    {
        var response = await Http.PostAsJsonAsync(url, body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST {url}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>An upstream "pool" over the given targets, behind a service and a route on /pool.</summary>
    private static async Task CreatePoolAsync(TestInstallation gantry, object upstream, params string[] targets)
    {
        await CreatedAsync(gantry.AdminUrl + "/upstreams", upstream);
        foreach (var target in targets)
            await CreatedAsync(gantry.AdminUrl + "/upstreams/pool/targets", new { target });
        await CreatedAsync(gantry.AdminUrl + "/services", new { name = "pooled", host = "pool" });
        await CreatedAsync(gantry.AdminUrl + "/services/pooled/routes", new { name = "pool", paths = new[] { "/pool" } });
    }

    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Patience)
                Assert.Fail($"not within {Patience.TotalSeconds} s: {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>Sends <paramref name="count"/> requests and counts the answers by the port of the upstream that gave them (0 for Gantry's own answers).</summary>
    private static async Task<Dictionary<int, int>> SpreadAsync(string url, int count, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var ports = new Dictionary<int, int>();
        for (var i = 0; i < count; i++)
        {
            using var response = await Http.GetAsync(url);
            Assert.Equal(expected, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            var port = body.TryGetProperty("port", out var p) ? p.GetInt32() : 0;
            ports[port] = ports.GetValueOrDefault(port) + 1;
        }
        return ports;
    }

    private static async Task<JsonElement> TargetHealthAsync(string adminUrl, string target)
    {
        var health = await Http.GetFromJsonAsync<JsonElement>(adminUrl + "/upstreams/pool/health");
        return health.GetProperty("data").EnumerateArray().Single(t => t.GetProperty("target").GetString() == target);
    }

    private static async Task<bool> HealthIsAsync(string adminUrl, string target, string expected) =>
        (await TargetHealthAsync(adminUrl, target)).GetProperty("health").GetString() == expected;

    private static async Task MarkAsync(string url, HttpMethod method)
    {
        using var response = await Http.SendAsync(new HttpRequestMessage(method, url));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Active_checks_take_a_failing_or_silent_target_out_of_rotation_and_bring_it_back(string store)
    {
        await using var a = new ControllableUpstream();
        await using var b = new ControllableUpstream();
        await using var gantry = await InstallAsync(store);
        await using var node = await StartAsync(gantry);
        await CreatePoolAsync(gantry, new
        {
            name = "pool",
            healthchecks = new
            {
                active = new
                {
                    http_path = "/probe",
                    timeout = 2,
                    headers = new Dictionary<string, string[]> { ["X-Probe"] = ["gantry"] },
                    healthy = new { interval = 0.2, successes = 2 },
                    unhealthy = new { interval = 0.2, http_failures = 2, tcp_failures = 2, timeouts = 3 },
                },
            },
        }, a.Address, b.Address);
        var pool = ProxyUrl(gantry) + "/pool";
        await Eventually(async () => (await Http.GetAsync(pool)).StatusCode == HttpStatusCode.OK, "the route serves");
        await Eventually(() => Task.FromResult(a.Hits("/probe") > 0 && b.Hits("/probe") > 0), "both targets are probed");
        Assert.Equal("gantry", a.LastHeaders("/probe")!["X-Probe"]);
        Assert.Equal(a.Address, a.LastHeaders("/probe")!["Host"]);
        Assert.True(await HealthIsAsync(gantry.AdminUrl, b.Address, "HEALTHY"));
        Assert.Equal(2, (await SpreadAsync(pool, 10)).Count);

        // Answering 500 to the probes: two failures and the target is out.
        b.Status = 500;
        await Eventually(() => HealthIsAsync(gantry.AdminUrl, b.Address, "UNHEALTHY"), "b is unhealthy after failing probes");
        Assert.Equal(new Dictionary<int, int> { [a.Port] = 20 }, await SpreadAsync(pool, 20));
        var details = await TargetHealthAsync(gantry.AdminUrl, b.Address);
        Assert.Equal("UNHEALTHY", details.GetProperty("data").GetProperty("addresses")[0].GetProperty("health").GetString());
        Assert.Equal("127.0.0.1", details.GetProperty("data").GetProperty("addresses")[0].GetProperty("ip").GetString());

        // Healthy again: the unhealthy interval keeps probing it, and two successes bring it back.
        b.Status = 200;
        await Eventually(() => HealthIsAsync(gantry.AdminUrl, b.Address, "HEALTHY"), "b recovers");
        Assert.True((await SpreadAsync(pool, 10)).GetValueOrDefault(b.Port) > 0);

        // Not listening at all: TCP failures take it out; listening again brings it back.
        await b.StopListeningAsync();
        await Eventually(() => HealthIsAsync(gantry.AdminUrl, b.Address, "UNHEALTHY"), "b is unhealthy once it refuses connections");
        Assert.Equal(new Dictionary<int, int> { [a.Port] = 10 }, await SpreadAsync(pool, 10));
        b.Listen();
        await Eventually(() => HealthIsAsync(gantry.AdminUrl, b.Address, "HEALTHY"), "b recovers once it listens again");
        Assert.True((await SpreadAsync(pool, 10)).GetValueOrDefault(b.Port) > 0);

        // Removing the active checks stops the probes.
        var patch = await Http.PatchAsJsonAsync(gantry.AdminUrl + "/upstreams/pool",
            new { healthchecks = new { active = new { healthy = new { interval = 0 }, unhealthy = new { interval = 0 } } } });
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        await Eventually(() => HealthIsAsync(gantry.AdminUrl, b.Address, "HEALTHCHECKS_OFF"), "the checks are off");
        var probes = b.Hits("/probe");
        await Task.Delay(1000);
        Assert.InRange(b.Hits("/probe") - probes, 0, 1);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Passive_checks_mark_a_failing_target_down_and_only_the_admin_api_brings_it_back(string store)
    {
        await using var a = new ControllableUpstream();
        await using var b = new ControllableUpstream();
        await using var gantry = await InstallAsync(store);
        await using var node = await StartAsync(gantry);
        await CreatePoolAsync(gantry, new
        {
            name = "pool",
            healthchecks = new { passive = new { unhealthy = new { http_failures = 3 } } },
        }, a.Address, b.Address);
        var pool = ProxyUrl(gantry) + "/pool";
        await Eventually(async () => (await Http.GetAsync(pool)).StatusCode == HttpStatusCode.OK, "the route serves");

        b.Status = 500;
        var failures = 0;
        for (var i = 0; i < 20 && failures < 3; i++)
        {
            using var response = await Http.GetAsync(pool);
            if (response.StatusCode == HttpStatusCode.InternalServerError)
                failures++;
        }
        Assert.Equal(3, failures);
        Assert.True(await HealthIsAsync(gantry.AdminUrl, b.Address, "UNHEALTHY"));
        Assert.Equal(new Dictionary<int, int> { [a.Port] = 20 }, await SpreadAsync(pool, 20));

        // Fixed, but nothing probes it and it gets no traffic: it stays out until told otherwise.
        b.Status = 200;
        await Task.Delay(500);
        Assert.Equal(new Dictionary<int, int> { [a.Port] = 10 }, await SpreadAsync(pool, 10));
        await MarkAsync(gantry.AdminUrl + $"/upstreams/pool/targets/{b.Address}/healthy", HttpMethod.Put);
        Assert.True(await HealthIsAsync(gantry.AdminUrl, b.Address, "HEALTHY"));
        Assert.True((await SpreadAsync(pool, 10)).GetValueOrDefault(b.Port) > 0);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task A_target_marked_down_stays_down_when_the_configuration_is_rebuilt(string store)
    {
        await using var a = new ControllableUpstream();
        await using var b = new ControllableUpstream();
        await using var c = new ControllableUpstream();
        await using var gantry = await InstallAsync(store);
        await using var node = await StartAsync(gantry);
        await CreatePoolAsync(gantry, new { name = "pool" }, a.Address, b.Address);
        var pool = ProxyUrl(gantry) + "/pool";
        await Eventually(async () => (await Http.GetAsync(pool)).StatusCode == HttpStatusCode.OK, "the route serves");

        await MarkAsync(gantry.AdminUrl + $"/upstreams/pool/targets/{b.Address}/unhealthy", HttpMethod.Post);
        Assert.True(await HealthIsAsync(gantry.AdminUrl, b.Address, "UNHEALTHY"));
        Assert.Equal(new Dictionary<int, int> { [a.Port] = 10 }, await SpreadAsync(pool, 10));

        // A third target rebuilds this very upstream's balancer; b is still down, c joins.
        await CreatedAsync(gantry.AdminUrl + "/upstreams/pool/targets", new { target = c.Address });
        await Eventually(async () => (await SpreadAsync(pool, 4)).ContainsKey(c.Port), "c serves");
        var spread = await SpreadAsync(pool, 20);
        Assert.False(spread.ContainsKey(b.Port));
        Assert.Equal(20, spread.GetValueOrDefault(a.Port) + spread.GetValueOrDefault(c.Port));
        Assert.True(await HealthIsAsync(gantry.AdminUrl, b.Address, "UNHEALTHY"));
        // Without any checks configured, a target nobody marked down reports that nothing checks it.
        Assert.True(await HealthIsAsync(gantry.AdminUrl, a.Address, "HEALTHCHECKS_OFF"));

        var all = await Http.GetFromJsonAsync<JsonElement>(gantry.AdminUrl + "/upstreams/pool/targets/all");
        Assert.Equal(3, all.GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Below_the_threshold_every_request_is_refused()
    {
        await using var a = new ControllableUpstream();
        await using var b = new ControllableUpstream();
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        await CreatePoolAsync(gantry, new
        {
            name = "pool",
            healthchecks = new { threshold = 50, passive = new { unhealthy = new { http_failures = 5 } } },
        }, a.Address, b.Address);
        var pool = ProxyUrl(gantry) + "/pool";
        await Eventually(async () => (await Http.GetAsync(pool)).StatusCode == HttpStatusCode.OK, "the route serves");
        var balancer = await Http.GetFromJsonAsync<JsonElement>(gantry.AdminUrl + "/upstreams/pool/health?balancer_health=1");
        Assert.Equal("HEALTHY", balancer.GetProperty("data").GetProperty("health").GetString());

        // Half of the weight healthy is not above 50 %: a's health alone does not let anything through.
        await MarkAsync(gantry.AdminUrl + $"/upstreams/pool/targets/{b.Address}/unhealthy", HttpMethod.Put);
        using var refused = await Http.GetAsync(pool);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("failure to get a peer from the ring-balancer", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        Assert.Equal(new Dictionary<int, int> { [0] = 5 }, await SpreadAsync(pool, 5, HttpStatusCode.ServiceUnavailable));
        balancer = await Http.GetFromJsonAsync<JsonElement>(gantry.AdminUrl + "/upstreams/pool/health?balancer_health=1");
        Assert.Equal("UNHEALTHY", balancer.GetProperty("data").GetProperty("health").GetString());
        Assert.Equal(100, balancer.GetProperty("data").GetProperty("details").GetProperty("weight").GetProperty("available").GetInt32());

        await MarkAsync(gantry.AdminUrl + $"/upstreams/pool/targets/{b.Address}/healthy", HttpMethod.Post);
        Assert.Equal(2, (await SpreadAsync(pool, 6)).Count);
    }

    [Fact]
    public async Task A_manual_change_on_one_node_reaches_the_other_through_cluster_events()
    {
        await using var a = new ControllableUpstream();
        await using var b = new ControllableUpstream();
        await using var gantry = await InstallAsync("postgres");
        await using var nodeA = await StartAsync(gantry);
        var other = ProxyNode.SecondNode(gantry);
        await using var nodeB = GantryProcess.Start(other, "start");
        await nodeB.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        await CreatePoolAsync(gantry, new { name = "pool" }, a.Address, b.Address);
        var poolB = "http://" + other["GANTRY_PROXY_LISTEN"] + "/pool";
        var adminB = "http://" + other["GANTRY_ADMIN_LISTEN"];
        await Eventually(async () => (await Http.GetAsync(poolB)).StatusCode == HttpStatusCode.OK, "node B serves the route");

        // Marked through node A by its address: node B applies it within db_update_frequency.
        await MarkAsync(gantry.AdminUrl + $"/upstreams/pool/targets/{b.Address}/{b.Address}/unhealthy", HttpMethod.Put);
        await Eventually(() => HealthIsAsync(adminB, b.Address, "UNHEALTHY"), "node B sees b down");
        Assert.Equal(new Dictionary<int, int> { [a.Port] = 10 }, await SpreadAsync(poolB, 10));

        await MarkAsync(gantry.AdminUrl + $"/upstreams/pool/targets/{b.Address}/healthy", HttpMethod.Put);
        await Eventually(() => HealthIsAsync(adminB, b.Address, "HEALTHCHECKS_OFF"), "node B sees b up again");
        Assert.Equal(2, (await SpreadAsync(poolB, 10)).Count);
    }

    [Fact]
    public async Task A_target_named_by_host_is_resolved_and_one_that_does_not_resolve_is_a_dns_error()
    {
        await using var a = new ControllableUpstream();
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        var named = $"localhost:{a.Port}";
        var nowhere = "nowhere.invalid:80";
        await CreatePoolAsync(gantry, new { name = "pool" }, named, nowhere);
        var pool = ProxyUrl(gantry) + "/pool";
        await Eventually(async () => (await Http.GetAsync(pool)).StatusCode == HttpStatusCode.OK, "the route serves");

        // Every request reaches the resolved address; the name is what the upstream sees in Host.
        Assert.Equal(new Dictionary<int, int> { [a.Port] = 10 }, await SpreadAsync(pool, 10));
        Assert.Equal(named, a.LastHeaders("/")!["Host"]);
        var resolved = await TargetHealthAsync(gantry.AdminUrl, named);
        Assert.Equal("HEALTHCHECKS_OFF", resolved.GetProperty("health").GetString());
        Assert.Equal("127.0.0.1", resolved.GetProperty("data").GetProperty("addresses")[0].GetProperty("ip").GetString());
        Assert.Equal("DNS_ERROR", (await TargetHealthAsync(gantry.AdminUrl, nowhere)).GetProperty("health").GetString());
        var dns = (await Http.GetFromJsonAsync<JsonElement>(gantry.AdminUrl + "/status/dns")).GetProperty("stats");
        Assert.Equal("127.0.0.1", dns.GetProperty("localhost").GetProperty("addresses")[0].GetString());
        Assert.True(dns.GetProperty("nowhere.invalid").GetProperty("failed").GetInt32() >= 1);

        // The resolved address can be marked on its own.
        await MarkAsync(gantry.AdminUrl + $"/upstreams/pool/targets/{named}/127.0.0.1:{a.Port}/unhealthy", HttpMethod.Put);
        Assert.Equal("UNHEALTHY", (await TargetHealthAsync(gantry.AdminUrl, named)).GetProperty("health").GetString());
        Assert.Equal(new Dictionary<int, int> { [0] = 3 }, await SpreadAsync(pool, 3, HttpStatusCode.ServiceUnavailable));
    }

    [Fact]
    public async Task A_hash_cookie_is_handed_out_once_and_keeps_the_client_on_one_target()
    {
        await using var a = new ControllableUpstream();
        await using var b = new ControllableUpstream();
        await using var c = new ControllableUpstream();
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        await CreatePoolAsync(gantry, new { name = "pool", hash_on = "cookie", hash_on_cookie = "sticky", hash_on_cookie_path = "/pool" },
            a.Address, b.Address, c.Address);
        var pool = ProxyUrl(gantry) + "/pool";
        await Eventually(async () => (await Http.GetAsync(pool)).StatusCode == HttpStatusCode.OK, "the route serves");
        // A client that keeps no cookies of its own, so each "client" below starts without one.
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { Timeout = TimeSpan.FromSeconds(30) };
        var ports = new HashSet<int>();
        for (var client = 0; client < 12; client++)
        {
            using var first = await http.GetAsync(pool);
            var cookie = first.Headers.GetValues("Set-Cookie").Single();
            Assert.Matches("^sticky=[0-9a-f-]{36}; Path=/pool$", cookie);
            var port = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("port").GetInt32();
            ports.Add(port);
            for (var again = 0; again < 5; again++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, pool);
                request.Headers.Add("Cookie", cookie.Split(';')[0]);
                using var response = await http.SendAsync(request);
                Assert.False(response.Headers.Contains("Set-Cookie"));
                Assert.Equal(port, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("port").GetInt32());
            }
        }
        // Twelve random cookies over three targets: all on one target would mean the cookie is not hashed.
        Assert.True(ports.Count > 1);
    }

    [Fact]
    public async Task The_latency_algorithm_sends_traffic_to_the_faster_target()
    {
        await using var fast = new ControllableUpstream();
        await using var slow = new ControllableUpstream { Delay = TimeSpan.FromMilliseconds(500) };
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        await CreatePoolAsync(gantry, new { name = "pool", algorithm = "latency" }, fast.Address, slow.Address);
        var pool = ProxyUrl(gantry) + "/pool";
        await Eventually(async () => (await Http.GetAsync(pool)).StatusCode == HttpStatusCode.OK, "the route serves");

        // Both measured (the first answers include a cold connection), then the 500 ms one gets a request
        // only when the fast one's figure is worse or has faded below it: a few, against 15 of 30 by turns.
        await SpreadAsync(pool, 6);
        var spread = await SpreadAsync(pool, 30);
        Assert.InRange(spread.GetValueOrDefault(fast.Port), 24, 30);
        Assert.True(slow.Hits("/") >= 1, "the slow target was never measured");
    }

    [Fact]
    public async Task An_upstream_that_cannot_be_balanced_answers_503_and_the_others_still_serve()
    {
        await using var a = new ControllableUpstream();
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        // The schema accepts 10 slots; the continuum needs at least 1000, so this upstream cannot be built.
        await CreatedAsync(gantry.AdminUrl + "/upstreams", new { name = "tiny", hash_on = "ip", slots = 10 });
        await CreatedAsync(gantry.AdminUrl + "/upstreams/tiny/targets", new { target = a.Address });
        await CreatedAsync(gantry.AdminUrl + "/services", new { name = "tiny", host = "tiny" });
        await CreatedAsync(gantry.AdminUrl + "/services/tiny/routes", new { paths = new[] { "/tiny" } });
        await CreatePoolAsync(gantry, new { name = "pool" }, a.Address);

        await Eventually(async () => (await Http.GetAsync(ProxyUrl(gantry) + "/pool")).StatusCode == HttpStatusCode.OK, "the healthy upstream serves");
        using var tiny = await Http.GetAsync(ProxyUrl(gantry) + "/tiny");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, tiny.StatusCode);
        Assert.Equal("failure to get a peer from the ring-balancer", (await tiny.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        Assert.Contains("upstream 'tiny' cannot be balanced", node.Stdout + node.Stderr);
    }
}

public sealed class UpstreamHealthTests() : UpstreamHealthSuite("auto");

public sealed class UpstreamHealthTestsYarp() : UpstreamHealthSuite("yarp");
