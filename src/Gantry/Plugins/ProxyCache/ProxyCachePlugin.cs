using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.ProxyCache;

/// <summary>
/// proxy-cache: keeps the upstream's cacheable responses in the node's memory and answers repeated
/// requests from there, in Kong's memory strategy (the only strategy Kong's open-source plugin has).
/// </summary>
public static class ProxyCachePlugin
{
    public const string Name = "proxy-cache";

    /// <summary>Kong's default dictionary, the one its node cache lives in.</summary>
    public const string DefaultDictionary = "kong_db_cache";

    public static IReadOnlyList<Field> Config { get; } =
    [
        new Field("response_code", FieldKind.Array)
        {
            Default = new JsonArray(200, 301, 404),
            Required = true,
            Check = value => value is JsonArray { Count: 0 } ? "length must be at least 1" : null,
            Elements = new Field("value", FieldKind.Integer) { Min = 100, Max = 900 },
        },
        Strings("request_method", ["GET", "HEAD"], oneOf: ["HEAD", "GET", "POST", "PATCH", "PUT"]),
        NonEmptyStrings("content_type", ["text/plain", "application/json"]),
        new Field("cache_ttl", FieldKind.Integer) { Default = JsonValue.Create(300), Required = true, Check = GreaterThanZero },
        new Field("strategy", FieldKind.String) { Required = true, OneOf = ["memory"] },
        Flag("cache_control", false),
        Flag("ignore_uri_case", false),
        new Field("storage_ttl", FieldKind.Integer),
        new Field("memory", FieldKind.Record)
        {
            Required = true,
            // Kong refuses a dictionary its nginx does not declare; Gantry makes a cache for any name.
            Fields = [new Field("dictionary_name", FieldKind.String) { Default = JsonValue.Create(DefaultDictionary), Required = true, MinLength = 1 }],
        },
        NonEmptyStrings("vary_query_params"),
        NonEmptyStrings("vary_headers"),
        new Field("response_headers", FieldKind.Record)
        {
            Required = true,
            Fields = [Flag("age", true), Flag("X-Cache-Status", true), Flag("X-Cache-Key", true)],
        },
    ];

    public static PluginDescriptor Descriptor { get; } = new(Name, Bundled: true, Migrations: null)
    {
        // Kong's: after authentication, limits and the transformers, so a hit still counts against a limit.
        Priority = 100,
        Config = Config,
        Handler = (config, setup) => new ProxyCacheHandler(config,
            setup.Node.ProxyCache.For(config.Values["memory"]?["dictionary_name"]?.GetValue<string>() ?? DefaultDictionary)),
    };

    // Kong's strings are never empty unless a field says so.
    private static Field NonEmptyStrings(string name, string[]? defaultValue = null) => new(name, FieldKind.Array)
    {
        Default = defaultValue is null ? null : new JsonArray([.. defaultValue.Select(v => (JsonNode?)JsonValue.Create(v))]),
        Required = defaultValue is not null,
        Elements = new Field("value", FieldKind.String) { MinLength = 1 },
    };

    private static string? GreaterThanZero(JsonNode value) => SchemaValidator.ToDouble(value) > 0 ? null : "value must be greater than 0";
}
