using System.Net;
using System.Net.Sockets;
using System.Text;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Proxy;

/// <summary>
/// An upstream that drops a keep-alive connection the proxy has pooled (an nginx reload, an idle timeout
/// racing the next request) must not cost the client its request: the request goes again on a new
/// connection, as nginx (and so Kong) does, without counting against the service's retries.
/// </summary>
public abstract class StalePooledConnectionSuite(string forwarder) : ForwarderSuite(forwarder)
{
    [Theory]
    [InlineData("reset")]
    [InlineData("close")]
    public async Task A_request_that_meets_a_dropped_pooled_connection_is_sent_again_on_a_new_one(string how)
    {
        await using var upstream = new OneRequestPerConnectionUpstream(reset: how == "reset");
        await using var gantry = await InstallAsync("sqlite");
        await using var node = await StartAsync(gantry);
        await CreateAsync(gantry, "/services", new { name = "stale", url = $"http://127.0.0.1:{upstream.Port}", retries = 0 });
        await CreateAsync(gantry, "/services/stale/routes", new { paths = new[] { "/stale" } });
        Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(ProxyUrl(gantry) + "/stale", TimeSpan.FromSeconds(15))).StatusCode);

        // Each request after the first finds the connection of the one before in the pool, which the
        // upstream drops on reading the request; only a retry on a new connection gets an answer.
        for (var i = 0; i < 5; i++)
        {
            var response = await Http.GetAsync(ProxyUrl(gantry) + "/stale?n=" + i);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("served", await response.Content.ReadAsStringAsync());
        }
        Assert.True(upstream.Dropped >= 5, $"the upstream dropped {upstream.Dropped} pooled connections");

        // A body that may already have been read cannot be sent again: a POST meets a 502, not a replay.
        var post = await Http.PostAsync(ProxyUrl(gantry) + "/stale", new StringContent("once"));
        Assert.Equal(HttpStatusCode.BadGateway, post.StatusCode);
    }

    /// <summary>Answers the first request of each connection with keep-alive, then drops the connection when the next request arrives.</summary>
    private sealed class OneRequestPerConnectionUpstream : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly bool _reset;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;
        private int _dropped;

        public OneRequestPerConnectionUpstream(bool reset)
        {
            _reset = reset;
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Dropped => Volatile.Read(ref _dropped);

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
                _ = ServeAsync(socket);
            }
        }

        private async Task ServeAsync(Socket socket)
        {
            using (socket)
            {
                try
                {
                    await ReadHeadAsync(socket);
                    await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: keep-alive\r\n\r\nserved"));
                    if (!await ReadHeadAsync(socket))
                        return;
                    Interlocked.Increment(ref _dropped);
                    if (_reset)
                        socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            }
        }

        /// <summary>Reads up to the end of a request head; false when the peer closed first.</summary>
        private static async Task<bool> ReadHeadAsync(Socket socket)
        {
            var buffer = new byte[8192];
            var seen = new StringBuilder();
            while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await socket.ReceiveAsync(buffer);
                if (read == 0)
                    return false;
                seen.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
            return true;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            _stop.Dispose();
        }
    }
}

public sealed class StalePooledConnectionTests() : StalePooledConnectionSuite("auto");

public sealed class StalePooledConnectionTestsYarp() : StalePooledConnectionSuite("yarp");
