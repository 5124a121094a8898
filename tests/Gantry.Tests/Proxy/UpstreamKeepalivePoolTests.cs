using System.Net;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Proxy;

/// <summary>
/// upstream_keepalive_pool_size bounds the idle connections Gantry's HTTP/1.1 forwarder keeps to one upstream:
/// per event loop under proxy_io = epoll, as per nginx worker in Kong, and per node on the runtime's sockets.
/// </summary>
public sealed class UpstreamKeepalivePoolTests
{
    private static readonly byte[] Ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray();

    [Theory]
    [InlineData(ProxyIo.Epoll)]
    [InlineData(ProxyIo.Inline)]
    [InlineData(ProxyIo.Pooled)]
    public async Task The_pool_size_bounds_the_idle_upstream_connections_that_later_requests_reuse(ProxyIo io)
    {
        await using var upstream = new ScriptedUpstream(async (request, stream) =>
        {
            if (request.Path.StartsWith("/burst", StringComparison.Ordinal))
                await Task.Delay(300); // held, so that the burst's requests each need a connection of their own
            await stream.WriteAsync(Ok);
            return true;
        });
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        gantry.Environment["GANTRY_PROXY_FORWARDER"] = "auto";
        gantry.Environment["GANTRY_UPSTREAM_KEEPALIVE_POOL_SIZE"] = "1";
        ForwarderSuite.Configure(gantry.Environment, io);
        await using var node = await StartAsync(gantry);
        await CreateAsync(gantry, "/services", new { name = "scripted", url = $"http://127.0.0.1:{upstream.Port}" });
        await CreateAsync(gantry, "/services/scripted/routes", new { name = "scripted", paths = new[] { "/burst", "/after", "/ready" }, strip_path = false });
        Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(ProxyUrl(gantry) + "/ready", TimeSpan.FromSeconds(20))).StatusCode);
        var kept = io == ProxyIo.Epoll ? Environment.ProcessorCount : 1;

        // Eight requests at once, each on a client connection of its own: eight upstream connections.
        var burst = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => OnNewConnectionAsync(ProxyUrl(gantry) + $"/burst/{i}")));
        Assert.All(burst, status => Assert.Equal(HttpStatusCode.OK, status));
        var opened = upstream.ConnectionsFor("/burst/");
        Assert.Equal(8, opened.Count);
        // Returned to the pool, all but the ones it has room for are closed.
        Assert.InRange(await UntilAsync(() => Task.FromResult(opened.Count(c => !c.Closed.IsCompleted)), open => open <= kept, TimeSpan.FromSeconds(5)), 0, kept);

        // Later requests, each on a new client connection (so spread over the loops), reuse pooled connections:
        // at most one new connection per place in the pool (one that the ticker closed because its client went
        // away just before it was returned is replaced), not one per request.
        for (var i = 0; i < 16; i++)
            Assert.Equal(HttpStatusCode.OK, await OnNewConnectionAsync(ProxyUrl(gantry) + $"/after/{i}"));
        var after = upstream.ConnectionsFor("/after/");
        Assert.Equal(16, after.Sum(c => c.Requests.Count(r => r.Path.StartsWith("/after/", StringComparison.Ordinal))));
        Assert.InRange(after.Count(c => !opened.Contains(c)), 0, kept);
    }

    private static async Task<HttpStatusCode> OnNewConnectionAsync(string url)
    {
        using var client = new HttpClient();
        return (await client.GetAsync(url)).StatusCode;
    }
}
