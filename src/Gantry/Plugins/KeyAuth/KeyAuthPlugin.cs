using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.KeyAuth;

/// <summary>key-auth: a consumer presents a key in a header, the query string or the body.</summary>
public static class KeyAuthPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        Strings("key_names", ["apikey"], check: KongHeaderNameError),
        Flag("hide_credentials", false),
        Anonymous(),
        Flag("key_in_header", true),
        Flag("key_in_query", true),
        Flag("key_in_body", false),
        Flag("run_on_preflight", true),
        Realm(),
    ];

    public static PluginDescriptor Descriptor { get; } = new("key-auth", Bundled: true, KeyAuthMigrations.Subsystem)
    {
        Priority = 1250,
        Config = Config,
        NoConsumer = true,
        Entities = [KeyAuthCredentials.Schema],
        Handler = (config, setup) => new KeyAuthHandler(config, setup),
    };
}
