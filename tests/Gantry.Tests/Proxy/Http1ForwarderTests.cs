using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Proxy;

/// <summary>
/// What Gantry's own HTTP/1.1 forwarder (proxy_forwarder = auto) adds to the shared proxy suites: its
/// keep-alive pool and limits, chunked bodies both ways, strict response parsing, and its one timer for
/// read timeouts and vanished clients; each checked on what the upstream saw.
/// </summary>
public abstract class Http1ForwarderTests(Http1ForwarderNode node)
{
    [Fact]
    public async Task Sequential_requests_share_pooled_connections_each_closed_after_max_requests()
    {
        // Past the idle timeout (1 s), the connections earlier tests left in the pool are closed: these requests start afresh.
        await Task.Delay(1600);
        for (var i = 0; i < 40; i++)
        {
            var response = await Http.GetAsync($"{node.Proxy}/count/{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        }
        var connections = node.Upstream.ConnectionsFor("/count/");
        // upstream_keepalive_max_requests = 10: four connections, ten requests each.
        Assert.Equal(4, connections.Count);
        Assert.All(connections, c => Assert.Equal(10, c.Requests.Count));
    }

    [Fact]
    public async Task An_idle_connection_is_closed_after_the_idle_timeout_and_the_next_request_opens_another()
    {
        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync($"{node.Proxy}/idle/1")).StatusCode);
        var first = Assert.Single(node.Upstream.ConnectionsFor("/idle/"));
        // upstream_keepalive_idle_timeout = 1 (second), checked by a ticker every 100 ms.
        await first.Closed.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));

        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync($"{node.Proxy}/idle/2")).StatusCode);
        Assert.Equal(2, node.Upstream.ConnectionsFor("/idle/").Count);
    }

    [Fact]
    public async Task A_chunked_request_goes_upstream_chunked_with_its_trailers()
    {
        var (status, body) = await SendRawAsync(node.ProxyAddress,
            $"POST /echo HTTP/1.1\r\nHost: {node.ProxyAddress}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n");
        Assert.Equal(200, status);
        Assert.Equal("hello world|X-Checksum: abc\r\n", body);
        var request = node.Upstream.ConnectionsFor("/echo").SelectMany(c => c.Requests).Last(r => r.Path == "/echo");
        Assert.Contains("Transfer-Encoding: chunked\r\n", request.Head);
        Assert.DoesNotContain("Content-Length", request.Head);
    }

    [Fact]
    public async Task A_response_body_is_streamed_chunked_and_a_head_answer_leaves_the_connection_usable()
    {
        var chunks = await Http.GetAsync($"{node.Proxy}/chunks");
        Assert.Equal(HttpStatusCode.OK, chunks.StatusCode);
        Assert.Equal("abcdef", await chunks.Content.ReadAsStringAsync());

        // The HEAD answer declares a length but carries no body: the next answer on the connection is read right.
        using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{node.Proxy}/head"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(5, head.Content.Headers.ContentLength);
        var after = await Http.GetAsync($"{node.Proxy}/head/after");
        Assert.Equal("ok", await after.Content.ReadAsStringAsync());
        var connection = Assert.Single(node.Upstream.ConnectionsFor("/head"));
        Assert.Equal(["/head", "/head/after"], connection.Requests.Select(r => r.Path).SkipWhile(p => p != "/head"));
    }

    [Fact]
    public async Task Headers_named_by_connection_stay_on_their_hop_both_ways_and_expect_is_answered_by_the_proxy()
    {
        var (status, body) = await SendRawAsync(node.ProxyAddress,
            $"POST /hop HTTP/1.1\r\nHost: {node.ProxyAddress}\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello");
        Assert.Equal(200, status);
        Assert.Equal("hello", body);
        var request = node.Upstream.ConnectionsFor("/hop").SelectMany(c => c.Requests).Last();
        Assert.DoesNotContain("Expect", request.Head);
        Assert.Contains("Content-Length: 5\r\n", request.Head);

        using var named = new HttpRequestMessage(HttpMethod.Get, $"{node.Proxy}/hop/named");
        named.Headers.Connection.Add("X-Hop");
        named.Headers.Add("X-Hop", "1");
        named.Headers.Add("X-Kept", "2");
        Assert.Equal(HttpStatusCode.OK, (await Http.SendAsync(named)).StatusCode);
        var sent = node.Upstream.ConnectionsFor("/hop/named").SelectMany(c => c.Requests).Last();
        Assert.False(sent.Head.Contains("X-Hop", StringComparison.Ordinal), sent.Head);
        Assert.Contains("X-Kept: 2\r\n", sent.Head);

        // The upstream's own Connection header names X-Secret: the client never sees it.
        var response = await Http.GetAsync($"{node.Proxy}/hop/back");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Secret"));
        Assert.Equal("visible", response.Headers.GetValues("X-Public").Single());
    }

    [Fact]
    public async Task Interim_responses_are_skipped()
    {
        var response = await Http.GetAsync($"{node.Proxy}/interim");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/bad/conflicting-length")]
    [InlineData("/bad/repeated-length")]
    [InlineData("/bad/length-and-chunked")]
    [InlineData("/bad/folded")]
    [InlineData("/bad/bare-lf")]
    [InlineData("/bad/status-line")]
    [InlineData("/bad/huge-head")]
    public async Task An_ambiguous_or_malformed_response_is_a_502_and_its_connection_is_dropped(string path)
    {
        var response = await Http.GetAsync(node.Proxy + path);
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("An invalid response was received from the upstream server",
            (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        var connection = Assert.Single(node.Upstream.ConnectionsFor(path));
        await connection.Closed.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task An_upstream_slower_than_read_timeout_is_a_504_from_the_shared_timer_and_its_connection_closed()
    {
        var clock = Stopwatch.StartNew();
        var response = await Http.GetAsync($"{node.Proxy}/slow");
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("The upstream server is timing out", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        // read_timeout = 700 ms, seen by a ticker every 100 ms.
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(650), TimeSpan.FromSeconds(4));
        await node.Upstream.Connections.Single(c => c.Requests.Any(r => r.Path == "/slow")).Closed.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task An_upstream_that_stops_reading_the_body_is_a_504_after_write_timeout_and_its_connection_closed()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, int.Parse(node.ProxyAddress.Split(':')[1]));
        var stream = client.GetStream();
        const int size = 64 << 20;
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /stalled HTTP/1.1\r\nHost: {node.ProxyAddress}\r\nContent-Length: {size}\r\n\r\n"));
        // The body goes on beside: once the upstream's buffers are full, the proxy's writes stall, then the client's.
        var body = Task.Run(async () =>
        {
            var chunk = new byte[1 << 16];
            try
            {
                for (var sent = 0; sent < size; sent += chunk.Length)
                    await stream.WriteAsync(chunk);
            }
            catch (IOException)
            {
                // The proxy answered and closed before taking the whole body.
            }
        });
        await node.Stalled.HeadReceived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var clock = Stopwatch.StartNew();
        var received = new StringBuilder();
        var buffer = new byte[4096];
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            while (!received.ToString().Contains("timing out", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                Assert.True(read != 0, $"the proxy closed the connection after sending [{received}]");
                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        // write_timeout = 700 ms on this service, read_timeout the default 60 s: only the write deadline answers this soon.
        Assert.StartsWith("HTTP/1.1 504 ", received.ToString(), StringComparison.Ordinal);
        Assert.Contains("The upstream server is timing out", received.ToString(), StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(15));
        node.Stalled.Release();
        await node.Stalled.Closed.WaitAsync(TimeSpan.FromSeconds(5));
        client.Close();
        await body;
    }

    [Fact]
    public async Task A_client_that_goes_away_mid_response_closes_the_upstream_connection()
    {
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, int.Parse(node.ProxyAddress.Split(':')[1]));
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /stream HTTP/1.1\r\nHost: {node.ProxyAddress}\r\n\r\n"));
            var received = new StringBuilder();
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (!received.ToString().Contains("tick", StringComparison.Ordinal))
                received.Append(Encoding.ASCII.GetString(buffer, 0, await stream.ReadAsync(buffer, timeout.Token)));
            client.Client.LingerState = new LingerOption(true, 0);
        }
        var connection = Assert.Single(node.Upstream.ConnectionsFor("/stream"));
        await connection.Closed.WaitAsync(TimeSpan.FromSeconds(5));
    }

    /// <summary>Sends bytes as written and reads the answer to its end (the request asks to close).</summary>
    private static async Task<(int Status, string Body)> SendRawAsync(string address, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, int.Parse(address.Split(':')[1]));
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var read = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await stream.CopyToAsync(read, timeout.Token);
        var text = Encoding.Latin1.GetString(read.ToArray());
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = text[..headEnd];
        var body = text[(headEnd + 4)..];
        if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            var plain = new StringBuilder();
            var position = 0;
            while (true)
            {
                var lineEnd = body.IndexOf("\r\n", position, StringComparison.Ordinal);
                var size = Convert.ToInt32(body[position..lineEnd], 16);
                if (size == 0)
                    break;
                plain.Append(body, lineEnd + 2, size);
                position = lineEnd + 2 + size + 2;
            }
            body = plain.ToString();
        }
        return (int.Parse(text.Split(' ', 3)[1]), body);
    }
}

/// <summary>
/// One node with the HTTP/1.1 forwarder, upstream_keepalive_max_requests = 10 and
/// upstream_keepalive_idle_timeout = 1, in front of a <see cref="ScriptedUpstream"/>: a service with
/// routes that keep their paths, and a service with a read_timeout of 700 ms on /slow.
/// </summary>
public abstract class Http1ForwarderNode(string store) : IAsyncLifetime
{
    private TestInstallation? _gantry;
    private GantryProcess? _process;

    public ScriptedUpstream Upstream { get; } = new(AnswerAsync);

    /// <summary>An upstream that stops reading after a request's head, behind /stalled (write_timeout 700 ms).</summary>
    public StalledUpstream Stalled { get; } = new();

    public string Proxy { get; private set; } = "";

    public string ProxyAddress => Proxy["http://".Length..];

    public async Task InitializeAsync()
    {
        _gantry = await TestInstallation.CreateAsync(store);
        _gantry.Environment["GANTRY_PROXY_FORWARDER"] = "auto";
        _gantry.Environment["GANTRY_UPSTREAM_KEEPALIVE_MAX_REQUESTS"] = "10";
        _gantry.Environment["GANTRY_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT"] = "1";
        _process = await StartAsync(_gantry);
        Proxy = ProxyUrl(_gantry);
        var upstream = $"http://127.0.0.1:{Upstream.Port}";
        await CreateAsync(_gantry, "/services", new { name = "scripted", url = upstream });
        await CreateAsync(_gantry, "/services/scripted/routes",
            new { name = "scripted", paths = new[] { "/count", "/idle", "/echo", "/hop", "/chunks", "/head", "/interim", "/bad", "/stream", "/ready" }, strip_path = false });
        // Before /slow, the route written last: once the proxy serves /slow, it serves /stalled too (which cannot be
        // probed: its upstream takes one request only).
        await CreateAsync(_gantry, "/services", new { name = "stalled", url = $"http://127.0.0.1:{Stalled.Port}", write_timeout = 700 });
        await CreateAsync(_gantry, "/services/stalled/routes", new { name = "stalled", paths = new[] { "/stalled" }, strip_path = false });
        await CreateAsync(_gantry, "/services", new { name = "slow", url = upstream, read_timeout = 700 });
        await CreateAsync(_gantry, "/services/slow/routes", new { name = "slow", paths = new[] { "/slow" }, strip_path = false });
        Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(Proxy + "/ready", TimeSpan.FromSeconds(20))).StatusCode);
        Assert.NotEqual(HttpStatusCode.NotFound, (await UntilAsync(() => Http.GetAsync(Proxy + "/slow/ready"), r => r.StatusCode != HttpStatusCode.NotFound, TimeSpan.FromSeconds(20))).StatusCode);
    }

    private static readonly byte[] Ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray();

    private static async Task<bool> AnswerAsync(ScriptedRequest request, Stream stream)
    {
        switch (request.Path)
        {
            case "/echo":
                var echo = Encoding.Latin1.GetBytes(request.BodyText + "|" + request.Trailers);
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {echo.Length}\r\n\r\n"));
                await stream.WriteAsync(echo);
                return true;
            case "/hop":
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {request.Body.Length}\r\n\r\n"));
                await stream.WriteAsync(request.Body);
                return true;
            case "/hop/back":
                await stream.WriteAsync("HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: s\r\nX-Public: visible\r\nContent-Length: 2\r\n\r\nok"u8.ToArray());
                return true;
            case "/chunks":
                await stream.WriteAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n"u8.ToArray());
                await Task.Delay(50);
                await stream.WriteAsync("4;ext=1\r\ncdef\r\n0\r\nX-Sum: 6\r\n\r\n"u8.ToArray());
                return true;
            case "/head":
                await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"u8.ToArray());
                return true;
            case "/interim":
                await stream.WriteAsync("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"u8.ToArray());
                await stream.WriteAsync(Ok);
                return true;
            case "/bad/conflicting-length":
                return await WriteAndWaitAsync(stream, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok");
            case "/bad/repeated-length":
                return await WriteAndWaitAsync(stream, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok");
            case "/bad/length-and-chunked":
                return await WriteAndWaitAsync(stream, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
            case "/bad/folded":
                return await WriteAndWaitAsync(stream, "HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\nContent-Length: 2\r\n\r\nok");
            case "/bad/bare-lf":
                return await WriteAndWaitAsync(stream, "HTTP/1.1 200 OK\nContent-Length: 2\n\nok");
            case "/bad/status-line":
                return await WriteAndWaitAsync(stream, "HTTP/1.1 OK\r\nContent-Length: 2\r\n\r\nok");
            case "/bad/huge-head":
                return await WriteAndWaitAsync(stream, "HTTP/1.1 200 OK\r\n" + string.Concat(Enumerable.Repeat("X-Filler: " + new string('a', 1000) + "\r\n", 70)) + "Content-Length: 2\r\n\r\nok");
            case "/slow":
                // Never answers; waits for the proxy to give up and close.
                _ = await stream.ReadAsync(new byte[1]);
                return false;
            case "/stream":
                await stream.WriteAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"u8.ToArray());
                for (var i = 0; i < 600; i++)
                {
                    await stream.WriteAsync("6\r\ntick\r\n\r\n"u8.ToArray());
                    await Task.Delay(50);
                }
                return false;
            default:
                await stream.WriteAsync(Ok);
                return true;
        }
    }

    /// <summary>Writes an answer and keeps the connection open: only the proxy can close it.</summary>
    private static async Task<bool> WriteAndWaitAsync(Stream stream, string answer)
    {
        await stream.WriteAsync(Encoding.Latin1.GetBytes(answer));
        return true;
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
            await _process.DisposeAsync();
        await Upstream.DisposeAsync();
        Stalled.Dispose();
        if (_gantry is not null)
            await _gantry.DisposeAsync();
    }
}

public sealed class SqliteHttp1ForwarderNode() : Http1ForwarderNode("sqlite");

public sealed class PostgresHttp1ForwarderNode() : Http1ForwarderNode("postgres");

public sealed class Http1ForwarderTestsSqlite(SqliteHttp1ForwarderNode node) : Http1ForwarderTests(node), IClassFixture<SqliteHttp1ForwarderNode>;

public sealed class Http1ForwarderTestsPostgres(PostgresHttp1ForwarderNode node) : Http1ForwarderTests(node), IClassFixture<PostgresHttp1ForwarderNode>;

/// <summary>
/// An upstream that reads one request's head and then nothing more until released, so that a proxy writing
/// a large body to it fills the socket buffers and stalls; released, it drains the connection until the
/// proxy closes it.
/// </summary>
public sealed class StalledUpstream : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StalledUpstream()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = ServeAsync();
    }

    public int Port { get; }

    public TaskCompletionSource HeadReceived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the proxy closed the connection, once released.</summary>
    public Task Closed => _closed.Task;

    public void Release() => _released.TrySetResult();

    private async Task ServeAsync()
    {
        try
        {
            using var client = await _listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            var head = new List<byte>();
            var one = new byte[1];
            while (head.Count < 4 || !(head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
            {
                if (await stream.ReadAsync(one) == 0)
                    return;
                head.Add(one[0]);
            }
            HeadReceived.TrySetResult();
            await _released.Task;
            var buffer = new byte[1 << 16];
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // Reset by the proxy, or the listener stopped.
        }
        finally
        {
            _closed.TrySetResult();
        }
    }

    public void Dispose()
    {
        _released.TrySetResult();
        _listener.Stop();
    }
}
