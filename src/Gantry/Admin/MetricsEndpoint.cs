using System.Globalization;
using System.Text;
using Gantry.Balancing;
using Gantry.Node;
using Gantry.Plugins.Prometheus;

namespace Gantry.Admin;

/// <summary>
/// <c>GET /metrics</c> of the prometheus plugin, on the Admin and Status APIs: the request metrics its
/// instances counted and the node's own, in Prometheus' text format 0.0.4 under Kong's names. Kong's
/// per-worker Lua memory has no counterpart; the process' working set is <c>gantry_memory_bytes</c>.
/// </summary>
internal sealed class MetricsEndpoint(NodeInfo info, DatabaseHealth health, NodeCounters counters, PrometheusMetrics metrics,
    HealthRegistry upstreams, Func<bool> upstreamHealthMetrics)
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly string[] HealthStates = ["healthchecks_off", "healthy", "unhealthy", "dns_error"];

    public void Map(AdminApi api) => api.Map("/metrics", [HttpMethods.Get], (http, _) => WriteAsync(http));

    private async Task WriteAsync(HttpContext http)
    {
        var reachable = await health.IsReachableAsync(http.RequestAborted) ?? true;
        var output = new StringBuilder();
        metrics.Write(output);
        var node = PrometheusMetrics.Escape(info.NodeId.ToString());
        PrometheusMetrics.Header(output, "kong_datastore_reachable", "gauge", "Datastore reachable from Kong, 0 is unreachable");
        output.Append("kong_datastore_reachable ").Append(reachable ? '1' : '0').Append('\n');
        PrometheusMetrics.Header(output, "kong_nginx_connections_total", "gauge", "Number of connections by subsystem");
        var accepted = counters.AcceptedConnections;
        foreach (var (state, value) in new[] { ("accepted", accepted), ("active", counters.ActiveConnections), ("handled", accepted) })
            output.Append("kong_nginx_connections_total{node_id=\"").Append(node).Append("\",subsystem=\"http\",state=\"").Append(state).Append("\"} ")
                .Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        PrometheusMetrics.Header(output, "kong_nginx_requests_total", "gauge", "Number of requests total");
        output.Append("kong_nginx_requests_total{node_id=\"").Append(node).Append("\",subsystem=\"http\"} ")
            .Append(counters.TotalRequests.ToString(CultureInfo.InvariantCulture)).Append('\n');
        PrometheusMetrics.Header(output, "kong_node_info", "gauge", "Kong Node metadata information");
        output.Append("kong_node_info{node_id=\"").Append(node).Append("\",version=\"").Append(InfoEndpoints.KongCompatibleVersion).Append("\"} 1\n");
        PrometheusMetrics.Header(output, "gantry_memory_bytes", "gauge", "Working set of the Gantry process in bytes");
        output.Append("gantry_memory_bytes{node_id=\"").Append(node).Append("\"} ")
            .Append(Environment.WorkingSet.ToString(CultureInfo.InvariantCulture)).Append('\n');
        if (upstreamHealthMetrics())
            WriteUpstreamHealth(output);
        http.Response.StatusCode = 200;
        http.Response.ContentType = ContentType;
        await http.Response.WriteAsync(output.ToString(), http.RequestAborted);
    }

    /// <summary>One series per target address and state: 1 for the address' current state, 0 for the others.</summary>
    private void WriteUpstreamHealth(StringBuilder output)
    {
        PrometheusMetrics.Header(output, "kong_upstream_target_health", "gauge",
            "Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.");
        foreach (var upstream in upstreams.All.OrderBy(u => u.Definition.Name, StringComparer.Ordinal))
        {
            var definition = upstream.Definition;
            var checksOn = definition.HealthChecks.Enabled;
            foreach (var (target, _) in definition.Targets)
            {
                if (upstream.DnsError(target) is not null)
                {
                    Series(output, definition.Name, target, "", "dns_error");
                    continue;
                }
                foreach (var (entry, healthy) in upstream.EntriesOf(target))
                    Series(output, definition.Name, target, entry.Address, !checksOn ? "healthchecks_off" : healthy ? "healthy" : "unhealthy");
            }
        }
    }

    private static void Series(StringBuilder output, string upstream, string target, string address, string current)
    {
        foreach (var state in HealthStates)
        {
            output.Append("kong_upstream_target_health{upstream=\"").Append(PrometheusMetrics.Escape(upstream))
                .Append("\",target=\"").Append(PrometheusMetrics.Escape(target))
                .Append("\",address=\"").Append(PrometheusMetrics.Escape(address))
                .Append("\",state=\"").Append(state).Append("\",subsystem=\"http\"} ").Append(state == current ? '1' : '0').Append('\n');
        }
    }
}
