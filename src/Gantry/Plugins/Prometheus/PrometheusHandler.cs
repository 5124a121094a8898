using System.Diagnostics;
using Gantry.Plugins.Pipeline;

namespace Gantry.Plugins.Prometheus;

/// <summary>
/// Counts each request in the node's <see cref="PrometheusMetrics"/> in the log phase: its status (with
/// status_code_metrics), its latencies (latency_metrics) and its body bytes (bandwidth_metrics), labelled by
/// the service and route names of the snapshot (their ids when unnamed) and, with per_consumer, the consumer.
/// </summary>
public sealed class PrometheusHandler(PluginConfig config, PluginSetup setup) : PluginHandler
{
    private readonly PrometheusMetrics _metrics = setup.Node.Prometheus;
    private readonly bool _perConsumer = config.Flag("per_consumer", false);
    private readonly bool _statusCodes = config.Flag("status_code_metrics", false);
    private readonly bool _latency = config.Flag("latency_metrics", false);
    private readonly bool _bandwidth = config.Flag("bandwidth_metrics", false);

    /// <summary>The instance asks for kong_upstream_target_health on /metrics.</summary>
    public bool UpstreamHealthMetrics { get; } = config.Flag("upstream_health_metrics", false);

    public override bool LogsEveryRequest => true;

    /// <summary>With bandwidth_metrics, counts the bytes of the response body as they are written (it may have no Content-Length).</summary>
    public override ValueTask AccessAsync(PluginRequest request)
    {
        if (_bandwidth)
            request.CountResponseBytes();
        return ValueTask.CompletedTask;
    }

    public override void Log(PluginRequest request)
    {
        var route = request.Match.Route;
        var service = route.ServiceLabel ?? "";
        var routeLabel = route.Label;
        var consumer = _perConsumer && request.Consumer is { } c ? c.Username ?? c.Id.ToString() : "";
        var fromKong = request.UpstreamReceived == 0;
        if (_statusCodes)
            _metrics.CountRequest(new PrometheusMetrics.RequestKey(service, routeLabel, request.Http.Response.StatusCode, fromKong, consumer));
        if (!_latency && !_bandwidth)
            return;
        var series = _metrics.Series(new PrometheusMetrics.SeriesKey(service, routeLabel, consumer));
        if (_latency)
        {
            var now = Stopwatch.GetTimestamp();
            var total = Milliseconds(request.Started, now);
            series.MarkLatency();
            series.Request.Observe(total);
            if (fromKong)
                series.Kong.Observe(total);
            else
            {
                var upstream = Milliseconds(request.UpstreamSent, request.UpstreamReceived);
                series.Upstream.Observe(upstream);
                series.Kong.Observe(Math.Max(0, total - upstream));
            }
        }
        if (_bandwidth)
            series.AddBandwidth(request.Http.Request.ContentLength ?? 0, request.ResponseBytes ?? request.Http.Response.ContentLength ?? 0);
    }

    private static long Milliseconds(long from, long to) => (long)Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
