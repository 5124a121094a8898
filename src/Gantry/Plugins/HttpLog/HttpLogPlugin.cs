using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using Gantry.Plugins.Logging;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.HttpLog;

/// <summary>http-log: sends each request's log entry, in batches, to an HTTP endpoint.</summary>
public static class HttpLogPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        new Field("http_endpoint", FieldKind.String) { Required = true, Check = UrlError },
        Text("method", "POST", oneOf: ["POST", "PUT", "PATCH"]),
        Text("content_type", "application/json", oneOf: ["application/json", "application/json; charset=utf-8"]),
        Number("timeout", 10000),
        Number("keepalive", 60000),
        // Kong 2.x's batching fields, deprecated in 3.x: moved into queue by ConfigShorthands.
        new Field("retry_count", FieldKind.Integer),
        new Field("queue_size", FieldKind.Integer),
        new Field("flush_timeout", FieldKind.Number),
        new Field("headers", FieldKind.Map) { Keys = new Field("header", FieldKind.String), Elements = new Field("value", FieldKind.String) },
        LogFields.Queue(),
        LogFields.CustomFieldsByLua(),
    ];

    public static PluginDescriptor Descriptor { get; } = new("http-log", Bundled: true, Migrations: null)
    {
        Priority = 12,
        Config = Config,
        Protocols = LogFields.Protocols,
        Handler = (config, setup) => new QueuedLogHandler("http-log", config, setup, QueueSettings.From(config.Values["queue"]), () => new HttpLogSender(config)),
        ConfigShorthands = BatchingShorthands,
    };

    private static string? UrlError(JsonNode value) =>
        Uri.TryCreate(value.GetValue<string>(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0
            ? null
            : "missing host in url";

    /// <summary>
    /// Kong 3.x still takes queue_size and flush_timeout (as queue.max_batch_size and
    /// queue.max_coalescing_delay) and ignores retry_count (the queue retries for max_retry_time).
    /// </summary>
    private static void BatchingShorthands(JsonObject config)
    {
        Move(config, "queue_size", "max_batch_size");
        Move(config, "flush_timeout", "max_coalescing_delay");
        config.Remove("retry_count");
    }

    private static void Move(JsonObject config, string flat, string nested)
    {
        if (!config.TryGetPropertyValue(flat, out var value))
            return;
        config.Remove(flat);
        if (value is null)
            return;
        if (config["queue"] is not JsonObject queue)
            config["queue"] = queue = [];
        queue[nested] = value.DeepClone();
    }
}
