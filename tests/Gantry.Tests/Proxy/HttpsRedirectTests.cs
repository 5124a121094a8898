using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gantry.Tests.Plugins;
using Gantry.Tests.Support;

namespace Gantry.Tests.Proxy;

/// <summary>A plain HTTP request on a route that accepts only HTTPS: 426, or the route's redirect status.</summary>
public sealed class HttpsRedirectTests(SqliteProxyNode node) : IClassFixture<SqliteProxyNode>
{
    private static readonly HttpClient Client = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task Https_only_routes_ask_plain_requests_to_upgrade_or_redirect_them()
    {
        await using var upstream = new EchoUpstream();
        await node.CreateAsync("/services", new { name = "tls-only", url = $"http://127.0.0.1:{upstream.Port}" });
        await node.CreateAsync("/services/tls-only/routes", new { name = "upgrade", paths = new[] { "/upgrade" }, protocols = new[] { "https" } });
        await node.CreateAsync("/services/tls-only/routes", new { name = "moved", paths = new[] { "/moved" }, protocols = new[] { "https" }, https_redirect_status_code = 308 });
        await node.CreateAsync("/services/tls-only/routes", new { name = "both", paths = new[] { "/both" } });
        var proxy = "http://" + node.Installation.Environment["GANTRY_PROXY_LISTEN"];

        // The route created last serving means the others are in the snapshot too.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((await Client.GetAsync(proxy + "/both")).StatusCode == HttpStatusCode.NotFound && clock.Elapsed < TimeSpan.FromSeconds(20))
            await Task.Delay(50);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync(proxy + "/both")).StatusCode);

        var response = await Client.GetAsync(proxy + "/moved/a%20b?x=1");
        Assert.Equal(HttpStatusCode.PermanentRedirect, response.StatusCode);
        Assert.Equal("https://127.0.0.1/moved/a%20b?x=1", response.Headers.Location!.OriginalString);

        var upgrade = await Client.GetAsync(proxy + "/upgrade");
        Assert.Equal((HttpStatusCode)426, upgrade.StatusCode);
        Assert.Equal("Please use HTTPS protocol", (await upgrade.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        Assert.Contains("TLS/1.2", string.Join(",", upgrade.Headers.Upgrade));
    }
}
