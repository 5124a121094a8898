using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Gantry.Plugins.Prometheus;

/// <summary>
/// The request metrics the prometheus plugin counts, for the whole node: one object per label set in a
/// concurrent dictionary keyed by a struct of strings taken from the configuration snapshot, updated with
/// interlocked operations, so the log phase neither locks nor allocates once a label set has been seen.
/// Written out in Prometheus' text format under Kong's metric names.
/// </summary>
public sealed class PrometheusMetrics
{
    /// <summary>Kong's latency buckets, in milliseconds; +Inf follows.</summary>
    public static readonly double[] LatencyBuckets = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000];

    private readonly ConcurrentDictionary<RequestKey, Counter> _requests = new();
    private readonly ConcurrentDictionary<SeriesKey, RouteSeries> _routes = new();

    /// <summary>The labels of kong_http_requests_total.</summary>
    public readonly record struct RequestKey(string Service, string Route, int Code, bool FromKong, string Consumer);

    /// <summary>The labels of the latency histograms and bandwidth counters.</summary>
    public readonly record struct SeriesKey(string Service, string Route, string Consumer);

    public void CountRequest(in RequestKey key) => Interlocked.Increment(ref _requests.GetOrAdd(key, static _ => new Counter()).Value);

    /// <summary>The latency histograms and bandwidth counters of one service, route and consumer.</summary>
    public RouteSeries Series(in SeriesKey key) => _routes.GetOrAdd(key, static _ => new RouteSeries());

    public sealed class Counter
    {
        public long Value;
    }

    public sealed class RouteSeries
    {
        public readonly Histogram Request = new();
        public readonly Histogram Upstream = new();
        public readonly Histogram Kong = new();
        public long Ingress;
        public long Egress;
        internal bool HasLatency;
        internal bool HasBandwidth;

        public void AddBandwidth(long ingress, long egress)
        {
            if (!HasBandwidth)
                HasBandwidth = true;
            Interlocked.Add(ref Ingress, ingress);
            Interlocked.Add(ref Egress, egress);
        }

        public void MarkLatency()
        {
            if (!HasLatency)
                HasLatency = true;
        }
    }

    /// <summary>A histogram with Kong's latency buckets; each bucket counts its own observations, cumulated when written.</summary>
    public sealed class Histogram
    {
        private readonly long[] _buckets = new long[LatencyBuckets.Length + 1];
        private long _count;
        private long _sum;

        public long Count => Interlocked.Read(ref _count);

        public void Observe(long milliseconds)
        {
            var index = 0;
            while (index < LatencyBuckets.Length && milliseconds > LatencyBuckets[index])
                index++;
            Interlocked.Increment(ref _buckets[index]);
            Interlocked.Add(ref _sum, milliseconds);
            Interlocked.Increment(ref _count);
        }

        internal void Write(StringBuilder output, string name, string labels)
        {
            long cumulated = 0;
            for (var i = 0; i < _buckets.Length; i++)
            {
                cumulated += Interlocked.Read(ref _buckets[i]);
                var le = i < LatencyBuckets.Length ? LatencyBuckets[i].ToString(CultureInfo.InvariantCulture) : "+Inf";
                output.Append(name).Append("_bucket{").Append(labels).Append(",le=\"").Append(le).Append("\"} ")
                    .Append(cumulated.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
            output.Append(name).Append("_count{").Append(labels).Append("} ").Append(Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
            output.Append(name).Append("_sum{").Append(labels).Append("} ").Append(Interlocked.Read(ref _sum).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    /// <summary>Writes the request metrics that have been counted; a family with no series is left out.</summary>
    public void Write(StringBuilder output)
    {
        var requests = _requests.OrderBy(p => p.Key.Service, StringComparer.Ordinal).ThenBy(p => p.Key.Route, StringComparer.Ordinal)
            .ThenBy(p => p.Key.Code).ThenBy(p => p.Key.FromKong).ThenBy(p => p.Key.Consumer, StringComparer.Ordinal).ToList();
        if (requests.Count > 0)
        {
            Header(output, "kong_http_requests_total", "counter", "HTTP status codes per consumer/service/route in Kong");
            foreach (var (key, counter) in requests)
            {
                output.Append("kong_http_requests_total{service=\"").Append(Escape(key.Service)).Append("\",route=\"").Append(Escape(key.Route))
                    .Append("\",code=\"").Append(key.Code.ToString(CultureInfo.InvariantCulture))
                    .Append("\",source=\"").Append(key.FromKong ? "kong" : "service")
                    .Append("\",workspace=\"default\",consumer=\"").Append(Escape(key.Consumer)).Append("\"} ")
                    .Append(Interlocked.Read(ref counter.Value).ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }
        var routes = _routes.OrderBy(p => p.Key.Service, StringComparer.Ordinal).ThenBy(p => p.Key.Route, StringComparer.Ordinal)
            .ThenBy(p => p.Key.Consumer, StringComparer.Ordinal).ToList();
        var latency = routes.Where(p => p.Value.HasLatency).ToList();
        foreach (var (name, help, pick) in new (string, string, Func<RouteSeries, Histogram>)[]
        {
            ("kong_request_latency_ms", "Total latency incurred during requests for each service/route in Kong", s => s.Request),
            ("kong_upstream_latency_ms", "Latency added by upstream response for each service/route in Kong", s => s.Upstream),
            ("kong_kong_latency_ms", "Latency added by Kong and enabled plugins for each service/route in Kong", s => s.Kong),
        })
        {
            var observed = latency.Where(p => pick(p.Value).Count > 0).ToList();
            if (observed.Count == 0)
                continue;
            Header(output, name, "histogram", help);
            foreach (var (key, series) in observed)
                pick(series).Write(output, name, Labels(key));
        }
        var bandwidth = routes.Where(p => p.Value.HasBandwidth).ToList();
        if (bandwidth.Count > 0)
        {
            Header(output, "kong_bandwidth_bytes", "counter", "Total bandwidth (ingress/egress) throughput in bytes");
            foreach (var (key, series) in bandwidth)
            {
                foreach (var (direction, value) in new[] { ("egress", Interlocked.Read(ref series.Egress)), ("ingress", Interlocked.Read(ref series.Ingress)) })
                {
                    output.Append("kong_bandwidth_bytes{service=\"").Append(Escape(key.Service)).Append("\",route=\"").Append(Escape(key.Route))
                        .Append("\",direction=\"").Append(direction).Append("\",workspace=\"default\",consumer=\"").Append(Escape(key.Consumer))
                        .Append("\"} ").Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }
    }

    private static string Labels(SeriesKey key) =>
        $"service=\"{Escape(key.Service)}\",route=\"{Escape(key.Route)}\",workspace=\"default\",consumer=\"{Escape(key.Consumer)}\"";

    /// <summary>The # HELP and # TYPE lines of a metric family.</summary>
    public static void Header(StringBuilder output, string name, string type, string help) =>
        output.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    /// <summary>A label value as the text format wants it: backslash, double quote and newline escaped.</summary>
    public static string Escape(string value) =>
        value.AsSpan().IndexOfAny('\\', '"', '\n') < 0 ? value : value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
