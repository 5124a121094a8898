using Gantry.Entities.Schema;
using Gantry.Plugins.Logging;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.UdpLog;

/// <summary>udp-log: sends each request's log entry as one UDP datagram.</summary>
public static class UdpLogPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        new Field("host", FieldKind.String) { Required = true, MinLength = 1, Check = KongHostError },
        new Field("port", FieldKind.Integer) { Required = true, Min = 0, Max = 65535 },
        Number("timeout", 10000),
        LogFields.CustomFieldsByLua(),
    ];

    public static PluginDescriptor Descriptor { get; } = new("udp-log", Bundled: true, Migrations: null)
    {
        Priority = 8,
        Config = Config,
        Protocols = LogFields.Protocols,
        Handler = (config, setup) => new QueuedLogHandler("udp-log", config, setup, QueueSettings.Unbatched, () => new UdpLogSender(config)),
    };
}
