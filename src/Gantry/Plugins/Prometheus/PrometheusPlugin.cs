using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.Prometheus;

/// <summary>prometheus: exposes request and node metrics on /metrics of the Status and Admin APIs.</summary>
public static class PrometheusPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        Flag("per_consumer", false),
        Flag("status_code_metrics", false),
        // Kong's AI plugins' metrics: accepted so that Kong's configurations load; Gantry has no AI plugins to count.
        Flag("ai_metrics", false),
        Flag("latency_metrics", false),
        Flag("bandwidth_metrics", false),
        Flag("upstream_health_metrics", false),
    ];

    public static PluginDescriptor Descriptor { get; } = new("prometheus", Bundled: true, Migrations: null)
    {
        Priority = 13,
        // Counts each request in its log phase; the node serves what was counted on /metrics.
        Handler = (config, setup) => new PrometheusHandler(config, setup),
        Config = Config,
        NoConsumer = true,
        Protocols = ["grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss"],
    };
}
