using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;

namespace Gantry.Tests.Support;

/// <summary>Starting a node for proxy tests, writing entities through its Admin API, and waiting for routes to serve.</summary>
public static class ProxyNode
{
    public static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Bootstraps (on PostgreSQL) and starts a node that picks up changes every 0.2 s.</summary>
    public static async Task<GantryProcess> StartAsync(TestInstallation gantry)
    {
        gantry.Environment["GANTRY_DB_UPDATE_FREQUENCY"] = "0.2";
        if (gantry.IsPostgres)
            Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        var node = gantry.Start("start");
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        return node;
    }

    /// <summary>The first proxy_listen address, as an http:// URL.</summary>
    public static string ProxyUrl(TestInstallation gantry) => ProxyUrl(gantry.Environment);

    /// <summary>POSTs an entity through the Admin API and asserts it was created.</summary>
    public static async Task CreateAsync(TestInstallation gantry, string path, object body)
    {
        var response = await Http.PostAsJsonAsync(gantry.AdminUrl + path, body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Creates a service at <paramref name="url"/> and a route on <paramref name="path"/> to it.</summary>
    public static async Task ServeAsync(TestInstallation gantry, string name, string url, string path)
    {
        await CreateAsync(gantry, "/services", new { name, url });
        await CreateAsync(gantry, $"/services/{name}/routes", new { paths = new[] { path } });
    }

    /// <summary>Polls until the proxy answers the path with something other than Kong's no-route 404.</summary>
    public static Task<HttpResponseMessage> UntilRoutedAsync(string url, TimeSpan timeout) =>
        UntilAsync(() => Http.GetAsync(url), response => response.StatusCode != HttpStatusCode.NotFound, timeout);

    /// <summary>Repeats an action until its result satisfies the condition or the time is up, and returns the last result.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> action, Func<T, bool> done, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var result = await action();
            if (done(result) || clock.Elapsed > timeout)
                return result;
            await Task.Delay(50);
        }
    }

    /// <summary>The node's <c>GET /status</c> from its Status API.</summary>
    public static async Task<System.Text.Json.JsonElement> StatusAsync(IReadOnlyDictionary<string, string> node) =>
        await Http.GetFromJsonAsync<System.Text.Json.JsonElement>("http://" + node["GANTRY_STATUS_LISTEN"] + "/status");

    /// <summary>The first proxy_listen address of a node's environment, as an http:// URL.</summary>
    public static string ProxyUrl(IReadOnlyDictionary<string, string> environment) => "http://" + environment["GANTRY_PROXY_LISTEN"].Split(',')[0].Trim();

    /// <summary>The environment of another node of the same installation: its own prefix and listeners, the same database.</summary>
    public static Dictionary<string, string> SecondNode(TestInstallation gantry) => new(gantry.Environment)
    {
        ["GANTRY_PREFIX"] = Path.Combine(gantry.Prefix, "node-b"),
        ["GANTRY_PROXY_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
        ["GANTRY_ADMIN_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
        ["GANTRY_STATUS_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
    };
}
