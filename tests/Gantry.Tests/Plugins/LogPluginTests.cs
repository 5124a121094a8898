using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Tests.Proxy;
using Gantry.Tests.Support;

namespace Gantry.Tests.Plugins;

/// <summary>
/// http-log, file-log, tcp-log and udp-log in a node's proxy in front of a real loopback upstream, each
/// delivering every request's entry to a real loopback collector (or file); a dead collector never slows
/// requests; their schema errors. On both stores.
/// </summary>
public abstract class LogPluginTests(AdminNode node) : ProxyPluginTests(node)
{
    /// <summary>
    /// Adds correlation-id (echoing its header) after the log plugins and waits for it: a snapshot carries
    /// every earlier write too, so from then on the log plugins run.
    /// </summary>
    private async Task UntilConfiguredAsync(string route, string path)
    {
        await Node.CreateAsync($"/routes/{Prefix}-{route}/plugins", new { name = "correlation-id", config = new { echo_downstream = true } });
        await UntilAsync(() => GetAsync(path), r => Header(r, "Kong-Request-ID").Length > 0);
    }

    [Fact]
    public async Task Http_log_delivers_each_requests_entry_once_in_batches_with_basic_auth_from_the_url()
    {
        await using var collector = new LogCollector();
        var path = await RouteAsync("http");
        await Node.CreateAsync($"/routes/{Prefix}-http/plugins", new
        {
            name = "http-log",
            config = new
            {
                http_endpoint = $"http://logger:s%40cret@127.0.0.1:{collector.Port}/logs",
                content_type = "application/json; charset=utf-8",
                headers = new Dictionary<string, string> { ["X-Log-Source"] = "gantry" },
                queue = new { max_batch_size = 10, max_coalescing_delay = 0.2 },
            },
        });
        await UntilConfiguredAsync("http", path);

        const int N = 60;
        for (var i = 0; i < N; i++)
        {
            var response = await GetAsync($"{path}/item?seq={i}&flag", ("X-Seq", i.ToString()), ("Authorization", "Bearer secret-token"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var entries = await collector.UntilAsync(all => Sequenced(all).Count == N);
        var sequenced = Sequenced(entries);
        // Every request once: no entry lost, none sent twice.
        Assert.Equal(N, sequenced.Count);
        Assert.Equal(Enumerable.Range(0, N).Select(i => i.ToString()), sequenced.Select(e => e["request"]!["headers"]!["x-seq"]!.GetValue<string>()).Order(StringComparer.Ordinal).OrderBy(int.Parse));
        // Batched: fewer posts than entries, and a batch of several is a JSON array.
        Assert.True(collector.Posts.Count < N, $"{collector.Posts.Count} posts for {N} entries");
        Assert.Contains(collector.Posts, p => p.Body.TrimStart().StartsWith('['));
        var post = collector.Posts.Last();
        Assert.Equal("POST", post.Method);
        Assert.Equal("/logs", post.Path);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("logger:s@cret")), post.Authorization);
        Assert.Equal("application/json; charset=utf-8", post.ContentType);
        Assert.Equal("gantry", post.Source);

        var entry = sequenced.First(e => e["request"]!["headers"]!["x-seq"]!.GetValue<string>() == "7");
        var request = entry["request"]!;
        Assert.Equal("GET", request["method"]!.GetValue<string>());
        Assert.Equal($"{path}/item?seq=7&flag", request["uri"]!.GetValue<string>());
        Assert.Equal($"{Proxy}{path}/item?seq=7&flag", request["url"]!.GetValue<string>());
        Assert.Equal("7", request["querystring"]!["seq"]!.GetValue<string>());
        Assert.True(request["querystring"]!["flag"]!.GetValue<bool>());
        Assert.Equal("REDACTED", request["headers"]!["authorization"]!.GetValue<string>());
        Assert.Equal(200, entry["response"]!["status"]!.GetValue<int>());
        Assert.Equal("echo", entry["response"]!["headers"]!["x-upstream"]!.GetValue<string>());
        Assert.True(entry["response"]!["size"]!.GetValue<long>() > 0);
        Assert.Equal("/item?seq=7&flag", entry["upstream_uri"]!.GetValue<string>());
        Assert.Equal("200", entry["upstream_status"]!.GetValue<string>());
        Assert.Equal("upstream", entry["source"]!.GetValue<string>());
        Assert.Equal("127.0.0.1", entry["client_ip"]!.GetValue<string>());
        Assert.Equal(Prefix + "-http", entry["route"]!["name"]!.GetValue<string>());
        var service = (await Node.GetAsync($"/services/{Prefix}-http")).Body!;
        Assert.Equal(service["id"]!.GetValue<string>(), entry["service"]!["id"]!.GetValue<string>());
        Assert.Equal(Prefix + "-http", entry["service"]!["name"]!.GetValue<string>());
        var latencies = entry["latencies"]!;
        Assert.True(latencies["request"]!.GetValue<long>() >= latencies["proxy"]!.GetValue<long>());
        Assert.True(latencies["kong"]!.GetValue<long>() >= 0);
        var startedAt = DateTimeOffset.FromUnixTimeMilliseconds(entry["started_at"]!.GetValue<long>());
        Assert.InRange(startedAt, DateTimeOffset.UtcNow.AddMinutes(-2), DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [Fact]
    public async Task Http_log_logs_the_answers_an_earlier_plugin_gave_with_the_consumer_unknown()
    {
        await using var collector = new LogCollector();
        var path = await RouteAsync("denied");
        await Node.CreateAsync($"/routes/{Prefix}-denied/plugins", new { name = "http-log", config = new { http_endpoint = $"http://127.0.0.1:{collector.Port}/" } });
        await Node.CreateAsync($"/routes/{Prefix}-denied/plugins", new { name = "key-auth" });
        await UntilAsync(() => GetAsync(path, ("X-Seq", "denied")), r => r.StatusCode == HttpStatusCode.Unauthorized);
        var entries = await collector.UntilAsync(all => Sequenced(all).Count > 0);
        var entry = Sequenced(entries)[0];
        Assert.Equal(401, entry["response"]!["status"]!.GetValue<int>());
        Assert.Equal("kong", entry["source"]!.GetValue<string>());
        Assert.Equal(-1, entry["latencies"]!["proxy"]!.GetValue<long>());
        Assert.Null(entry["consumer"]);
        // The queue's default batch is one entry, posted alone rather than in an array.
        Assert.StartsWith("{", collector.Posts[0].Body.TrimStart());
    }

    [Fact]
    public async Task Http_log_retries_a_failed_batch_and_delivers_each_entry_once()
    {
        await using var collector = new LogCollector(failFirst: 3);
        var path = await RouteAsync("retry");
        await Node.CreateAsync($"/routes/{Prefix}-retry/plugins", new
        {
            name = "http-log",
            config = new { http_endpoint = $"http://127.0.0.1:{collector.Port}/", queue = new { initial_retry_delay = 0.05, max_retry_delay = 0.2 } },
        });
        await UntilConfiguredAsync("retry", path);
        const int N = 8;
        for (var i = 0; i < N; i++)
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(path, ("X-Seq", i.ToString()))).StatusCode);
        var entries = Sequenced(await collector.UntilAsync(all => Sequenced(all).Count == N));
        Assert.Equal(3, collector.Failed);
        Assert.Equal(Enumerable.Range(0, N).Select(i => i.ToString()), entries.Select(e => e["request"]!["headers"]!["x-seq"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_dead_collector_never_slows_requests_down()
    {
        // One port where nothing listens, one collector that accepts connections and never answers.
        var closedPort = TestInstallation.FreePort();
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(512);
        var silentPort = ((IPEndPoint)silent.LocalEndpoint).Port;
        var accepted = new ConcurrentBag<TcpClient>();
        using var stop = new CancellationTokenSource();
        var acceptLoop = Task.Run(async () =>
        {
            try
            {
                while (true)
                    accepted.Add(await silent.AcceptTcpClientAsync(stop.Token));
            }
            catch (OperationCanceledException)
            {
            }
        });

        var closed = await RouteAsync("closed");
        var hanging = await RouteAsync("hanging");
        await Node.CreateAsync($"/routes/{Prefix}-closed/plugins", new { name = "http-log", config = new { http_endpoint = $"http://127.0.0.1:{closedPort}/", timeout = 10000 } });
        var bounded = await Node.CreateAsync($"/routes/{Prefix}-hanging/plugins", new { name = "http-log", config = new { http_endpoint = $"http://127.0.0.1:{silentPort}/", timeout = 10000, queue = new { max_entries = 50 } } });
        await UntilConfiguredAsync("closed", closed);
        await UntilConfiguredAsync("hanging", hanging);

        const int N = 100;
        var slowest = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < N; i++)
        {
            foreach (var target in new[] { closed, hanging })
            {
                var one = Stopwatch.StartNew();
                var response = await GetAsync(target);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                slowest = one.Elapsed > slowest ? one.Elapsed : slowest;
            }
        }
        clock.Stop();
        // 200 requests against a 10 s collector timeout: waiting on it even once would take 10 s.
        Assert.True(slowest < TimeSpan.FromSeconds(2), $"slowest request took {slowest.TotalMilliseconds} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{2 * N} requests took {clock.Elapsed.TotalMilliseconds} ms");
        // The silent collector was reached: the plugin was running while requests stayed fast.
        Assert.NotEmpty(accepted);
        // Its queue filled up (one batch stuck in flight, 50 waiting): the rest were dropped, and the node said so.
        await Node.Process.WaitForOutputAsync("log entries dropped (the queue holds max_entries)", TimeSpan.FromSeconds(10));
        Assert.Contains(Node.Process.Stdout.Split('\n'), line => line.Contains($"http-log {bounded["id"]!.GetValue<string>()}: ", StringComparison.Ordinal)
            && line.Contains("log entries dropped (the queue holds max_entries)", StringComparison.Ordinal));

        await stop.CancelAsync();
        await acceptLoop;
        foreach (var client in accepted)
            client.Dispose();
    }

    [Fact]
    public async Task File_log_appends_one_json_line_per_request()
    {
        var directory = Directory.CreateTempSubdirectory("gantry-file-log-");
        try
        {
            var file = Path.Combine(directory.FullName, "access.log");
            var path = await RouteAsync("file");
            await Node.CreateAsync($"/routes/{Prefix}-file/plugins", new { name = "file-log", config = new { path = file } });
            await UntilConfiguredAsync("file", path);
            const int N = 25;
            for (var i = 0; i < N; i++)
                Assert.Equal(HttpStatusCode.OK, (await GetAsync(path, ("X-Seq", i.ToString()))).StatusCode);

            var clock = Stopwatch.StartNew();
            List<JsonNode> lines;
            while (true)
            {
                var text = File.Exists(file) ? await ReadSharedAsync(file) : "";
                // Whole lines only: the writer may be half-way through one.
                lines = text.Split('\n').SkipLast(1).Select(l => JsonNode.Parse(l)!).ToList();
                if (Sequenced(lines).Count == N)
                    break;
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"{Sequenced(lines).Count} of {N} entries in the file");
                await Task.Delay(100);
            }
            Assert.Equal(Enumerable.Range(0, N).Select(i => i.ToString()), Sequenced(lines).Select(l => l["request"]!["headers"]!["x-seq"]!.GetValue<string>()));
            Assert.All(lines, l => Assert.Equal(Prefix + "-file", l["route"]!["name"]!.GetValue<string>()));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Tcp_log_sends_one_line_per_request()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var lines = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var client = await listener.AcceptTcpClientAsync(stop.Token);
                    _ = Task.Run(async () =>
                    {
                        using (client)
                        using (var reader = new StreamReader(client.GetStream()))
                        {
                            while (await reader.ReadLineAsync(stop.Token) is { } line)
                                lines.Enqueue(line);
                        }
                    });
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        var path = await RouteAsync("tcp");
        await Node.CreateAsync($"/routes/{Prefix}-tcp/plugins", new { name = "tcp-log", config = new { host = "127.0.0.1", port = ((IPEndPoint)listener.LocalEndpoint).Port } });
        await UntilConfiguredAsync("tcp", path);
        const int N = 20;
        for (var i = 0; i < N; i++)
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(path, ("X-Seq", i.ToString()))).StatusCode);
        var received = await UntilCountAsync(() => Sequenced(lines.Select(l => JsonNode.Parse(l)!).ToList()), N);
        Assert.Equal(Enumerable.Range(0, N).Select(i => i.ToString()), received.Select(l => l["request"]!["headers"]!["x-seq"]!.GetValue<string>()));
        await stop.CancelAsync();
        await loop;
    }

    [Fact]
    public async Task Udp_log_sends_one_datagram_per_request()
    {
        using var collector = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var datagrams = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(async () =>
        {
            try
            {
                while (true)
                    datagrams.Enqueue(Encoding.UTF8.GetString((await collector.ReceiveAsync(stop.Token)).Buffer));
            }
            catch (OperationCanceledException)
            {
            }
        });
        var path = await RouteAsync("udp");
        await Node.CreateAsync($"/routes/{Prefix}-udp/plugins", new { name = "udp-log", config = new { host = "localhost", port = ((IPEndPoint)collector.Client.LocalEndPoint!).Port } });
        await UntilConfiguredAsync("udp", path);
        const int N = 10;
        for (var i = 0; i < N; i++)
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(path, ("X-Seq", i.ToString()))).StatusCode);
        var received = await UntilCountAsync(() => Sequenced(datagrams.Select(d => JsonNode.Parse(d)!).ToList()), N);
        Assert.Equal(N, received.Count);
        Assert.All(received, d => Assert.Equal(200, d["response"]!["status"]!.GetValue<int>()));
        await stop.CancelAsync();
        await loop;
    }

    [Theory]
    [InlineData("http-log", "{\"http_endpoint\":\"not a url\"}", "http_endpoint", "missing host in url")]
    [InlineData("http-log", "{\"http_endpoint\":\"http://127.0.0.1/\",\"method\":\"GET\"}", "method", "expected one of: POST, PUT, PATCH")]
    [InlineData("http-log", "{}", "http_endpoint", "required field missing")]
    [InlineData("file-log", "{\"path\":\"/tmp/a*b.log\"}", "path", "not a valid filename")]
    [InlineData("file-log", "{\"path\":\"/tmp/x.log\",\"custom_fields_by_lua\":{\"a\":\"return 1\"}}", "custom_fields_by_lua",
        "Gantry does not run Lua: custom_fields_by_lua must be empty (remove its entries; the log entry has Kong's standard fields)")]
    [InlineData("tcp-log", "{\"host\":\"127.0.0.1\",\"port\":70000}", "port", "value should be between 0 and 65535")]
    [InlineData("udp-log", "{\"port\":9}", "host", "required field missing")]
    public async Task Invalid_configs_are_refused_with_kongs_schema_violation(string plugin, string config, string field, string message)
    {
        await RouteAsync("bad");
        var (status, error) = await Node.PostJsonAsync($"/routes/{Prefix}-bad/plugins", new JsonObject { ["name"] = plugin, ["config"] = JsonNode.Parse(config) });
        Assert.Equal(400, status);
        Assert.Equal("schema violation", error!["name"]!.GetValue<string>());
        Assert.Equal(message, error["fields"]!["config"]![field]!.GetValue<string>());
        Assert.Empty((await Node.GetAsync($"/routes/{Prefix}-bad/plugins")).Body!["data"]!.AsArray());
    }

    [Fact]
    public async Task Http_log_takes_kongs_deprecated_batching_fields_into_its_queue()
    {
        await RouteAsync("legacy");
        var plugin = await Node.CreateAsync($"/routes/{Prefix}-legacy/plugins", new
        {
            name = "http-log",
            config = new { http_endpoint = "http://127.0.0.1:9/", queue_size = 20, flush_timeout = 3, retry_count = 5 },
        });
        var config = plugin["config"]!;
        Assert.Equal(20, config["queue"]!["max_batch_size"]!.GetValue<int>());
        Assert.Equal(3, config["queue"]!["max_coalescing_delay"]!.GetValue<double>());
        Assert.Equal(10000, config["queue"]!["max_entries"]!.GetValue<int>());
        Assert.Equal("POST", config["method"]!.GetValue<string>());
        Assert.Equal(10000, config["timeout"]!.GetValue<double>());
        Assert.Equal(60000, config["keepalive"]!.GetValue<double>());
    }

    /// <summary>The entries of requests the test numbered with X-Seq (not the probes that waited for the configuration), in order.</summary>
    internal static List<JsonNode> Sequenced(IEnumerable<JsonNode> entries) =>
        entries.Where(e => e["request"]?["headers"]?["x-seq"] is not null)
            .OrderBy(e => int.TryParse(e["request"]!["headers"]!["x-seq"]!.GetValue<string>(), out var n) ? n : -1)
            .ToList();

    private static async Task<List<JsonNode>> UntilCountAsync(Func<List<JsonNode>> read, int count)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var found = read();
            if (found.Count >= count)
                return found;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"{found.Count} of {count} entries arrived");
            await Task.Delay(100);
        }
    }

    private static async Task<string> ReadSharedAsync(string file)
    {
        await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class SqliteLogPluginTests(SqliteProxyNode node) : LogPluginTests(node), IClassFixture<SqliteProxyNode>;

[Collection(AdminApiCollection.Name)]
public sealed class PostgresLogPluginTests(PostgresProxyNode node) : LogPluginTests(node), IClassFixture<PostgresProxyNode>;

/// <summary>What http-log's queue holds when the node stops is sent before it exits.</summary>
public sealed class LogQueueShutdownTests
{
    [Fact]
    public async Task Stopping_the_node_sends_what_the_http_log_queue_still_holds()
    {
        await using var collector = new LogCollector();
        await using var upstream = new EchoUpstream();
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        await using var node = await ProxyNode.StartAsync(gantry);
        await ProxyNode.ServeAsync(gantry, "echo", $"http://127.0.0.1:{upstream.Port}", "/held");
        // A batch that would wait an hour to fill: only the stop sends it.
        await ProxyNode.CreateAsync(gantry, "/plugins", new
        {
            name = "http-log",
            config = new { http_endpoint = $"http://127.0.0.1:{collector.Port}/", queue = new { max_batch_size = 1000, max_coalescing_delay = 3600 } },
        });
        await ProxyNode.CreateAsync(gantry, "/plugins", new { name = "correlation-id", config = new { echo_downstream = true } });
        var url = ProxyNode.ProxyUrl(gantry) + "/held";
        var configured = await ProxyNode.UntilAsync(() => ProxyNode.Http.GetAsync(url), r => r.Headers.Contains("Kong-Request-ID"), TimeSpan.FromSeconds(20));
        Assert.True(configured.Headers.Contains("Kong-Request-ID"), "the plugins never reached the proxy");
        const int N = 5;
        for (var i = 0; i < N; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Add("X-Seq", i.ToString());
            Assert.Equal(HttpStatusCode.OK, (await ProxyNode.Http.SendAsync(request)).StatusCode);
        }
        await Task.Delay(500);
        Assert.Empty(collector.Posts);

        var stop = await gantry.RunAsync("stop");
        Assert.True(stop.ExitCode == 0, stop.ToString());
        var exited = await node.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(exited.ExitCode == 0, exited.ToString());
        var entries = LogPluginTests.Sequenced(await collector.UntilAsync(all => LogPluginTests.Sequenced(all).Count == N));
        Assert.Equal(N, entries.Count);
        Assert.Single(collector.Posts);
    }
}

/// <summary>An HTTP log collector on loopback: keeps every post and answers 200.</summary>
internal sealed class LogCollector(int failFirst = 0) : LoopbackServer(concurrent: true)
{
    private int _posts;
    private int _failed;

    /// <summary>Posts answered 500 (the first <c>failFirst</c> that carry numbered entries), not kept.</summary>
    public int Failed => Volatile.Read(ref _failed);

    public ConcurrentQueue<Post> PostsQueue { get; } = new();

    public List<Post> Posts => [.. PostsQueue];

    protected override async Task HandleAsync(HttpListenerContext context)
    {
        using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        // Only the test's numbered entries fail, so that a retry is what must deliver them.
        if (body.Contains("\"x-seq\"", StringComparison.Ordinal) && Interlocked.Increment(ref _posts) <= failFirst)
        {
            Interlocked.Increment(ref _failed);
            context.Response.StatusCode = 500;
            context.Response.Close();
            return;
        }
        PostsQueue.Enqueue(new Post(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, context.Request.Headers["Authorization"],
            context.Request.ContentType, context.Request.Headers["X-Log-Source"], body));
        context.Response.StatusCode = 200;
        context.Response.Close();
    }

    /// <summary>Every entry posted so far (a batch's entries one by one), once <paramref name="done"/> holds.</summary>
    public async Task<List<JsonNode>> UntilAsync(Func<List<JsonNode>, bool> done)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var entries = Posts.SelectMany(p => JsonNode.Parse(p.Body) is JsonArray array ? array.Select(e => e!) : [JsonNode.Parse(p.Body)!]).ToList();
            if (done(entries))
                return entries;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the collector has {entries.Count} entries in {Posts.Count} posts");
            await Task.Delay(100);
        }
    }
}

internal sealed record Post(string Method, string Path, string? Authorization, string? ContentType, string? Source, string Body);
