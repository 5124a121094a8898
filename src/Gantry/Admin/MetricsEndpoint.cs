using System.Globalization;
using System.Text;
using Gantry.Balancing;
using Gantry.Clustering.Compatibility;
using Gantry.Clustering.Registry;
using Gantry.Node;
using Gantry.Plugins.Prometheus;
using Gantry.Store;

namespace Gantry.Admin;

/// <summary>
/// <c>GET /metrics</c> of the prometheus plugin, on the Admin and Status APIs: the request metrics its
/// instances counted and the node's own, in Prometheus' text format 0.0.4 under Kong's names. Kong's
/// per-worker Lua memory has no counterpart; the process' working set is <c>gantry_memory_bytes</c>.
/// In hybrid mode a control plane adds one series per data plane of its registry, and a data plane says
/// whether its link to the control plane is up.
/// </summary>
/// <param name="dataPlanes">On a control plane, the registry the <c>kong_data_plane_*</c> families are read from; null elsewhere.</param>
/// <param name="controlPlaneConnected">On a data plane, whether its link to the control plane is up now
/// (<c>kong_control_plane_connected</c>); null elsewhere.</param>
internal sealed class MetricsEndpoint(NodeInfo info, DatabaseHealth health, NodeCounters counters, PrometheusMetrics metrics,
    HealthRegistry upstreams, Func<bool> upstreamHealthMetrics, DataPlaneRegistry? dataPlanes = null, Func<bool>? controlPlaneConnected = null)
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
        if (dataPlanes is not null)
            await WriteDataPlanesAsync(output, dataPlanes, http.RequestAborted);
        if (controlPlaneConnected is not null)
        {
            PrometheusMetrics.Header(output, "kong_control_plane_connected", "gauge", "Whether this data plane is connected to its control plane: 1 connected, 0 not");
            output.Append("kong_control_plane_connected ").Append(controlPlaneConnected() ? '1' : '0').Append('\n');
        }
        http.Response.StatusCode = 200;
        http.Response.ContentType = ContentType;
        await http.Response.WriteAsync(output.ToString(), http.RequestAborted);
    }

    /// <summary>
    /// Three series per data plane the registry lists (seen within the purge delay). With the database
    /// unreachable there is nothing to read them from: kong_datastore_reachable already says 0, and the
    /// families are left out rather than failing the whole scrape.
    /// </summary>
    private static async Task WriteDataPlanesAsync(StringBuilder output, DataPlaneRegistry registry, CancellationToken cancellationToken)
    {
        IReadOnlyList<DataPlaneEntry> entries;
        try
        {
            entries = await registry.ListAsync(cancellationToken);
        }
        catch (DatabaseUnavailableException)
        {
            return;
        }
        PrometheusMetrics.Header(output, "kong_data_plane_last_seen", "gauge", "When the data plane last reported to a control plane, Unix seconds");
        foreach (var entry in entries)
            DataPlaneSeries(output, "kong_data_plane_last_seen", entry, null).Append(entry.LastSeen.ToString(CultureInfo.InvariantCulture)).Append('\n');
        PrometheusMetrics.Header(output, "kong_data_plane_config_hash", "gauge", "The data plane's configuration hash read as a number");
        foreach (var entry in entries)
            DataPlaneSeries(output, "kong_data_plane_config_hash", entry, null).Append(HashAsNumber(entry.ConfigHash)).Append('\n');
        PrometheusMetrics.Header(output, "kong_data_plane_version_compatible", "gauge", "Whether the data plane is compatible with the control plane: 1 yes, 0 no");
        foreach (var entry in entries)
            DataPlaneSeries(output, "kong_data_plane_version_compatible", entry, entry.Version).Append(entry.Status.IsCompatible() ? '1' : '0').Append('\n');
    }

    private static StringBuilder DataPlaneSeries(StringBuilder output, string name, DataPlaneEntry entry, string? version)
    {
        output.Append(name).Append("{node_id=\"").Append(entry.Id.ToString()).Append("\",hostname=\"").Append(PrometheusMetrics.Escape(entry.Hostname))
            .Append("\",ip=\"").Append(PrometheusMetrics.Escape(entry.Ip));
        if (version is not null)
            output.Append("\",kong_version=\"").Append(PrometheusMetrics.Escape(version));
        return output.Append("\"} ");
    }

    /// <summary>
    /// The 128-bit hash as a floating-point number, as Kong exports it: only its leading digits survive,
    /// which is enough to see that two data planes differ. A hash that is not hex (none yet) is 0.
    /// </summary>
    internal static string HashAsNumber(string hash) =>
        hash.Length is > 0 and <= 32 && UInt128.TryParse(hash, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
            ? ((double)value).ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e')
            : "0";

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
