using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Gantry.Node;
using Gantry.Tests.Proxy;
using Gantry.Tests.Support;

namespace Gantry.Tests.Node;

/// <summary>
/// Replacing a node without dropping a request: 'gantry quit', SIGQUIT and SIGTERM drain a real node
/// (bin/gantry, on SQLite, and on PostgreSQL for 'quit') serving a real upstream that holds its answers back.
/// </summary>
public sealed class DrainTests
{
    /// <summary>A node serving <paramref name="upstream"/> on /slow, draining for at most <paramref name="drainSeconds"/>.</summary>
    private static async Task<(TestInstallation Gantry, GantryProcess Node)> StartAsync(EchoUpstream upstream, int drainSeconds, string store = "sqlite")
    {
        var gantry = await TestInstallation.CreateAsync(store);
        gantry.Environment["GANTRY_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT"] = $"{drainSeconds}s";
        var node = await ProxyNode.StartAsync(gantry);
        await ProxyNode.ServeAsync(gantry, "slow", $"http://127.0.0.1:{upstream.Port}", "/slow");
        Assert.Equal(HttpStatusCode.OK, (await ProxyNode.UntilRoutedAsync(ProxyNode.ProxyUrl(gantry) + "/slow", TimeSpan.FromSeconds(10))).StatusCode);
        var ready = await ProxyNode.Http.GetAsync(gantry.StatusUrl + "/status/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        return (gantry, node);
    }

    /// <summary>A request the upstream answers after <paramref name="holdMs"/>, sent once the route serves, on a connection of its own.</summary>
    private static async Task<(HttpClient Client, Task<HttpResponseMessage> Response)> SendHeldAsync(TestInstallation gantry, int holdMs)
    {
        var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        // A first request leaves a kept-alive connection, which the held one reuses.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(ProxyNode.ProxyUrl(gantry) + "/slow")).StatusCode);
        var response = client.GetAsync(ProxyNode.ProxyUrl(gantry) + $"/slow?sleep={holdMs}");
        // Long enough for the request to reach the upstream before the drain begins.
        await Task.Delay(300);
        Assert.False(response.IsCompleted);
        return (client, response);
    }

    private static async Task<HttpResponseMessage> UntilDrainingAsync(TestInstallation gantry) =>
        await ProxyNode.UntilAsync(() => ProxyNode.Http.GetAsync(gantry.StatusUrl + "/status/ready"),
            r => r.StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(15));

    private static int PortOf(string listen) => int.Parse(listen.Split(':')[^1]);

    /// <summary>
    /// The listener closes just after readiness turns 503 (that order is the drain's): a connection made in
    /// between may still be accepted, or reset as the listener closes, so the check polls for a few seconds
    /// until connections are refused.
    /// </summary>
    private static async Task AssertRefusedAsync(string listen)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var tcp = new TcpClient();
            SocketError? outcome = null;
            try
            {
                await tcp.ConnectAsync(IPAddress.Loopback, PortOf(listen));
            }
            catch (SocketException e)
            {
                outcome = e.SocketErrorCode;
            }
            if (outcome == SocketError.ConnectionRefused || clock.Elapsed > TimeSpan.FromSeconds(5))
            {
                Assert.Equal(SocketError.ConnectionRefused, outcome);
                return;
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Everything a drain promises, whichever way it was asked for.</summary>
    private static async Task AssertDrainsAsync(TestInstallation gantry, GantryProcess node, Task<HttpResponseMessage> held, Stopwatch clock)
    {
        var ready = await UntilDrainingAsync(gantry);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("draining", (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        // Still in flight: readiness turned before the answer came back.
        Assert.False(held.IsCompleted);
        await AssertRefusedAsync(gantry.Environment["GANTRY_PROXY_LISTEN"]);
        await AssertRefusedAsync(gantry.Environment["GANTRY_ADMIN_LISTEN"]);
        // The Status API keeps answering until the process exits.
        Assert.Equal(HttpStatusCode.OK, (await ProxyNode.Http.GetAsync(gantry.StatusUrl + "/status")).StatusCode);

        var response = await held;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/?sleep=3000", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("path").GetString());
        // The kept-alive connection is told to close, so that its client goes to another node.
        Assert.True(response.Headers.ConnectionClose, response.Headers.ToString());

        var exited = await node.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(exited.ExitCode == 0, exited.ToString());
        // The held request (3 s) bounds the drain, not the 10 s timeout.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(9), $"the node took {clock.Elapsed} to exit");
        Assert.Contains("draining", exited.All);
        Assert.False(File.Exists(Path.Combine(gantry.Prefix, "pids", "gantry.pid")));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Quit_finishes_the_request_in_flight_refuses_new_connections_and_exits_0(string store)
    {
        await using var upstream = new EchoUpstream();
        var (gantry, node) = await StartAsync(upstream, drainSeconds: 10, store);
        await using var _ = gantry;
        await using var __ = node;
        var (client, held) = await SendHeldAsync(gantry, 3000);
        using var ___ = client;

        var clock = Stopwatch.StartNew();
        var quit = gantry.RunAsync("quit");
        await AssertDrainsAsync(gantry, node, held, clock);

        var result = await quit;
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Gantry stopped (gracefully)", result.Stdout);
    }

    [Fact]
    public async Task Sigterm_drains_the_same_way()
    {
        await using var upstream = new EchoUpstream();
        var (gantry, node) = await StartAsync(upstream, drainSeconds: 10);
        await using var _ = gantry;
        await using var __ = node;
        var (client, held) = await SendHeldAsync(gantry, 3000);
        using var ___ = client;

        var clock = Stopwatch.StartNew();
        Assert.True(ProcessSignals.Send(node.Pid, ProcessSignals.SigTerm));
        await AssertDrainsAsync(gantry, node, held, clock);
    }

    [Fact]
    public async Task A_request_held_past_the_timeout_is_cut_and_the_node_still_exits_0()
    {
        await using var upstream = new EchoUpstream();
        var (gantry, node) = await StartAsync(upstream, drainSeconds: 2);
        await using var _ = gantry;
        await using var __ = node;
        var (client, held) = await SendHeldAsync(gantry, 8000);
        using var ___ = client;

        // quit gives up waiting before the node does, and says so with its own exit code.
        var clock = Stopwatch.StartNew();
        var quit = await gantry.RunAsync("quit", "--timeout", "0.5");
        Assert.True(quit.ExitCode == 9, quit.ToString());
        Assert.Contains("Error: Gantry (pid ", quit.Stderr);
        Assert.Contains("is still draining after 0.5s", quit.Stderr);

        var exited = await node.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(exited.ExitCode == 0, exited.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"the node took {clock.Elapsed} to exit after a 2 s drain timeout");
        Assert.Contains("still busy after 2 s", exited.All);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => held);
    }

    /// <summary>
    /// A script's background job ('gantry start &amp;') inherits SIGINT and SIGQUIT ignored; the node must
    /// still hear 'quit' (SIGQUIT) and 'stop' (SIGINT).
    /// </summary>
    [Theory]
    [InlineData("quit", "Gantry stopped (gracefully)")]
    [InlineData("stop", "Gantry stopped")]
    public async Task A_node_started_with_the_signals_ignored_still_answers(string command, string printed)
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("trap '' INT QUIT; exec \"$0\" start");
        start.ArgumentList.Add(GantryProcess.Executable);
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("GANTRY_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        foreach (var (key, value) in gantry.Environment)
            start.Environment[key] = value;
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        try
        {
            var ready = await ProxyNode.UntilAsync(async () =>
            {
                try
                {
                    return (await ProxyNode.Http.GetAsync(gantry.StatusUrl + "/status/ready")).StatusCode;
                }
                catch (HttpRequestException)
                {
                    return HttpStatusCode.ServiceUnavailable;
                }
            }, status => status == HttpStatusCode.OK || node.HasExited, TimeSpan.FromSeconds(60));
            Assert.Equal(HttpStatusCode.OK, ready);
            var ignored = File.ReadAllLines($"/proc/{node.Id}/status").Single(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
            // Bits 1 and 2 are SIGINT and SIGQUIT: no longer ignored once the node runs.
            Assert.Equal(0, Convert.ToInt64(ignored["SigIgn:".Length..].Trim(), 16) & 0b110);

            var result = await gantry.RunAsync(command);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains(printed, result.Stdout);
            await node.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
            Assert.True(node.ExitCode == 0, $"exit {node.ExitCode}\n{await output}\n{await errors}");
        }
        finally
        {
            if (!node.HasExited)
                node.Kill();
        }
    }

    [Theory]
    [InlineData("500ms", 0.5)]
    [InlineData("30", 30)]
    [InlineData("2m", 120)]
    [InlineData("1h", 3600)]
    public void The_drain_timeout_reads_nginx_times(string value, double seconds)
    {
        var loaded = Gantry.Configuration.ConfLoader.LoadText($"nginx_main_worker_shutdown_timeout = {value}");

        Assert.Empty(loaded.Errors);
        Assert.Equal(TimeSpan.FromSeconds(seconds), loaded.Config!.WorkerShutdownTimeout);
    }

    [Theory]
    [InlineData("10 seconds")]
    [InlineData("-1s")]
    [InlineData("1.5s")]
    public void A_drain_timeout_nginx_would_not_read_is_refused(string value)
    {
        var loaded = Gantry.Configuration.ConfLoader.LoadText($"nginx_main_worker_shutdown_timeout = {value}");

        var error = Assert.Single(loaded.Errors);
        Assert.Contains($"nginx_main_worker_shutdown_timeout: expected a time such as 10s, 500ms, 1m or 30, got '{value}'", error.ToString());
    }

    [Fact]
    public async Task Quit_without_a_running_node_is_an_error()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");

        var quit = await gantry.RunAsync("quit");

        Assert.True(quit.ExitCode == 1, quit.ToString());
        Assert.Contains($"Error: Gantry is not running at {gantry.Prefix}", quit.Stderr);
    }
}
