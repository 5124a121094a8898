using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Proxy;

/// <summary>WebSocket upgrades, retries on connect failures, connect timeouts and the headers property, through a real node.</summary>
public abstract partial class ProxyEdgeSuite(string forwarder, ProxyIo io = ProxyIo.Epoll) : ForwarderSuite(forwarder, io)
{
    /// <summary>nginx refuses TRACE before routing (cross-site tracing), so Kong does; a route that lists the method changes nothing.</summary>
    [Fact]
    public async Task Trace_is_a_405_before_routing_even_on_a_route_that_lists_it()
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        await CreateAsync(gantry, "/services", new { name = "echo", url = $"http://127.0.0.1:{upstream.Port}" });
        await CreateAsync(gantry, "/services/echo/routes", new { name = "traced", paths = new[] { "/traced" }, methods = new[] { "GET", "TRACE" } });
        Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(ProxyUrl(gantry) + "/traced", TimeSpan.FromSeconds(15))).StatusCode);

        foreach (var path in new[] { "/traced", "/nowhere" })
        {
            var traced = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Trace, ProxyUrl(gantry) + path));
            Assert.Equal(HttpStatusCode.MethodNotAllowed, traced.StatusCode);
            Assert.Equal("Method not allowed", (await traced.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
            Assert.False(traced.Headers.Contains("X-Upstream"), "the TRACE reached the upstream");
        }
    }

    /// <summary>
    /// A client that stops reading a large response fills the kernel's buffers and then the node's: the node
    /// stops reading the upstream rather than buffering the rest, and its other connections go on being
    /// served meanwhile (on the event loops, a blocked send would stall every connection of its thread). When
    /// the client reads again it gets every byte, in order.
    /// </summary>
    [Fact]
    public async Task A_client_that_stops_reading_a_large_response_stalls_only_itself_and_then_gets_all_of_it()
    {
        const int size = 48 << 20;
        await using var upstream = new BulkUpstream(size);
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        await CreateAsync(gantry, "/services", new { name = "bulk", url = $"http://127.0.0.1:{upstream.Port}" });
        await CreateAsync(gantry, "/services/bulk/routes", new { name = "bulk", paths = new[] { "/bulk" } });
        Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(ProxyUrl(gantry) + "/bulk/small", TimeSpan.FromSeconds(15))).StatusCode);

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var response = await client.GetAsync(ProxyUrl(gantry) + "/bulk/large", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        await Task.Delay(1500); // nothing read: the buffers fill up

        var others = Enumerable.Range(0, 8).Select(async _ =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var small = await Http.GetAsync(ProxyUrl(gantry) + "/bulk/small");
            Assert.Equal(HttpStatusCode.OK, small.StatusCode);
            return clock.ElapsedMilliseconds;
        });
        var times = await Task.WhenAll(others);
        Assert.True(times.Max() < 3000, $"requests beside the stalled client took up to {times.Max()} ms");
        Assert.True(upstream.Sent < size, $"the node read all {upstream.Sent} bytes of the upstream's response while its client read none");

        var received = 0L;
        var expected = 0;
        var buffer = new byte[65536];
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            for (var i = 0; i < read; i++, expected++)
                Assert.True(buffer[i] == BulkUpstream.ByteAt(expected), $"byte {expected} differs");
            received += read;
        }
        Assert.Equal(size, received);
    }

    [Fact]
    public async Task A_websocket_upgrade_passes_messages_both_ways()
    {
        await using var upstream = new RawEchoUpstream();
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        await ServeAsync(gantry, "ws", $"http://127.0.0.1:{upstream.Port}", "/ws");
        Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(ProxyUrl(gantry) + "/ws", TimeSpan.FromSeconds(15))).StatusCode);

        using var client = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await client.ConnectAsync(new Uri(ProxyUrl(gantry).Replace("http://", "ws://") + "/ws/chat?room=1"), timeout.Token);
        Assert.Equal("welcome /chat?room=1", await ReceiveTextAsync(client, timeout.Token));
        foreach (var message in new[] { "hello", "second message" })
        {
            await client.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, timeout.Token);
            Assert.Equal("echo: " + message, await ReceiveTextAsync(client, timeout.Token));
        }
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
        Assert.Equal(WebSocketState.Closed, client.State);
    }

    private static async Task<string> ReceiveTextAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var result = await socket.ReceiveAsync(buffer, cancellationToken);
        Assert.True(result.EndOfMessage);
        return Encoding.UTF8.GetString(buffer, 0, result.Count);
    }

    [Fact]
    public async Task Connect_failures_are_retried_on_the_next_target_and_a_dead_service_is_a_502_after_its_retries()
    {
        await using var live = new RawEchoUpstream();
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        var deadTarget = TestInstallation.FreePort();
        await CreateAsync(gantry, "/upstreams", new { name = "flaky" });
        await CreateAsync(gantry, "/upstreams/flaky/targets", new { target = $"127.0.0.1:{deadTarget}" });
        await CreateAsync(gantry, "/upstreams/flaky/targets", new { target = $"127.0.0.1:{live.Port}" });
        await CreateAsync(gantry, "/services", new { name = "flaky", host = "flaky", retries = 1 });
        await CreateAsync(gantry, "/services/flaky/routes", new { paths = new[] { "/flaky" } });
        var deadService = TestInstallation.FreePort();
        await CreateAsync(gantry, "/services", new { name = "dead", url = $"http://127.0.0.1:{deadService}", retries = 2 });
        await CreateAsync(gantry, "/services/dead/routes", new { paths = new[] { "/dead" } });
        await CreateAsync(gantry, "/services", new { name = "once", url = $"http://127.0.0.1:{deadService}/once", retries = 0 });
        await CreateAsync(gantry, "/services/once/routes", new { paths = new[] { "/once" } });
        // Every rebuild makes a new balancer (a new wheel); wait for the last write's rebuild before counting.
        Assert.Equal(HttpStatusCode.BadGateway, (await UntilRoutedAsync(ProxyUrl(gantry) + "/once", TimeSpan.FromSeconds(15))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(ProxyUrl(gantry) + "/flaky")).StatusCode);

        // Round-robin alternates between the two targets, and a retry takes the next pick: a request that
        // meets the refusing target is retried on the live one, which leaves the refusing one first in line
        // for the next request. So every request but perhaps the first is retried once. A body survives the retry.
        for (var i = 0; i < 6; i++)
        {
            var response = await Http.PostAsync(ProxyUrl(gantry) + "/flaky", new StringContent("payload " + i));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("POST", response.Headers.GetValues("X-Method").Single());
            Assert.Equal("payload " + i, await response.Content.ReadAsStringAsync());
        }
        // Seven requests on one balancer in all, counting the GET above.
        var skipped = await UntilAsync(() => Task.FromResult(TriesLogged(node, deadTarget)), n => n >= 6, TimeSpan.FromSeconds(10));
        Assert.InRange(skipped, 6, 7);
        Assert.DoesNotContain($"try 2 of 2 to http://127.0.0.1:{deadTarget}", node.Stdout);

        var dead = await Http.GetAsync(ProxyUrl(gantry) + "/dead");
        Assert.Equal(HttpStatusCode.BadGateway, dead.StatusCode);
        Assert.Equal("An invalid response was received from the upstream server", (await dead.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        // retries = 2: three tries, of which the first two are logged as retried.
        Assert.Equal(2, await UntilAsync(() => Task.FromResult(TriesLogged(node, deadService)), n => n >= 2, TimeSpan.FromSeconds(10)));
        Assert.Contains($"try 2 of 3 to http://127.0.0.1:{deadService} failed", node.Stdout);

        // retries = 0: one try, nothing retried (the route answered 502 above already).
        Assert.Equal(HttpStatusCode.BadGateway, (await Http.GetAsync(ProxyUrl(gantry) + "/once")).StatusCode);
        Assert.DoesNotContain("of 1 to", node.Stdout);
        Assert.Equal(2, TriesLogged(node, deadService));
    }

    private static int TriesLogged(GantryProcess node, int port) =>
        Regex.Matches(node.Stdout, $@"try \d+ of \d+ to http://127\.0\.0\.1:{port} failed").Count;

    [Fact]
    public async Task A_connect_timeout_is_a_504_and_is_retried()
    {
        // A listener whose accept queue is full: the kernel drops further SYNs, so a connect neither
        // succeeds nor is refused until the connect timeout fires. The queue is filled until a connect hangs.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, TestInstallation.FreePort()));
        listener.Listen(0);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        try
        {
            while (true)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                try
                {
                    await filler.ConnectAsync(IPAddress.Loopback, port, wait.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                Assert.True(fillers.Count < 20, "the accept queue never filled up");
            }

            await using var gantry = await InstallAsync("sqlite");
            await using var node = await StartAsync(gantry);
            await CreateAsync(gantry, "/services", new { name = "blackhole", url = $"http://127.0.0.1:{port}", connect_timeout = 300, retries = 1 });
            await CreateAsync(gantry, "/services/blackhole/routes", new { paths = new[] { "/blackhole" } });
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var response = await UntilRoutedAsync(ProxyUrl(gantry) + "/blackhole", TimeSpan.FromSeconds(15));
            Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
            Assert.Equal("The upstream server is timing out", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
            Assert.Equal(1, await UntilAsync(() => Task.FromResult(TriesLogged(node, port)), n => n >= 1, TimeSpan.FromSeconds(10)));
            Assert.Contains($"try 1 of 2 to http://127.0.0.1:{port} failed", node.Stdout);
        }
        finally
        {
            foreach (var filler in fillers)
                filler.Dispose();
        }
    }

    [Fact]
    public async Task Default_headers_carry_the_server_the_latencies_and_a_request_id_also_sent_upstream()
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        await ServeAsync(gantry, "echo", $"http://127.0.0.1:{upstream.Port}", "/h");
        Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(ProxyUrl(gantry) + "/h", TimeSpan.FromSeconds(15))).StatusCode);

        // The upstream holds its answer back 300 ms: the upstream latency shows it, the proxy latency does not.
        var proxied = await Http.GetAsync(ProxyUrl(gantry) + "/h?sleep=300");
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        Assert.InRange(Milliseconds(proxied, "X-Kong-Upstream-Latency"), 290, 20000);
        Assert.InRange(Milliseconds(proxied, "X-Kong-Proxy-Latency"), 0, 250);
        Assert.Matches(@"^1\.1 gantry/\S+$", Raw(proxied, "Via"));
        // The upstream named itself in Server, so Gantry leaves that alone.
        Assert.DoesNotContain(proxied.Headers.Server, s => s.Product?.Name == "gantry");
        var id = Single(proxied, "X-Kong-Request-Id");
        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal(id, (await proxied.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("headers").GetProperty("x-kong-request-id").GetString());
        Assert.NotEqual(id, Single(await Http.GetAsync(ProxyUrl(gantry) + "/h"), "X-Kong-Request-Id"));

        // An answer of Gantry's own: Server, the response latency, the id (also in the body).
        var none = await Http.GetAsync(ProxyUrl(gantry) + "/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.StartsWith("gantry/", Single(none, "Server"));
        Assert.InRange(Milliseconds(none, "X-Kong-Response-Latency"), 0, 5000);
        Assert.False(none.Headers.Contains("X-Kong-Upstream-Latency"));
        var body = await none.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Single(none, "X-Kong-Request-Id"), body.GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task Headers_off_sends_none_of_them_back_and_keeps_the_upstream_request_id()
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await InstallAsync("sqlite");
        gantry.Environment["GANTRY_HEADERS"] = "off";
        await using var node = await StartAsync(gantry);
        await ServeAsync(gantry, "echo", $"http://127.0.0.1:{upstream.Port}", "/h");
        var proxied = await UntilRoutedAsync(ProxyUrl(gantry) + "/h", TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        Assert.Empty(GantryHeaders(proxied));
        Assert.Null(Raw(proxied, "Via"));
        Assert.DoesNotContain(proxied.Headers.Server, s => s.Product?.Name == "gantry");
        // headers_upstream is a property of its own, on by default.
        var echoed = await proxied.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Matches("^[0-9a-f]{32}$", echoed.GetProperty("headers").GetProperty("x-kong-request-id").GetString());

        var none = await Http.GetAsync(ProxyUrl(gantry) + "/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.Empty(GantryHeaders(none));
        Assert.Null(Raw(none, "Server"));
    }

    [Fact]
    public async Task Latency_tokens_alone_send_only_the_latencies()
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await InstallAsync("sqlite");
        gantry.Environment["GANTRY_HEADERS"] = "latency_tokens";
        gantry.Environment["GANTRY_HEADERS_UPSTREAM"] = "off";
        await using var node = await StartAsync(gantry);
        await ServeAsync(gantry, "echo", $"http://127.0.0.1:{upstream.Port}", "/h");
        var proxied = await UntilRoutedAsync(ProxyUrl(gantry) + "/h", TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        Assert.Equal(["X-Kong-Proxy-Latency", "X-Kong-Upstream-Latency"], GantryHeaders(proxied));
        Assert.Null(Raw(proxied, "Via"));
        var echoed = await proxied.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(echoed.GetProperty("headers").TryGetProperty("x-kong-request-id", out _));

        var none = await Http.GetAsync(ProxyUrl(gantry) + "/nothing-here");
        Assert.Equal(["X-Kong-Response-Latency"], GantryHeaders(none));
        Assert.Null(Raw(none, "Server"));
        Assert.False((await none.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("request_id", out _));
    }

    private static string Single(HttpResponseMessage response, string name) => response.Headers.GetValues(name).Single();

    /// <summary>A header as sent, unparsed (HttpClient's parser drops a Via whose "received-by" has a '/'), or null.</summary>
    private static string? Raw(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out var values) ? string.Join(", ", values) : null;

    private static long Milliseconds(HttpResponseMessage response, string name) => long.Parse(Single(response, name));

    /// <summary>The X-Kong-* headers of a response, sorted.</summary>
    private static string[] GantryHeaders(HttpResponseMessage response) =>
        response.Headers.Select(h => h.Key).Where(k => k.StartsWith("X-Kong-", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToArray();
}

public sealed class ProxyEdgeTests() : ProxyEdgeSuite("auto");

public sealed class ProxyEdgeTestsYarp() : ProxyEdgeSuite("yarp");

public sealed class ProxyEdgeTestsPooledIo() : ProxyEdgeSuite("auto", ProxyIo.Pooled);

public sealed class ProxyEdgeTestsInlineIo() : ProxyEdgeSuite("auto", ProxyIo.Inline);

/// <summary>An upstream that answers /bulk/small with 12 bytes and anything else with <c>size</c> bytes of a known pattern, counting what it managed to send.</summary>
public sealed class BulkUpstream(int size) : LoopbackServer(concurrent: true)
{
    private long _sent;

    /// <summary>Bytes of large responses written so far (accepted by the kernel).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    public static byte ByteAt(long offset) => (byte)('a' + offset % 26);

    protected override async Task HandleAsync(HttpListenerContext context)
    {
        try
        {
            if (context.Request.Url!.AbsolutePath.EndsWith("/small", StringComparison.Ordinal))
            {
                context.Response.ContentLength64 = 12;
                await context.Response.OutputStream.WriteAsync("hello world\n"u8.ToArray());
                return;
            }
            context.Response.ContentLength64 = size;
            var chunk = new byte[26 * 2520];
            for (var i = 0; i < chunk.Length; i++)
                chunk[i] = ByteAt(i);
            for (var offset = 0; offset < size; offset += chunk.Length)
            {
                var count = Math.Min(chunk.Length, size - offset);
                await context.Response.OutputStream.WriteAsync(chunk.AsMemory(0, count));
                Interlocked.Add(ref _sent, count);
            }
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            // The client went away.
        }
        finally
        {
            context.Response.Close();
        }
    }
}
