using System.Net;
using System.Text.Json.Nodes;
using Gantry.Tests.Proxy;
using Gantry.Tests.Support;

namespace Gantry.Tests.Plugins;

/// <summary>
/// What the end-to-end plugin tests share: a loopback echo upstream, a per-test name prefix so that
/// tests on one node do not collide, and requests through the node's proxy that wait until the
/// configuration written through the Admin API has reached it.
/// </summary>
public abstract class ProxyPluginTests(AdminNode node) : IAsyncLifetime
{
    protected static readonly HttpClient Client = new(new SocketsHttpHandler { UseCookies = false }) { Timeout = TimeSpan.FromSeconds(30) };

    protected AdminNode Node { get; } = node;

    protected EchoUpstream Upstream { get; } = new();

    /// <summary>Starts the names of everything a test creates.</summary>
    protected string Prefix { get; } = "t" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>The node's first (plain) proxy listener.</summary>
    protected string Proxy => "http://" + Node.Installation.Environment["GANTRY_PROXY_LISTEN"].Split(',')[0].Trim();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await Upstream.DisposeAsync();

    /// <summary>A service on the echo upstream and a route on /{name}; returns the route's path.</summary>
    protected async Task<string> RouteAsync(string name, string? service = null)
    {
        service ??= Prefix + "-" + name;
        if ((await Node.GetAsync("/services/" + service)).Status == 404)
            await Node.CreateAsync("/services", new { name = service, url = $"http://127.0.0.1:{Upstream.Port}" });
        await Node.CreateAsync($"/services/{service}/routes", new { name = Prefix + "-" + name, paths = new[] { $"/{Prefix}/{name}" } });
        return $"/{Prefix}/{name}";
    }

    protected async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, Proxy + path);
        foreach (var (name, value) in headers)
            request.Headers.TryAddWithoutValidation(name, value);
        return await Client.SendAsync(request);
    }

    protected Task<HttpResponseMessage> GetAsync(string path, params (string Name, string Value)[] headers) => SendAsync(HttpMethod.Get, path, headers);

    /// <summary>Sends until the answer satisfies the condition: configuration reaches the proxy within db_update_frequency.</summary>
    protected async Task<HttpResponseMessage> UntilAsync(Func<Task<HttpResponseMessage>> send, Func<HttpResponseMessage, bool> done)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var response = await send();
            if (done(response))
                return response;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the proxy still answers {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(50);
        }
    }

    protected static async Task<JsonObject> EchoedHeaders(HttpResponseMessage response) =>
        (JsonNode.Parse(await response.Content.ReadAsStringAsync())!["headers"] as JsonObject)!;

    protected static async Task<string> Message(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!["message"]!.GetValue<string>();

    protected static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values)
        : response.Content.Headers.TryGetValues(name, out var content) ? string.Join(", ", content) : "";
}
