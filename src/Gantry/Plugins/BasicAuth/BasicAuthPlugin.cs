using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.BasicAuth;

/// <summary>basic-auth: a consumer presents a username and password in (Proxy-)Authorization.</summary>
public static class BasicAuthPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        Anonymous(),
        Flag("hide_credentials", false),
        Realm("service"),
    ];

    public static PluginDescriptor Descriptor { get; } = new("basic-auth", Bundled: true, BasicAuthMigrations.Subsystem)
    {
        Priority = 1100,
        Handler = (config, setup) => new BasicAuthHandler(config, setup),
        Config = Config,
        NoConsumer = true,
        Entities = [BasicAuthCredentials.Schema],
    };
}
