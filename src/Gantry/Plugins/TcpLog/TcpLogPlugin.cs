using Gantry.Entities.Schema;
using Gantry.Plugins.Logging;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.TcpLog;

/// <summary>tcp-log: sends each request's log entry over TCP (or TLS), one JSON object a line.</summary>
public static class TcpLogPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        new Field("host", FieldKind.String) { Required = true, MinLength = 1, Check = KongHostError },
        new Field("port", FieldKind.Integer) { Required = true, Min = 0, Max = 65535 },
        Number("timeout", 10000),
        Number("keepalive", 60000),
        Flag("tls", false),
        new Field("tls_sni", FieldKind.String) { MinLength = 1 },
        LogFields.CustomFieldsByLua(),
    ];

    public static PluginDescriptor Descriptor { get; } = new("tcp-log", Bundled: true, Migrations: null)
    {
        Priority = 7,
        Config = Config,
        Protocols = LogFields.Protocols,
        Handler = (config, setup) => new QueuedLogHandler("tcp-log", config, setup, QueueSettings.Unbatched, () => new TcpLogSender(config)),
    };
}
