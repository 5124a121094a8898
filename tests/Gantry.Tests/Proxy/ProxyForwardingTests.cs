using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Proxy;

/// <summary>A real HTTP server on loopback that answers every request with what it received, as JSON.</summary>
public sealed class EchoUpstream() : LoopbackServer(concurrent: false)
{
    protected override async Task HandleAsync(HttpListenerContext context)
    {
        // ?sleep=ms holds the answer back, to let a read timeout expire.
        if (context.Request.QueryString["sleep"] is { } sleep && int.TryParse(sleep, out var milliseconds))
            await Task.Delay(milliseconds);
        var headers = new JsonObject();
        foreach (var name in context.Request.Headers.AllKeys)
            headers[name!.ToLowerInvariant()] = context.Request.Headers[name];
        using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
        var received = await reader.ReadToEndAsync();
        var body = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["method"] = context.Request.HttpMethod,
            ["body"] = received,
            ["path"] = context.Request.RawUrl,
            ["headers"] = headers,
        }.ToJsonString());
        context.Response.ContentType = "application/json";
        context.Response.AddHeader("X-Upstream", "echo");
        await context.Response.OutputStream.WriteAsync(body);
        context.Response.Close();
    }
}

/// <summary>Requests through a node's proxy listener to a real upstream, on both stores.</summary>
public abstract class ProxyForwardingSuite(string forwarder, ProxyIo io = ProxyIo.Epoll) : ForwarderSuite(forwarder, io)
{
    /// <summary>
    /// proxy_io = epoll starts Gantry's event loops, one per core ("gantry io N"), and leaves the runtime's socket
    /// engine as it is. Under proxy_io = runtime, proxy_inline_io turns on the runtime's inline socket completions,
    /// which the runtime reads once, before the node's first socket: with them it runs one socket engine thread per
    /// core instead of one for up to 30 cores. Counting those threads in the running node shows the settings took
    /// effect (or stayed off), on a node that has served a proxied request and an Admin API write.
    /// </summary>
    [Fact]
    public async Task The_node_runs_the_io_threads_proxy_io_and_proxy_inline_io_ask_for()
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsJsonAsync(gantry.AdminUrl + "/services", new { name = "echo", url = $"http://127.0.0.1:{upstream.Port}" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsJsonAsync(gantry.AdminUrl + "/services/echo/routes", new { name = "api", paths = new[] { "/api" } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(ProxyUrl(gantry) + "/api/x", TimeSpan.FromSeconds(10))).StatusCode);
        var threads = Directory.GetDirectories($"/proc/{node.Pid}/task").Select(task => File.ReadAllText(Path.Combine(task, "comm")).Trim()).ToList();
        var engines = threads.Count(name => name == ".NET Sockets");
        var loops = threads.Count(name => name.StartsWith("gantry io ", StringComparison.Ordinal));
        Assert.Equal(Io == ProxyIo.Inline ? Environment.ProcessorCount : Math.Max(1, (int)Math.Round(Environment.ProcessorCount / 30.0)), engines);
        Assert.Equal(Io == ProxyIo.Epoll ? Environment.ProcessorCount : 0, loops);
    }

    /// <summary>
    /// A proxy listener on the IPv6 wildcard takes IPv4 clients too (dual stack, as Kong's default listeners
    /// do on a host with IPv6), and an IPv6 loopback listener beside it serves on its own: the client's
    /// address reaches the upstream as X-Forwarded-For either way, so the transport reported it.
    /// </summary>
    [Fact]
    public async Task Ipv6_and_dual_stack_proxy_listeners_serve_and_report_the_client_address()
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await InstallAsync("sqlite");
        var (wildcard, loopback) = (TestInstallation.FreePort(), TestInstallation.FreePort());
        gantry.Environment["GANTRY_PROXY_LISTEN"] = $"[::]:{wildcard}, [::1]:{loopback}";
        await using var node = await StartAsync(gantry);
        await CreateAsync(gantry, "/services", new { name = "echo", url = $"http://127.0.0.1:{upstream.Port}" });
        await CreateAsync(gantry, "/services/echo/routes", new { name = "api", paths = new[] { "/api" } });
        foreach (var (url, client) in new[] { ($"http://127.0.0.1:{wildcard}", "127.0.0.1"), ($"http://[::1]:{wildcard}", "::1"), ($"http://[::1]:{loopback}", "::1") })
        {
            var response = await UntilRoutedAsync(url + "/api/x", TimeSpan.FromSeconds(10));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var forwardedFor = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("headers").GetProperty("x-forwarded-for").GetString();
            Assert.Equal(client, forwardedFor);
        }
    }

    /// <summary>The node's warning when long work ran on a socket thread (InlineIo.WarnIfOnSocketThread).</summary>
    public const string SocketThreadWarning = "ran on a socket thread";

    /// <summary>
    /// With inline socket completions, whatever follows a socket read runs on a socket thread unless the node
    /// keeps it off: on a PostgreSQL node every configuration rebuild follows Npgsql's reads, and the Admin API's
    /// work follows them too. The node warns when a rebuild runs on a socket thread; this one rebuilds once per
    /// route, under proxied traffic, and never says so.
    /// </summary>
    [Fact]
    public async Task A_postgres_node_rebuilds_its_configuration_off_the_socket_threads()
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await InstallAsync("postgres");
        await using var node = await StartAsync(gantry);
        await CreateAsync(gantry, "/services", new { name = "echo", url = $"http://127.0.0.1:{upstream.Port}" });
        for (var i = 0; i < 8; i++)
        {
            await CreateAsync(gantry, "/services/echo/routes", new { name = $"r{i}", paths = new[] { $"/r{i}" } });
            Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(ProxyUrl(gantry) + $"/r{i}", TimeSpan.FromSeconds(10))).StatusCode);
        }
        var log = node.Stdout + node.Stderr;
        Assert.False(log.Contains(SocketThreadWarning, StringComparison.Ordinal), log);
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Routes_created_through_the_admin_api_forward_with_kongs_upstream_uri_and_headers(string store)
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await InstallAsync(store);
        await using var node = await StartAsync(gantry);
        var proxy = ProxyUrl(gantry);

        var none = await Http.GetAsync(proxy + "/api/anything");
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.Equal("no Route matched with those values", (await none.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());

        var service = await Http.PostAsJsonAsync(gantry.AdminUrl + "/services", new { name = "echo", url = $"http://127.0.0.1:{upstream.Port}/base" });
        Assert.Equal(HttpStatusCode.Created, service.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsJsonAsync(gantry.AdminUrl + "/services/echo/routes", new { name = "api", paths = new[] { "/api" } })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsJsonAsync(gantry.AdminUrl + "/services/echo/routes",
            new { name = "kept", paths = new[] { "/kept" }, strip_path = false, preserve_host = true })).StatusCode);

        // A new route serves within db_update_frequency (0.2 s here), without a restart.
        var response = await UntilRoutedAsync(proxy + "/api/users/7?x=1", TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echoed = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("/base/users/7?x=1", echoed.GetProperty("path").GetString());
        var headers = echoed.GetProperty("headers");
        Assert.Equal($"127.0.0.1:{upstream.Port}", headers.GetProperty("host").GetString());
        Assert.Equal("127.0.0.1", headers.GetProperty("x-forwarded-for").GetString());
        Assert.Equal("http", headers.GetProperty("x-forwarded-proto").GetString());
        Assert.Equal("/api/users/7", headers.GetProperty("x-forwarded-path").GetString());
        Assert.Equal("/api", headers.GetProperty("x-forwarded-prefix").GetString());
        Assert.Contains("gantry/", headers.GetProperty("via").GetString());
        Assert.Equal("echo", response.Headers.GetValues("X-Upstream").Single());

        var kept = await UntilRoutedAsync(proxy + "/kept/a", TimeSpan.FromSeconds(10));
        var keptEcho = await kept.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("/base/kept/a", keptEcho.GetProperty("path").GetString());
        Assert.StartsWith("127.0.0.1:" + gantry.Environment["GANTRY_PROXY_LISTEN"].Split(':')[1], keptEcho.GetProperty("headers").GetProperty("host").GetString());

        // Both routes now serve. The Status API reports the configuration that serves, and serves nothing but status.
        var status = await Http.GetFromJsonAsync<JsonElement>(gantry.StatusUrl + "/status");
        Assert.True(status.GetProperty("configuration").GetProperty("version").GetInt64() >= 2);
        Assert.Equal(2, status.GetProperty("configuration").GetProperty("routes").GetInt32());
        Assert.True(status.GetProperty("configuration").GetProperty("up_to_date").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(gantry.StatusUrl + "/status/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(gantry.StatusUrl + "/services")).StatusCode);
    }

    [Fact]
    public async Task Upstream_slower_than_the_read_timeout_is_a_504()
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        await Http.PostAsJsonAsync(gantry.AdminUrl + "/services", new { name = "slow", url = $"http://127.0.0.1:{upstream.Port}", read_timeout = 1500, write_timeout = 1500 });
        await Http.PostAsJsonAsync(gantry.AdminUrl + "/services/slow/routes", new { paths = new[] { "/slow" } });
        // Polls for a 200, not just for a route: on a loaded machine a cold first request can itself be slow.
        Assert.Equal(HttpStatusCode.OK, (await UntilAsync(() => Http.GetAsync(ProxyUrl(gantry) + "/slow"), r => r.StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(15))).StatusCode);

        var slow = await Http.GetAsync(ProxyUrl(gantry) + "/slow?sleep=6000");
        Assert.Equal(HttpStatusCode.GatewayTimeout, slow.StatusCode);
        Assert.Equal("The upstream server is timing out", (await slow.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
    }

    [Fact]
    public async Task Unreachable_upstream_is_a_502_and_a_route_without_service_a_503()
    {
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        var closedPort = TestInstallation.FreePort();
        await Http.PostAsJsonAsync(gantry.AdminUrl + "/services", new { name = "dead", url = $"http://127.0.0.1:{closedPort}/" });
        await Http.PostAsJsonAsync(gantry.AdminUrl + "/services/dead/routes", new { paths = new[] { "/dead" } });
        await Http.PostAsJsonAsync(gantry.AdminUrl + "/routes", new { paths = new[] { "/orphan" } });

        var dead = await UntilRoutedAsync(ProxyUrl(gantry) + "/dead", TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.BadGateway, dead.StatusCode);
        Assert.Equal("An invalid response was received from the upstream server", (await dead.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        var orphan = await UntilRoutedAsync(ProxyUrl(gantry) + "/orphan", TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, orphan.StatusCode);
        Assert.Equal("no Service found with those values", (await orphan.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
    }

    [Fact]
    public async Task Two_nodes_on_one_postgres_converge_through_cluster_events()
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await InstallAsync("postgres");
        await using var nodeA = await StartAsync(gantry);
        var other = ProxyNode.SecondNode(gantry);
        await using var nodeB = GantryProcess.Start(other, "start");
        await nodeB.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));

        // Written through node A's Admin API, served by node B's proxy.
        await Http.PostAsJsonAsync(gantry.AdminUrl + "/services", new { name = "echo", url = $"http://127.0.0.1:{upstream.Port}" });
        await Http.PostAsJsonAsync(gantry.AdminUrl + "/services/echo/routes", new { paths = new[] { "/b" } });
        var response = await UntilRoutedAsync("http://" + other["GANTRY_PROXY_LISTEN"] + "/b/c", TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/c", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("path").GetString());
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task A_service_on_an_upstream_is_balanced_over_its_targets_by_weight(string store)
    {
        await using var first = new EchoUpstream();
        await using var second = new EchoUpstream();
        await using var gantry = await InstallAsync(store);
        await using var node = await StartAsync(gantry);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsJsonAsync(gantry.AdminUrl + "/upstreams", new { name = "pool" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsJsonAsync(gantry.AdminUrl + "/upstreams/pool/targets", new { target = $"127.0.0.1:{first.Port}", weight = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsJsonAsync(gantry.AdminUrl + "/upstreams/pool/targets", new { target = $"127.0.0.1:{second.Port}", weight = 3 })).StatusCode);
        await Http.PostAsJsonAsync(gantry.AdminUrl + "/services", new { name = "pooled", host = "pool" });
        await Http.PostAsJsonAsync(gantry.AdminUrl + "/services/pooled/routes", new { paths = new[] { "/pool" } });
        await Http.PostAsJsonAsync(gantry.AdminUrl + "/upstreams", new { name = "empty" });
        await Http.PostAsJsonAsync(gantry.AdminUrl + "/services", new { name = "nowhere", host = "empty" });
        await Http.PostAsJsonAsync(gantry.AdminUrl + "/services/nowhere/routes", new { paths = new[] { "/empty" } });

        Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(ProxyUrl(gantry) + "/pool", TimeSpan.FromSeconds(10))).StatusCode);
        var hits = new Dictionary<string, int>();
        for (var i = 0; i < 39; i++)
        {
            var echoed = await (await Http.GetAsync(ProxyUrl(gantry) + "/pool")).Content.ReadFromJsonAsync<JsonElement>();
            var host = echoed.GetProperty("headers").GetProperty("host").GetString()!;
            hits[host] = hits.GetValueOrDefault(host) + 1;
        }
        // 40 requests in all: ten turns of a 1:3 wheel (the first one above opened the count).
        Assert.Equal(2, hits.Count);
        var toFirst = hits.GetValueOrDefault($"127.0.0.1:{first.Port}");
        var toSecond = hits.GetValueOrDefault($"127.0.0.1:{second.Port}");
        Assert.InRange(toFirst, 9, 10);
        Assert.InRange(toSecond, 29, 30);

        var empty = await UntilRoutedAsync(ProxyUrl(gantry) + "/empty", TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, empty.StatusCode);
        Assert.Equal("failure to get a peer from the ring-balancer", (await empty.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
    }
}

public sealed class ProxyForwardingTests() : ProxyForwardingSuite("auto");

public sealed class ProxyForwardingTestsYarp() : ProxyForwardingSuite("yarp");

public sealed class ProxyForwardingTestsPooledIo() : ProxyForwardingSuite("auto", ProxyIo.Pooled);

public sealed class ProxyForwardingTestsInlineIo() : ProxyForwardingSuite("auto", ProxyIo.Inline);
