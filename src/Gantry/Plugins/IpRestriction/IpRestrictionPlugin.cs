using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.IpRestriction;

/// <summary>ip-restriction: lets through, or turns away, client addresses by IP or CIDR range.</summary>
public static class IpRestrictionPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        NonEmptyStrings("allow", check: IpOrCidrError),
        NonEmptyStrings("deny", check: IpOrCidrError),
        // The answer to a refused address; null keeps 403 "IP address not allowed: <ip>".
        Number("status"),
        NonEmptyText("message"),
    ];

    public static PluginDescriptor Descriptor { get; } = new("ip-restriction", Bundled: true, Migrations: null)
    {
        Priority = 990,
        Handler = (config, _) => new IpRestrictionHandler(config),
        Config = Config,
        ConfigChecks = [AtLeastOneOf("allow", "deny")],
        // Addresses are known on stream connections too.
        Protocols = AnyProtocol,
        DefaultProtocols = ["http", "https", "tcp", "tls", "grpc", "grpcs"],
    };
}
