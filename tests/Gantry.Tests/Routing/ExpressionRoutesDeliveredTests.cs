using System.Net;
using System.Text.Json.Nodes;
using Gantry.Tests.Clustering;
using Gantry.Tests.Proxy;
using Gantry.Tests.Support;

namespace Gantry.Tests.Routing;

/// <summary>
/// Expression routes that arrive other than through the Admin API: a declarative file a db-less node starts
/// from, <c>config db_import</c> into either store, and a control plane's push to a data plane. Each node runs
/// router_flavor = expressions and proxies real requests to a loopback upstream by the routes' priorities.
/// </summary>
public sealed class ExpressionRoutesDeliveredTests
{
    private const string Flavor = "GANTRY_ROUTER_FLAVOR";

    // Three routes that all match /x/items/7: the tenant header picks the highest priority, the path's
    // segments the next; anything else under /x/ falls to priority 0.
    private static string Document(int upstreamPort) => $$"""
        _format_version: "3.0"
        services:
        - name: echo
          url: http://127.0.0.1:{{upstreamPort}}/up
          routes:
          - name: general
            expression: 'http.path ^= "/x/"'
          - name: tenant
            expression: 'http.path ^= "/x/" && any(lower(http.headers.x_tenant)) == "acme"'
            priority: 10
          - name: item
            expression: 'http.path.segments.0 == "x" && http.path.segments.1 == "items" && http.path.segments.len == 3'
            priority: 5
            strip_path: false
        """;

    private static async Task<string> WriteAsync(TestInstallation gantry, string text)
    {
        var file = Path.Combine(gantry.Prefix, "kong.yml");
        await File.WriteAllTextAsync(file, text);
        return file;
    }

    private static async Task<string> UpstreamPathAsync(string proxyUrl, string path, string? tenant = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, proxyUrl + path);
        if (tenant is not null)
            request.Headers.Add("X-Tenant", tenant);
        using var response = await ProxyNode.Http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["path"]!.GetValue<string>();
    }

    private static async Task AssertRoutedByPriorityAsync(string proxyUrl)
    {
        await ProxyNode.UntilRoutedAsync(proxyUrl + "/x/other", HybridWaits.Propagation);
        Assert.Equal("/up/items/7", await UpstreamPathAsync(proxyUrl, "/x/items/7", tenant: "Acme"));
        Assert.Equal("/up/x/items/7", await UpstreamPathAsync(proxyUrl, "/x/items/7"));
        Assert.Equal("/up/other", await UpstreamPathAsync(proxyUrl, "/x/other"));
        Assert.Equal(HttpStatusCode.NotFound, (await ProxyNode.Http.GetAsync(proxyUrl + "/y/items/7")).StatusCode);
    }

    [Fact]
    public async Task A_db_less_node_starts_from_a_file_of_expression_routes()
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await TestInstallation.CreateAsync("off");
        gantry.Environment[Flavor] = "expressions";
        gantry.Environment["GANTRY_DECLARATIVE_CONFIG"] = await WriteAsync(gantry, Document(upstream.Port));
        await using var node = gantry.Start("start");
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));

        await AssertRoutedByPriorityAsync(ProxyNode.ProxyUrl(gantry));
    }

    [Fact]
    public async Task A_file_with_an_invalid_expression_is_refused_with_the_position_of_the_fault()
    {
        await using var gantry = await TestInstallation.CreateAsync("off");
        gantry.Environment[Flavor] = "expressions";
        gantry.Environment["GANTRY_DECLARATIVE_CONFIG"] = await WriteAsync(gantry, """
            _format_version: "3.0"
            routes:
            - name: bad
              expression: 'http.path ^= "/a" && http.port == 80'
            """);

        var result = await gantry.RunAsync("start");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Router Expression failed validation: Unknown LHS field 'http.port' (at line 1, column 22)", result.Stderr);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Config_db_import_stores_expression_routes_that_a_node_then_serves(string store)
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.Environment[Flavor] = "expressions";
        gantry.Environment["GANTRY_DB_UPDATE_FREQUENCY"] = "0.2";
        var bootstrap = await gantry.RunAsync("migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        var import = await gantry.RunAsync("config", "db_import", await WriteAsync(gantry, Document(upstream.Port)));
        Assert.True(import.ExitCode == 0, import.ToString());
        Assert.Contains("routes: 3 created", import.Stdout);

        await using var node = gantry.Start("start");
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        await AssertRoutedByPriorityAsync(ProxyNode.ProxyUrl(gantry));
        var tenant = JsonNode.Parse(await ProxyNode.Http.GetStringAsync(gantry.AdminUrl + "/routes/tenant"))!;
        Assert.Equal(10, tenant["priority"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_control_plane_pushes_expression_routes_to_a_data_plane_that_serves_them()
    {
        await using var upstream = new EchoUpstream();
        var certificate = ClusterCertificates.Shared();
        await using var controlPlane = await HybridNode.ControlPlaneAsync("sqlite", certificate);
        controlPlane.Environment[Flavor] = "expressions";
        await controlPlane.StartAsync();
        await using var dataPlane = await HybridNode.DataPlaneAsync(controlPlane, certificate);
        dataPlane.Environment[Flavor] = "expressions";
        await dataPlane.StartAsync();

        var import = await controlPlane.Installation.RunAsync("config", "db_import", await WriteAsync(controlPlane.Installation, Document(upstream.Port)));
        Assert.True(import.ExitCode == 0, import.ToString());
        try
        {
            await AssertRoutedByPriorityAsync(dataPlane.ProxyUrl);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\n--- data plane ---\n{dataPlane.Logs}\n--- control plane ---\n{controlPlane.Logs}");
        }

        // A route written on the control plane's Admin API travels too, and outranks by its priority.
        await ProxyNode.CreateAsync(controlPlane.Installation, "/services/echo/routes",
            new { name = "top", expression = "http.path == \"/x/other\"", priority = 20, strip_path = false });
        await HybridWaits.UntilAsync(async () => await UpstreamPathAsync(dataPlane.ProxyUrl, "/x/other") == "/up/x/other", "the new route on the data plane");
    }
}
