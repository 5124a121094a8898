using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.RequestSizeLimiting;

/// <summary>request-size-limiting: refuses request bodies larger than a limit (413), or without a length when asked (411).</summary>
public static class RequestSizeLimitingPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        new Field("allowed_payload_size", FieldKind.Integer) { Default = JsonValue.Create(128), Required = true },
        Text("size_unit", "megabytes", oneOf: ["megabytes", "kilobytes", "bytes"]),
        Flag("require_content_length", false),
    ];

    public static PluginDescriptor Descriptor { get; } = new("request-size-limiting", Bundled: true, Migrations: null)
    {
        Priority = 951,
        Config = Config,
        Handler = (config, _) => new RequestSizeLimitingHandler(config),
    };
}
