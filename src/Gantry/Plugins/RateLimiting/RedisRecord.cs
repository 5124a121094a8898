using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;
using static Gantry.Plugins.PluginFields;

namespace Gantry.Plugins.RateLimiting;

/// <summary>Kong 3.x's shared <c>redis</c> record of the rate-limiting plugins: its types, bounds and defaults.</summary>
public static class RedisRecord
{
    public static Field Field() => new("redis", FieldKind.Record)
    {
        Required = true,
        Fields =
        [
            new Field("host", FieldKind.String) { MinLength = 1, Check = KongHostError },
            new Field("port", FieldKind.Integer) { Default = JsonValue.Create(6379), Min = 0, Max = 65535 },
            new Field("timeout", FieldKind.Integer) { Default = JsonValue.Create(2000), Min = 0, Max = 2147483646 },
            new Field("username", FieldKind.String) { MinLength = 1 },
            // Kong lets the password be empty (a Redis without AUTH configured through a vault reference).
            new Field("password", FieldKind.String),
            new Field("database", FieldKind.Integer) { Default = JsonValue.Create(0) },
            Flag("ssl", false),
            Flag("ssl_verify", false),
            new Field("server_name", FieldKind.String) { MinLength = 1, Check = ServerNameError },
        ],
    };

    /// <summary>
    /// Kong's conditional entity checks for the redis policy: host, port and timeout are required, and each
    /// missing one is reported on its field with the policy named as the reason.
    /// </summary>
    public static IEnumerable<(string?, string)> RequiredForRedisPolicy(JsonObject config)
    {
        if (config["policy"] is not JsonValue policy || policy.ToJsonString() != "\"redis\"")
            yield break;
        foreach (var name in (string[])["host", "port", "timeout"])
        {
            if (!IsSet(config["redis"]?[name]))
                foreach (var error in FailedConditional("config.policy", "redis." + name, "required field missing"))
                    yield return error;
        }
    }
}
