using System.Globalization;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using Gantry.Plugins.RateLimiting;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.ResponseRateLimiting;

/// <summary>
/// response-ratelimiting: named limits (second … year each) that the upstream spends by answering with
/// <c>X-Kong-Limit: name=n</c>; a request that would spend an exhausted limit gets 429.
/// </summary>
public static class ResponseRateLimitingPlugin
{
    private static readonly string[] Periods = RateLimitingPlugin.Periods;

    public static IReadOnlyList<Field> Config { get; } =
    [
        // Kong reports every problem of a limit on config.limits itself, not under the limit's name, so the
        // limits are checked whole by LimitsAreSet rather than by a record type for the map's values.
        new Field("limits", FieldKind.Map)
        {
            Required = true,
            Keys = new Field("name", FieldKind.String) { MinLength = 1 },
            Elements = new Field("limit", FieldKind.Json),
        },
        new Field("header_name", FieldKind.String) { Default = JsonValue.Create("x-kong-limit"), Required = true, MinLength = 1 },
        Text("limit_by", "consumer", oneOf: ["consumer", "credential", "ip"]),
        Text("policy", "local", oneOf: ["local", "cluster", "redis"]),
        Flag("fault_tolerant", true),
        Flag("block_on_first_violation", false),
        Flag("hide_client_headers", false),
        RedisRecord.Field(),
    ];

    public static PluginDescriptor Descriptor { get; } = new("response-ratelimiting", Bundled: true, ResponseRateLimitingMigrations.Subsystem)
    {
        Priority = 900,
        Config = Config,
        Handler = (config, setup) => new ResponseRateLimitingHandler(config, setup),
        ConfigChecks = [LimitsAreSet, RedisRecord.RequiredForRedisPolicy],
        NodeChecks = [RateLimitingPlugin.PolicyOnControlPlane, RateLimitingPlugin.PolicyNeedsDatabase],
        ConfigShorthands = RateLimitingPlugin.FlatRedisFields,
    };

    /// <summary>
    /// Kong's rules for the limits map, reported on config.limits as Kong reports a map's values: at least
    /// one named limit; each a record of periods above zero, at least one of them set, and no longer period
    /// allowing fewer than a shorter one.
    /// </summary>
    private static IEnumerable<(string?, string)> LimitsAreSet(JsonObject config)
    {
        if (config["limits"] is not JsonObject limits || limits.Count == 0)
        {
            yield return ("limits", "length must be at least 1");
            yield break;
        }
        foreach (var (_, value) in limits)
        {
            var problems = LimitProblems(value).ToList();
            foreach (var problem in problems)
                yield return problem;
            // Kong stops at the first limit in error.
            if (problems.Count > 0)
                yield break;
        }
    }

    private static IEnumerable<(string?, string)> LimitProblems(JsonNode? limit)
    {
        if (limit is not JsonObject periods)
        {
            yield return ("limits", "expected a record");
            yield break;
        }
        var fieldErrors = false;
        foreach (var (key, value) in periods)
        {
            if (!Periods.Contains(key))
            {
                fieldErrors = true;
                yield return ($"limits.{key}", "unknown field");
            }
            else if (value is not JsonValue number || number.GetValueKind() != System.Text.Json.JsonValueKind.Number)
            {
                fieldErrors = true;
                yield return ($"limits.{key}", "expected a number");
            }
            else if (SchemaValidator.ToDouble(number) <= 0)
            {
                fieldErrors = true;
                yield return ($"limits.{key}", "value must be greater than 0");
            }
        }
        if (fieldErrors)
            yield break;
        if (!Periods.Any(p => periods[p] is JsonValue))
        {
            yield return ("limits.@entity", "at least one of these fields must be non-empty: " + string.Join(", ", Periods.Select(p => $"'{p}'")));
            yield break;
        }
        for (var i = 0; i < Periods.Length; i++)
        {
            if (periods[Periods[i]] is not JsonValue shorter)
                continue;
            for (var j = i + 1; j < Periods.Length; j++)
            {
                if (periods[Periods[j]] is JsonValue longer && SchemaValidator.ToDouble(longer) < SchemaValidator.ToDouble(shorter))
                {
                    yield return ("limits", string.Create(CultureInfo.InvariantCulture,
                        $"the limit for {Periods[j]}({SchemaValidator.ToDouble(longer):0.0}) cannot be lower than the limit for {Periods[i]}({SchemaValidator.ToDouble(shorter):0.0})"));
                    yield break;
                }
            }
        }
    }
}
