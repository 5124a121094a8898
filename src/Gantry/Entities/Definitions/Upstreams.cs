using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Entities.Definitions;

/// <summary>
/// Upstreams: a virtual host name balanced over targets. The hashing fields go together: each hash mode
/// names what it hashes, and the algorithm follows hash_on (see <see cref="AlgorithmFollowsHashOn"/>).
/// </summary>
public static class Upstreams
{
    public static readonly string[] Algorithms = ["consistent-hashing", "least-connections", "round-robin", "latency"];

    public static readonly string[] HashOn = ["none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"];

    public static EntitySchema Schema { get; } = new("upstreams",
    [
        // Kong's order, which Kong Manager lays its form out by.
        Id(),
        CreatedAt(),
        new Field("name", FieldKind.String) { Required = true, Unique = true, MinLength = 1, Check = NameError },
        UpdatedAt(),
        String("algorithm", "round-robin", oneOf: Algorithms),
        String("hash_on", "none", oneOf: HashOn),
        String("hash_fallback", "none", oneOf: HashOn),
        HeaderName("hash_on_header"),
        HeaderName("hash_fallback_header"),
        new Field("hash_on_cookie", FieldKind.String) { MinLength = 1, Pattern = CookieName(), PatternMessage = "invalid cookie name" },
        new Field("hash_on_cookie_path", FieldKind.String) { Default = "/", Check = PathError },
        new Field("hash_on_query_arg", FieldKind.String) { MinLength = 1 },
        new Field("hash_fallback_query_arg", FieldKind.String) { MinLength = 1 },
        new Field("hash_on_uri_capture", FieldKind.String) { MinLength = 1 },
        new Field("hash_fallback_uri_capture", FieldKind.String) { MinLength = 1 },
        Integer("slots", 10000, 10, 65536),
        Healthchecks(),
        Tags(),
        new Field("host_header", FieldKind.String) { Check = HostError },
        Foreign("client_certificate", "certificates"),
        Boolean("use_srv_name", false),
    ])
    {
        Table = "upstreams",
        EndpointKey = "name",
        OnParentDelete = new Dictionary<string, ParentDelete> { ["client_certificate"] = ParentDelete.Restrict },
        ReadingChecks = [new(HashFields, Check)],
        Shorthands = AlgorithmFollowsHashOn,
    };

    private static System.Text.RegularExpressions.Regex CookieName() => new("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$");

    /// <summary>An upstream's name is a host name the services point at: no IP address, no port.</summary>
    private static string? NameError(JsonNode value)
    {
        var name = value.GetValue<string>();
        if (System.Net.IPAddress.TryParse(name.Trim('[', ']'), out _))
            return $"Invalid name ('{name}'); no ip addresses allowed";
        if (name.Contains(':'))
        {
            var host = name[..name.LastIndexOf(':')];
            return System.Net.IPAddress.TryParse(host.Trim('[', ']'), out _)
                ? $"Invalid name ('{name}'); no ip addresses allowed"
                : $"Invalid name ('{name}'); no port allowed";
        }
        return HostPattern().IsMatch(name) ? null : $"Invalid name ('{name}'); must be a valid hostname";
    }

    /// <summary>
    /// Kong's Admin API keeps algorithm and hash_on consistent for the client: least-connections and latency
    /// do not hash, a hash_on other than none means consistent hashing, and hash_on none means round-robin.
    /// </summary>
    public static void AlgorithmFollowsHashOn(JsonObject input, ValidationErrors errors)
    {
        var algorithm = input["algorithm"] is JsonValue a && a.TryGetValue(out string? al) ? al : null;
        if (algorithm is "least-connections" or "latency")
        {
            input["hash_on"] = "none";
            input["hash_fallback"] = "none";
            return;
        }
        if (input["hash_on"] is JsonValue h && h.TryGetValue(out string? hashOn))
            input["algorithm"] = hashOn == "none" ? (algorithm == "consistent-hashing" ? "round-robin" : algorithm ?? "round-robin") : "consistent-hashing";
    }

    /// <summary>
    /// The hashing rules in Kong's order: each mode needs the field naming what it hashes, the fallback is
    /// limited by the primary (none and cookie allow no fallback; a cookie may be the fallback of another
    /// mode, since the balancer sets it), and two headers, query args or captures hashed in turn must differ.
    /// </summary>
    // A property: the schema above is built before static fields below it are initialized.
    private static string[] HashFields =>
    [
        "hash_on", "hash_fallback", "hash_on_header", "hash_fallback_header", "hash_on_cookie",
        "hash_on_query_arg", "hash_fallback_query_arg", "hash_on_uri_capture", "hash_fallback_uri_capture",
    ];

    private static IEnumerable<(string?, string)> Check(JsonObject upstream)
    {
        var hashOn = upstream["hash_on"]!.GetValue<string>();
        var fallback = upstream["hash_fallback"]!.GetValue<string>();
        var errors = new List<(string?, string)>();
        void Require(string ifField, string mode, string wanted, string thenField)
        {
            if (mode == wanted && upstream[thenField] is null)
                errors.AddRange(FailedConditional(ifField, thenField, "required field missing"));
        }
        void Limit(string wanted, string[] allowed)
        {
            if (hashOn == wanted && !allowed.Contains(fallback))
                errors.AddRange(FailedConditional("hash_on", "hash_fallback", $"expected one of: {string.Join(", ", allowed)}"));
        }
        void Distinct(string a, string b)
        {
            if (upstream[a] is JsonValue x && upstream[b] is JsonValue y && x.GetValue<string>() is { Length: > 0 } first && first == y.GetValue<string>())
                errors.Add((null, $"values of these fields must be distinct: '{a}', '{b}'"));
        }
        Require("hash_on", hashOn, "header", "hash_on_header");
        Require("hash_fallback", fallback, "header", "hash_fallback_header");
        Require("hash_on", hashOn, "cookie", "hash_on_cookie");
        Require("hash_fallback", fallback, "cookie", "hash_on_cookie");
        Limit("none", ["none"]);
        Limit("cookie", ["none"]);
        Limit("consumer", ["none", "ip", "header", "cookie", "path", "query_arg", "uri_capture"]);
        Limit("ip", ["none", "consumer", "header", "cookie", "path", "query_arg", "uri_capture"]);
        Limit("path", ["none", "consumer", "header", "cookie", "query_arg", "ip", "uri_capture"]);
        Distinct("hash_on_header", "hash_fallback_header");
        Require("hash_on", hashOn, "query_arg", "hash_on_query_arg");
        Require("hash_fallback", fallback, "query_arg", "hash_fallback_query_arg");
        Distinct("hash_on_query_arg", "hash_fallback_query_arg");
        Require("hash_on", hashOn, "uri_capture", "hash_on_uri_capture");
        Require("hash_fallback", fallback, "uri_capture", "hash_fallback_uri_capture");
        Distinct("hash_on_uri_capture", "hash_fallback_uri_capture");
        return errors;
    }

    // ---- health checks ----

    // Required so that an absent record takes its fields' defaults; Kong's record has a default instead.
    private static Field Record(string name, params Field[] fields) => new(name, FieldKind.Record) { Required = true, DescribedRequired = false, Fields = fields };

    private static Field Number(string name, double defaultValue, double min, double max) =>
        new(name, FieldKind.Number) { Default = defaultValue, Min = min, Max = max };

    private static Field Statuses(params int[] codes) => new("http_statuses", FieldKind.Array)
    {
        Default = new JsonArray(codes.Select(c => (JsonNode?)c).ToArray()),
        Elements = Integer("http_status", null, 100, 999),
    };

    private static int[] Range(int from, int to) => Enumerable.Range(from, to - from + 1).ToArray();

    private static Field Counter(string name, long max = 255) => Integer(name, 0, 0, max);

    private static Field Healthchecks() => Record("healthchecks",
        Record("active",
            String("type", "http", oneOf: ["tcp", "http", "https", "grpc", "grpcs"]),
            Number("timeout", 1, 0, 65535),
            Integer("concurrency", 10, 1, 2147483648),
            new Field("http_path", FieldKind.String) { Default = "/", Check = PathError },
            new Field("https_sni", FieldKind.String) { Check = ServerNameError },
            Boolean("https_verify_certificate", true, describedRequired: true),
            new Field("headers", FieldKind.Map) { Keys = HeaderName("header"), Elements = new Field("values", FieldKind.Array) { Elements = new Field("value", FieldKind.String) } },
            Record("healthy",
                Number("interval", 0, 0, 65535),
                Statuses(200, 302),
                Counter("successes")),
            Record("unhealthy",
                Number("interval", 0, 0, 65535),
                Statuses([429, 404, .. Range(500, 505)]),
                Counter("tcp_failures"),
                Counter("timeouts"),
                Counter("http_failures"))),
        Record("passive",
            String("type", "http", oneOf: ["tcp", "http", "https", "grpc", "grpcs"]),
            Record("healthy",
                Statuses([.. Range(200, 208), 226, .. Range(300, 308)]),
                Counter("successes")),
            Record("unhealthy",
                Statuses(429, 500, 503),
                Counter("tcp_failures"),
                Counter("timeouts"),
                Counter("http_failures"))),
        Number("threshold", 0, 0, 100));
}
