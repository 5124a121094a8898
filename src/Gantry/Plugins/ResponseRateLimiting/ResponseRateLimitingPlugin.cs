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
        new Field("limits", FieldKind.Map)
        {
            Required = true,
            Keys = new Field("name", FieldKind.String),
            Elements = new Field("limit", FieldKind.Record) { Fields = [.. Periods.Select(p => Positive(p))] },
        },
        Text("header_name", "x-kong-limit"),
        Text("limit_by", "consumer", oneOf: ["consumer", "credential", "ip"]),
        Text("policy", "local", oneOf: ["local", "cluster", "redis"]),
        Flag("fault_tolerant", true),
        Flag("block_on_first_violation", false),
        Flag("hide_client_headers", false),
        // The same record as rate-limiting's, by the same field list.
        RateLimitingPlugin.Config.Single(f => f.Name == "redis"),
    ];

    public static PluginDescriptor Descriptor { get; } = new("response-ratelimiting", Bundled: true, ResponseRateLimitingMigrations.Subsystem)
    {
        Priority = 900,
        Config = Config,
        Handler = (config, setup) => new ResponseRateLimitingHandler(config, setup),
        ConfigChecks = [LimitsAreSet, RequiredWhen("policy", "redis", "redis.host")],
        NodeChecks = [RateLimitingPlugin.PolicyOnControlPlane, RateLimitingPlugin.PolicyNeedsDatabase],
        ConfigShorthands = RateLimitingPlugin.FlatRedisFields,
    };

    /// <summary>At least one named limit, each with at least one period, and no longer period allowing fewer than a shorter one.</summary>
    private static IEnumerable<(string?, string)> LimitsAreSet(JsonObject config)
    {
        if (config["limits"] is not JsonObject limits || limits.Count == 0)
        {
            yield return ("limits", "length must be at least 1");
            yield break;
        }
        foreach (var (name, value) in limits)
        {
            var periods = value as JsonObject;
            if (periods is null || !Periods.Any(p => periods[p] is JsonValue))
            {
                yield return ($"limits.{name}", "at least one of these fields must be non-empty: " + string.Join(", ", Periods.Select(p => $"'{p}'")));
                continue;
            }
            for (var i = 0; i < Periods.Length; i++)
            {
                if (periods[Periods[i]] is not JsonValue shorter)
                    continue;
                for (var j = i + 1; j < Periods.Length; j++)
                {
                    if (periods[Periods[j]] is JsonValue longer && SchemaValidator.ToDouble(longer) < SchemaValidator.ToDouble(shorter))
                        yield return ($"limits.{name}", string.Create(CultureInfo.InvariantCulture,
                            $"the limit for {Periods[j]}({SchemaValidator.ToDouble(longer):0.0}) cannot be lower than the limit for {Periods[i]}({SchemaValidator.ToDouble(shorter):0.0})"));
                }
            }
        }
    }
}
