using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.Jwt;

/// <summary>jwt: a consumer presents a signed token whose issuer claim names one of its jwt secrets.</summary>
public static class JwtPlugin
{
    public static IReadOnlyList<Field> Config { get; } =
    [
        StringSet("uri_param_names", ["jwt"]),
        StringSet("cookie_names", []),
        Text("key_claim_name", "iss"),
        Flag("secret_is_base64", false),
        StringSet("claims_to_verify", oneOf: ["exp", "nbf"]),
        Anonymous(),
        Flag("run_on_preflight", true),
        Number("maximum_expiration", 0, 0, 31536000),
        StringSet("header_names", ["authorization"]),
        Realm(),
    ];

    public static PluginDescriptor Descriptor { get; } = new("jwt", Bundled: true, JwtMigrations.Subsystem)
    {
        Priority = 1450,
        Handler = (config, setup) => new JwtHandler(config, setup),
        Config = Config,
        NoConsumer = true,
        Entities = [JwtSecrets.Schema],
        ConfigChecks = [ExpirationNeedsExp],
    };

    /// <summary>
    /// A maximum_expiration is only enforced through the exp claim, so a listed claims_to_verify must hold
    /// it; as in Kong, an absent list passes (the value then has no effect).
    /// </summary>
    private static IEnumerable<(string?, string)> ExpirationNeedsExp(JsonObject config)
    {
        if (config["maximum_expiration"] is not JsonValue maximum || SchemaValidator.ToDouble(maximum) <= 0)
            return [];
        if (config["claims_to_verify"] is not JsonArray claims || claims.Any(claim => claim?.GetValue<string>() == "exp"))
            return [];
        return [("claims_to_verify", "expected to contain: exp"), (null, ConditionalMessage("config.maximum_expiration"))];
    }
}
