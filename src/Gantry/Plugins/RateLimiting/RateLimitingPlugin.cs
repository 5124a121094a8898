using System.Globalization;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.RateLimiting;

/// <summary>rate-limiting: counts requests per window (second … year) and answers 429 past the limit.</summary>
public static class RateLimitingPlugin
{
    public static readonly string[] Periods = ["second", "minute", "hour", "day", "month", "year"];

    public static IReadOnlyList<Field> Config { get; } =
    [
        Positive("second"),
        Positive("minute"),
        Positive("hour"),
        Positive("day"),
        Positive("month"),
        Positive("year"),
        Text("limit_by", "consumer", oneOf: ["consumer", "credential", "ip", "service", "header", "path"]),
        KongHeaderName("header_name"),
        new Field("path", FieldKind.String) { MinLength = 1, Check = Gantry.Entities.Definitions.CommonFields.PathError },
        Text("policy", "local", oneOf: ["local", "cluster", "redis"]),
        Flag("fault_tolerant", true),
        RedisRecord.Field(),
        Flag("hide_client_headers", false),
        Positive("error_code", 429),
        Text("error_message", "API rate limit exceeded"),
        // -1 counts synchronously; a positive value batches Redis increments every that many seconds.
        Number("sync_rate", -1),
    ];

    /// <summary>
    /// Kong's hybrid rule: the cluster policy counts in the database, and the data planes that count have
    /// none. Declared before Descriptor, which reads it. Shared by any plugin that has the same three policies (response-ratelimiting).
    /// </summary>
    public static readonly Func<JsonObject, ValidationContext, IEnumerable<(string?, string)>> PolicyOnControlPlane =
        RefusedOnControlPlane("policy", "cluster",
            "the cluster policy keeps its counters in the database, which data planes cannot reach; use redis (counters shared by every data plane) or local (counters per node)");

    /// <summary>
    /// Kong's database-less rule: without a database (database = off, every data plane) the policy may only
    /// be local or redis, and Kong's message is its one_of error for those two.
    /// </summary>
    public static readonly Func<JsonObject, ValidationContext, IEnumerable<(string?, string)>> PolicyNeedsDatabase = (config, context) =>
        !context.HasDatabase && config["policy"] is JsonValue policy && policy.ToJsonString() == "\"cluster\""
            ? [("policy", "expected one of: local, redis")]
            : [];

    public static PluginDescriptor Descriptor { get; } = new("rate-limiting", Bundled: true, RateLimitingMigrations.Subsystem)
    {
        Priority = 910,
        Config = Config,
        Handler = (config, setup) => new RateLimitingHandler(config, setup),
        ConfigChecks =
        [
            AtLeastOneOf(Periods),
            PeriodsInOrderAndSyncRate,
            RedisRecord.RequiredForRedisPolicy,
            RequiredByCondition("limit_by", "header", "header_name"),
            RequiredByCondition("limit_by", "path", "path"),
        ],
        NodeChecks = [PolicyOnControlPlane, PolicyNeedsDatabase],
        ConfigShorthands = FlatRedisFields,
    };

    private static readonly string[] RedisFields = ["host", "port", "username", "password", "database", "ssl", "ssl_verify", "server_name", "timeout"];

    /// <summary>
    /// Kong 3.x still accepts the flat <c>redis_host</c> … <c>redis_timeout</c> names of older releases
    /// (deprecated, to go in 4.0) and moves each into the <c>redis</c> record; a flat value wins over a
    /// nested one.
    /// </summary>
    public static void FlatRedisFields(JsonObject config)
    {
        foreach (var name in RedisFields)
        {
            if (!config.ContainsKey("redis_" + name))
                continue;
            var value = config["redis_" + name];
            config.Remove("redis_" + name);
            if (config["redis"] is not JsonObject redis)
                config["redis"] = redis = [];
            redis[name] = value?.DeepClone();
        }
    }

    /// <summary>
    /// Kong's validator of the config record, reported on <c>config</c> itself: a longer window may not have
    /// a smaller limit than a shorter one (it could never be reached), and sync_rate batches only Redis
    /// increments, no more often than every 0.02 s.
    /// </summary>
    private static IEnumerable<(string?, string)> PeriodsInOrderAndSyncRate(JsonObject config)
    {
        for (var i = 0; i < Periods.Length; i++)
        {
            if (config[Periods[i]] is not JsonValue shorter)
                continue;
            for (var j = i + 1; j < Periods.Length; j++)
            {
                if (config[Periods[j]] is JsonValue longer && SchemaValidator.ToDouble(longer) < SchemaValidator.ToDouble(shorter))
                {
                    yield return ("", string.Create(CultureInfo.InvariantCulture,
                        $"The limit for {Periods[j]}({SchemaValidator.ToDouble(longer):0.0}) cannot be lower than the limit for {Periods[i]}({SchemaValidator.ToDouble(shorter):0.0})"));
                    yield break;
                }
            }
        }
        var syncRate = config["sync_rate"] is JsonValue rate ? SchemaValidator.ToDouble(rate) : SyncRealtime;
        var redis = config["policy"] is JsonValue policy && policy.ToJsonString() == "\"redis\"";
        if (!redis && syncRate != SyncRealtime)
            yield return ("", "sync_rate can only be used with the redis policy");
        else if (redis && syncRate != SyncRealtime && syncRate < 0.02)
            yield return ("", "sync_rate must be greater than 0.02, or -1 to disable");
    }

    private const double SyncRealtime = -1;
}
