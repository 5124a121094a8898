using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.CorrelationId;

/// <summary>correlation-id: gives each request an id header (kept when the client sent one).</summary>
public static class CorrelationIdPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        NonEmptyText("header_name", "Kong-Request-ID"),
        Text("generator", "uuid#counter", oneOf: ["uuid", "uuid#counter", "tracker"]),
        Flag("echo_downstream", false),
    ];

    public static PluginDescriptor Descriptor { get; } = new("correlation-id", Bundled: true, Migrations: null)
    {
        Priority = 100001,
        Config = Config,
        Handler = (config, _) => new CorrelationIdHandler(config),
    };
}
