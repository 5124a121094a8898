using System.Globalization;
using System.Net;
using Gantry.Tests.Proxy;
using Gantry.Tests.Support;

namespace Gantry.Tests.Plugins;

/// <summary>
/// The prometheus plugin end to end: a global instance counts the requests of every route in the node,
/// and <c>GET /metrics</c> of the Status and Admin APIs shows Kong's metric names; on both stores.
/// </summary>
public abstract class PrometheusTests(AdminNode node) : ProxyPluginTests(node)
{
    private string StatusMetrics => Node.Installation.StatusUrl + "/metrics";

    private async Task<string> MetricsAsync(string url)
    {
        using var response = await Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The value of the one series of a metric whose line has every given label; null when there is none.</summary>
    private static double? Value(string metrics, string name, params string[] labels)
    {
        var lines = metrics.Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal))
            .Where(l => labels.All(label => l.Contains(label, StringComparison.Ordinal)))
            .ToList();
        Assert.True(lines.Count <= 1, "more than one series matches: " + string.Join(" | ", lines));
        return lines.Count == 0 ? null : double.Parse(lines[0][(lines[0].LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_global_instance_counts_requests_latencies_and_bytes_on_metrics()
    {
        var counted = await RouteAsync("counted");
        await Node.CreateAsync("/services", new { name = Prefix + "-down", url = "http://127.0.0.1:1" });
        await Node.CreateAsync($"/services/{Prefix}-down/routes", new { name = Prefix + "-down", paths = new[] { $"/{Prefix}/down" } });
        var keyed = await RouteAsync("keyed");
        await Node.CreateAsync($"/routes/{Prefix}-keyed/plugins", new { name = "key-auth" });
        var warm = await RouteAsync("warm");
        await Node.CreateAsync("/plugins", new
        {
            name = "prometheus",
            config = new { status_code_metrics = true, latency_metrics = true, bandwidth_metrics = true },
        });
        // Once a request on the route created last is counted, the instance runs on the others too.
        var warmRoute = $"route=\"{Prefix}-warm\"";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Value(await MetricsAsync(StatusMetrics), "kong_http_requests_total", warmRoute) is null)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the prometheus instance never counted a request");
            // 404 until the route reaches the proxy.
            await GetAsync(warm);
            await Task.Delay(50);
        }

        const int N = 7;
        for (var i = 0; i < N; i++)
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(counted + "/x")).StatusCode);
        var down = await GetAsync($"/{Prefix}/down");
        Assert.Equal(HttpStatusCode.BadGateway, down.StatusCode);
        // key-auth answers before prometheus' access phase; the request is counted all the same.
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(keyed)).StatusCode);

        // A request is counted in its log phase, which may end just after its client has the answer.
        var metrics = await ProxyNode.UntilAsync(() => MetricsAsync(StatusMetrics),
            m => Value(m, "kong_http_requests_total", $"route=\"{Prefix}-down\"", "code=\"502\"") is not null
                && Value(m, "kong_http_requests_total", $"route=\"{Prefix}-keyed\"", "code=\"401\"") is not null, TimeSpan.FromSeconds(5));
        var route = $"route=\"{Prefix}-counted\"";
        Assert.Equal(N, Value(metrics, "kong_http_requests_total",
            $"{{service=\"{Prefix}-counted\",{route},code=\"200\",source=\"service\",workspace=\"default\",consumer=\"\"}}"));
        // Gantry's own answer: the upstream could not be reached.
        Assert.Equal(1, Value(metrics, "kong_http_requests_total", $"route=\"{Prefix}-down\"", "code=\"502\"", "source=\"kong\""));
        Assert.Equal(1, Value(metrics, "kong_http_requests_total", $"route=\"{Prefix}-keyed\"", "code=\"401\"", "source=\"kong\""));
        Assert.Equal(N, Value(metrics, "kong_request_latency_ms_count", route));
        Assert.Equal(N, Value(metrics, "kong_request_latency_ms_bucket", route, "le=\"+Inf\""));
        Assert.Equal(N, Value(metrics, "kong_upstream_latency_ms_count", route));
        Assert.Equal(N, Value(metrics, "kong_kong_latency_ms_count", route));
        Assert.True(Value(metrics, "kong_bandwidth_bytes", route, "direction=\"egress\"") > 0);
        Assert.Equal(0, Value(metrics, "kong_bandwidth_bytes", route, "direction=\"ingress\""));
        Assert.Equal(1, Value(metrics, "kong_datastore_reachable"));
        Assert.Contains("# TYPE kong_http_requests_total counter\n", metrics);
        Assert.Contains("# TYPE kong_request_latency_ms histogram\n", metrics);
        Assert.True(Value(metrics, "kong_nginx_requests_total") > N);
        Assert.Equal(1, Value(metrics, "kong_node_info", "version=\""));
        Assert.True(Value(metrics, "kong_nginx_connections_total", "state=\"accepted\"") >= 1);

        // The Admin API serves the same metrics.
        var admin = await MetricsAsync(Node.Installation.AdminUrl + "/metrics");
        Assert.Equal(N, Value(admin, "kong_http_requests_total", route, "code=\"200\""));
    }

    [Fact]
    public async Task Upstream_health_metrics_show_each_target_address_in_its_state()
    {
        await RouteAsync("health");
        var upstream = Prefix + "-up";
        await Node.CreateAsync("/upstreams", new { name = upstream });
        var target = $"127.0.0.1:{Upstream.Port}";
        await Node.CreateAsync($"/upstreams/{upstream}/targets", new { target });
        await Node.CreateAsync($"/routes/{Prefix}-health/plugins", new { name = "prometheus", config = new { upstream_health_metrics = true } });
        var labels = $"kong_upstream_target_health{{upstream=\"{upstream}\",target=\"{target}\",address=\"{target}\"";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string metrics;
        while (!(metrics = await MetricsAsync(StatusMetrics)).Contains(labels, StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "no health series for the target: " + metrics);
            await Task.Delay(50);
        }
        Assert.Equal(1, Value(metrics, "kong_upstream_target_health", labels[28..], "state=\"healthchecks_off\""));
        Assert.Equal(0, Value(metrics, "kong_upstream_target_health", labels[28..], "state=\"healthy\""));
        Assert.Equal(0, Value(metrics, "kong_upstream_target_health", labels[28..], "state=\"unhealthy\""));
        Assert.Equal(0, Value(metrics, "kong_upstream_target_health", labels[28..], "state=\"dns_error\""));
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class SqlitePrometheusTests(SqliteProxyNode node) : PrometheusTests(node), IClassFixture<SqliteProxyNode>;

[Collection(AdminApiCollection.Name)]
public sealed class PostgresPrometheusTests(PostgresProxyNode node) : PrometheusTests(node), IClassFixture<PostgresProxyNode>;

/// <summary>Without prometheus in <c>plugins</c>, neither API serves /metrics.</summary>
[Collection(AdminApiCollection.Name)]
public sealed class PrometheusNotEnabledTests(Gantry.Tests.Admin.SqliteKeyAuthOnlyNode node) : IClassFixture<Gantry.Tests.Admin.SqliteKeyAuthOnlyNode>
{
    [Fact]
    public async Task Metrics_is_not_found_when_prometheus_is_not_enabled()
    {
        using var client = new HttpClient();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(node.Installation.StatusUrl + "/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(node.Installation.AdminUrl + "/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(node.Installation.StatusUrl + "/status")).StatusCode);
    }
}
