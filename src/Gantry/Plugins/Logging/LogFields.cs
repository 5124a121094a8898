using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.Logging;

/// <summary>Config fields the log plugins share with Kong's: the queue record and custom_fields_by_lua.</summary>
public static class LogFields
{
    /// <summary>Kong's loggers may be listed for every protocol, stream ones included (a decK dump carries them).</summary>
    public static IReadOnlyList<string> Protocols { get; } = ["grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss"];

    /// <summary>Kong 3.x's queue record, its defaults and bounds.</summary>
    public static Field Queue() => new("queue", FieldKind.Record)
    {
        Required = true,
        Fields =
        [
            new Field("max_batch_size", FieldKind.Integer) { Default = JsonValue.Create(1), Required = true, Min = 1, Max = 1_000_000 },
            Number("max_coalescing_delay", 1, 0, 3600),
            new Field("max_entries", FieldKind.Integer) { Default = JsonValue.Create(10000), Required = true, Min = 1, Max = 1_000_000 },
            new Field("max_bytes", FieldKind.Integer),
            Number("max_retry_time", 60),
            Number("initial_retry_delay", 0.01, 0.001, 1_000_000),
            Number("max_retry_delay", 60, 0.001, 1_000_000),
            new Field("concurrency_limit", FieldKind.Integer)
            {
                Default = JsonValue.Create(1),
                Required = true,
                Check = value => SchemaValidator.ToDouble(value) is -1 or 1 ? null : "expected one of: -1, 1",
            },
        ],
    };

    /// <summary>
    /// Kong's custom_fields_by_lua holds Lua code run per request. Gantry runs no Lua, so it accepts the
    /// field only empty (a decK dump carries it as null or {}) and refuses any entry rather than silently
    /// logging without it.
    /// </summary>
    public static Field CustomFieldsByLua() => new("custom_fields_by_lua", FieldKind.Map)
    {
        Keys = new Field("key", FieldKind.String),
        Elements = new Field("value", FieldKind.String),
        Check = value => value is JsonObject { Count: > 0 }
            ? "Gantry does not run Lua: custom_fields_by_lua must be empty (remove its entries; the log entry has Kong's standard fields)"
            : null,
    };
}
