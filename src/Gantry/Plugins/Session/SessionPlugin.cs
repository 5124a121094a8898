using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.Session;

/// <summary>
/// session: once another plugin authenticated a consumer, a signed and encrypted cookie carries the
/// consumer and credential, so later requests are authenticated by the cookie alone (docs/proxy.md).
/// </summary>
public static class SessionPlugin
{
    private static readonly string[] HeaderValues = ["id", "audience", "subject", "timeout", "idling-timeout", "rolling-timeout", "absolute-timeout"];

    public static IReadOnlyList<Field> Config { get; } =
    [
        new Field("secret", FieldKind.String) { Required = true, Auto = AutoValue.RandomString, Secret = true, Check = NotBlank },
        Text("storage", "cookie", oneOf: ["cookie", "kong"]),
        Text("audience", "default"),
        Number("idling_timeout", 900, min: 0),
        Number("rolling_timeout", 3600, min: 0),
        Number("absolute_timeout", 86400, min: 0),
        Number("stale_ttl", 10, min: 0),
        Text("cookie_name", "session"),
        Text("cookie_path", "/"),
        Text("cookie_domain"),
        Text("cookie_same_site", "Strict", oneOf: ["Strict", "Lax", "None", "Default"]),
        Flag("cookie_http_only", true),
        Flag("cookie_secure", true),
        Flag("remember", false),
        Text("remember_cookie_name", "remember"),
        Number("remember_rolling_timeout", 604800, min: 0),
        Number("remember_absolute_timeout", 2592000, min: 0),
        StringSet("response_headers", oneOf: HeaderValues),
        StringSet("request_headers", oneOf: HeaderValues),
        Flag("read_body_for_logout", false),
        StringSet("logout_methods", ["POST", "DELETE"], oneOf: ["GET", "POST", "DELETE"]),
        Text("logout_query_arg", "session_logout"),
        Text("logout_post_arg", "session_logout"),
        Flag("hash_subject", false),
        Flag("store_metadata", false),
        StringSet("bind", oneOf: ["id", "ip", "scheme", "user-agent"]),
    ];

    public static PluginDescriptor Descriptor { get; } = new("session", Bundled: true, Migrations: null)
    {
        // Before the authentication plugins (key-auth 1250): a valid cookie authenticates first.
        Priority = 1900,
        NoConsumer = true,
        Config = Config,
        ConfigChecks = [ServerSideStorage],
        Handler = (config, setup) => new SessionHandler(config, setup),
    };

    // Decided: sessions live only in the cookie (docs/proxy.md); Kong's server-side 'kong' storage is refused
    // at write time rather than accepted and silently served from the cookie.
    private static IEnumerable<(string?, string)> ServerSideStorage(JsonObject config) =>
        config["storage"]?.GetValue<string>() == "kong"
            ? [("storage", "'kong' storage is not supported by Gantry: sessions are kept in the cookie (use 'cookie')")]
            : [];

    private static string? NotBlank(JsonNode value) => value.GetValue<string>().Trim().Length == 0 ? "length must be at least 1" : null;
}
