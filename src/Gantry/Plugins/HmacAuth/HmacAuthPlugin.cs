using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.HmacAuth;

/// <summary>hmac-auth: a consumer signs the request with a shared secret (HTTP Signatures).</summary>
public static class HmacAuthPlugin
{
    public static readonly string[] Algorithms = ["hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"];

    public static IReadOnlyList<Field> Config { get; } =
    [
        Flag("hide_credentials", false),
        Positive("clock_skew", 300),
        Anonymous(),
        Flag("validate_request_body", false),
        NonEmptyStrings("enforce_headers", []),
        Strings("algorithms", Algorithms, oneOf: Algorithms),
        Realm(),
    ];

    public static PluginDescriptor Descriptor { get; } = new("hmac-auth", Bundled: true, HmacAuthMigrations.Subsystem)
    {
        Priority = 1030,
        Handler = (config, setup) => new HmacAuthHandler(config, setup),
        Config = Config,
        NoConsumer = true,
        Entities = [HmacAuthCredentials.Schema],
    };
}
