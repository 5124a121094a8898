using System.Text.Json;
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
        new Field("secret", FieldKind.String) { Required = true, Auto = AutoValue.RandomString, Secret = true, MinLength = 1 },
        Text("storage", "cookie", oneOf: ["cookie", "kong"]),
        Text("audience", "default"),
        Number("idling_timeout", 900),
        Number("rolling_timeout", 3600),
        Number("absolute_timeout", 86400),
        Number("stale_ttl", 10),
        Text("cookie_name", "session"),
        Text("cookie_path", "/"),
        Text("cookie_domain"),
        Text("cookie_same_site", "Strict", oneOf: ["Strict", "Lax", "None", "Default"]),
        Flag("cookie_http_only", true),
        Flag("cookie_secure", true),
        Flag("remember", false),
        Text("remember_cookie_name", "remember"),
        Number("remember_rolling_timeout", 604800),
        Number("remember_absolute_timeout", 2592000),
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
        ConfigShorthands = OldCookieNames,
        // As in Kong; the handler never runs on a stream route.
        Protocols = AnyProtocol,
        Handler = (config, setup) => new SessionHandler(config, setup),
    };

    // Decided: sessions live only in the cookie (docs/proxy.md); Kong's server-side 'kong' storage is refused
    // at write time rather than accepted and silently served from the cookie.
    private static IEnumerable<(string?, string)> ServerSideStorage(JsonObject config) =>
        config["storage"]?.GetValue<string>() == "kong"
            ? [("storage", "'kong' storage is not supported by Gantry: sessions are kept in the cookie (use 'cookie')")]
            : [];

    /// <summary>
    /// Kong 3.x still accepts the config names of lua-resty-session 3 and moves each to its new field; a
    /// value of the wrong type is left where it is and refused as an unknown field.
    /// </summary>
    private static void OldCookieNames(JsonObject config)
    {
        Move(config, "cookie_lifetime", "rolling_timeout", JsonValueKind.Number);
        Move(config, "cookie_discard", "stale_ttl", JsonValueKind.Number);
        Move(config, "cookie_httponly", "cookie_http_only", JsonValueKind.True, JsonValueKind.False);
        Move(config, "cookie_persistent", "remember", JsonValueKind.True, JsonValueKind.False);
        if (config["cookie_samesite"] is JsonValue sameSite && sameSite.TryGetValue(out string? mode))
        {
            config.Remove("cookie_samesite");
            config["cookie_same_site"] = mode == "off" ? "Lax" : mode!;
        }
        // A null idle time meant "never idle", which the new field says with 0.
        if (config.TryGetPropertyValue("cookie_idletime", out var idle) && (idle is null || idle.GetValueKind() == JsonValueKind.Number))
        {
            config.Remove("cookie_idletime");
            config["idling_timeout"] = idle?.DeepClone() ?? 0;
        }
        // cookie_renew has no successor: the session library renews by rolling_timeout now.
        if (config["cookie_renew"] is JsonValue renew && renew.GetValueKind() == JsonValueKind.Number)
            config.Remove("cookie_renew");
    }

    private static void Move(JsonObject config, string from, string to, params JsonValueKind[] kinds)
    {
        if (config[from] is JsonValue value && kinds.Contains(value.GetValueKind()))
        {
            config.Remove(from);
            config[to] = value.DeepClone();
        }
    }
}
