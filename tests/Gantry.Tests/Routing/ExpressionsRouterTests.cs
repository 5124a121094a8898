using System.Net;
using Gantry.Tests.Plugins;
using Gantry.Tests.Support;

namespace Gantry.Tests.Routing;

/// <summary>A node started with router_flavor = expressions.</summary>
public abstract class ExpressionsNode(string store) : AdminNode(store)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["GANTRY_ROUTER_FLAVOR"] = "expressions",
        ["GANTRY_DB_UPDATE_FREQUENCY"] = "0.2",
    };
}

public sealed class SqliteExpressionsNode() : ExpressionsNode("sqlite");

public sealed class PostgresExpressionsNode() : ExpressionsNode("postgres");

/// <summary>
/// Expression routes written through the Admin API, validated there with the position of the fault, stored,
/// compiled into the node's router and matched by priority, proxying to a real loopback upstream.
/// </summary>
public abstract class ExpressionsRouterTests(ExpressionsNode node) : ProxyPluginTests(node)
{
    private async Task ServiceAsync(string name) =>
        await Node.CreateAsync("/services", new { name = Prefix + "-" + name, url = $"http://127.0.0.1:{Upstream.Port}/up" });

    private static async Task<string> UpstreamPath(HttpResponseMessage response) =>
        System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!["path"]!.GetValue<string>();

    [Fact]
    public async Task Expression_routes_match_by_priority_and_strip_the_matched_prefix()
    {
        await ServiceAsync("svc");
        var general = await Node.CreateAsync($"/services/{Prefix}-svc/routes", new
        {
            name = Prefix + "-general",
            expression = $"http.path ^= \"/{Prefix}/\" && http.method == \"GET\"",
        });
        Assert.Equal(0, general["priority"]!.GetValue<long>());
        await Node.CreateAsync($"/services/{Prefix}-svc/routes", new
        {
            name = Prefix + "-tenant",
            expression = $"http.path ^= \"/{Prefix}/\" && lower(http.headers.x_tenant) == \"acme\"",
            priority = 10,
        });
        await Node.CreateAsync($"/services/{Prefix}-svc/routes", new
        {
            name = Prefix + "-loopback",
            expression = $"http.path ~ r#\"^/{Prefix}/items/\\d+$\"# && net.src.ip in 127.0.0.0/8 && net.dst.port > 0",
            priority = 5,
            strip_path = false,
        });

        // The route written last serves once the snapshot holds all three (it keeps its prefix: strip_path is off).
        var loopback = await UntilAsync(() => GetAsync($"/{Prefix}/items/7"),
            r => r.StatusCode == HttpStatusCode.OK && UpstreamPath(r).Result == $"/up/{Prefix}/items/7");
        Assert.Equal($"/up/{Prefix}/items/7", await UpstreamPath(loopback));

        // The highest priority that matches wins, whatever the order the routes were written in.
        var tenant = await GetAsync($"/{Prefix}/items/7", ("X-Tenant", "ACME"));
        Assert.Equal(HttpStatusCode.OK, tenant.StatusCode);
        Assert.Equal("/up/items/7", await UpstreamPath(tenant));

        var fallback = await GetAsync($"/{Prefix}/other");
        Assert.Equal("/up/other", await UpstreamPath(fallback));

        var post = await SendAsync(HttpMethod.Post, $"/{Prefix}/other");
        Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
        Assert.Equal("no Route matched with those values", await Message(post));
    }

    [Fact]
    public async Task An_invalid_expression_is_refused_with_its_position()
    {
        var (status, body) = await Node.PostAsync("/routes", new { expression = "http.path == \"/a\" && http.port == 80" });
        Assert.Equal(400, status);
        Assert.Equal("schema violation", body!["name"]!.GetValue<string>());
        Assert.Equal("Router Expression failed validation: Unknown LHS field 'http.port' (at line 1, column 22)",
            body["fields"]!["@entity"]![0]!.GetValue<string>());

        (status, body) = await Node.PostAsync("/routes", new { expression = "http.path ^= 5" });
        Assert.Equal(400, status);
        Assert.Contains("Type mismatch between the LHS and RHS values of predicate", body!["fields"]!["@entity"]![0]!.GetValue<string>());

        (status, body) = await Node.PostAsync("/routes", new { expression = "http.path ^= \"/a\"", paths = new[] { "/a" } });
        Assert.Equal(400, status);
        Assert.Equal("Router Expression failed validation: cannot set 'expression' with 'methods', 'hosts', 'paths', 'headers', 'snis', 'sources' or 'destinations' simultaneously",
            body!["fields"]!["@entity"]![0]!.GetValue<string>());

        (status, body) = await Node.PostAsync("/routes", new { expression = "http.path ^= \"/a\"", priority = -1 });
        Assert.Equal(400, status);
        Assert.NotNull(body!["fields"]!["priority"]);
    }

    [Fact]
    public async Task An_http_route_with_sources_or_destinations_matches_only_requests_that_meet_them()
    {
        await ServiceAsync("net");
        var proxyPort = new Uri(Proxy).Port;
        async Task Route(string name, object? sources, object? destinations) =>
            await Node.CreateAsync($"/services/{Prefix}-net/routes", new { name = Prefix + "-" + name, paths = new[] { $"/{Prefix}/{name}" }, sources, destinations });
        await Route("loopback", new[] { new { ip = "127.0.0.0/8" } }, null);
        await Route("far", new[] { new { ip = "10.0.0.0/8" } }, null);
        await Route("listener", null, new[] { new { port = proxyPort } });
        await Route("elsewhere", null, new[] { new { port = proxyPort + 1 } });
        await Route("either", new object[] { new { ip = "10.0.0.1" }, new { ip = "127.0.0.1" } }, new[] { new { ip = "127.0.0.1", port = proxyPort } });

        // The route written last serves once the snapshot holds all five.
        Assert.Equal(HttpStatusCode.OK, (await UntilAsync(() => GetAsync($"/{Prefix}/either"), r => r.StatusCode == HttpStatusCode.OK)).StatusCode);
        var loopback = await GetAsync($"/{Prefix}/loopback");
        Assert.Equal(HttpStatusCode.OK, loopback.StatusCode);
        Assert.Equal("/up", await UpstreamPath(loopback));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync($"/{Prefix}/listener")).StatusCode);
        foreach (var unmet in (string[])["far", "elsewhere"])
        {
            var refused = await GetAsync($"/{Prefix}/{unmet}");
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
            Assert.Equal("no Route matched with those values", await Message(refused));
        }
    }

    [Fact]
    public async Task The_schema_endpoint_describes_the_expressions_fields()
    {
        var (status, body) = await Node.GetAsync("/schemas/routes");
        Assert.Equal(200, status);
        var fields = body!["fields"]!.AsArray().Select(f => f!.AsObject().Single()).ToDictionary(f => f.Key, f => f.Value!);
        Assert.Equal("string", fields["expression"]["type"]!.GetValue<string>());
        Assert.Equal("integer", fields["priority"]["type"]!.GetValue<string>());
        Assert.Equal("[0,70368744177663]", fields["priority"]["between"]!.ToJsonString());
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class SqliteExpressionsRouterTests(SqliteExpressionsNode node) : ExpressionsRouterTests(node), IClassFixture<SqliteExpressionsNode>;

[Collection(AdminApiCollection.Name)]
public sealed class PostgresExpressionsRouterTests(PostgresExpressionsNode node) : ExpressionsRouterTests(node), IClassFixture<PostgresExpressionsNode>;
