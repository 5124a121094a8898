using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using Gantry.Plugins;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Entities.Definitions;

/// <summary>
/// Plugin instances: a plugin's name, its config (validated by that plugin's own schema, defaults filled)
/// and its scope (global, or a route, service, consumer or a combination). The schema is built per node
/// from the enabled plugins, since only those may be configured.
/// </summary>
public static partial class Plugins
{
    /// <summary>The fields a plugin instance has whichever plugin it is; config is checked per plugin.</summary>
    private static Field[] CommonPluginFields(Func<JsonNode, string?> nameCheck) =>
    [
        // Kong's order, which Kong Manager lays its form out by.
        Id(),
        new Field("name", FieldKind.String) { Required = true, Check = nameCheck },
        new Field("instance_name", FieldKind.String) { Unique = true, MinLength = 1, Check = Utf8NameError },
        CreatedAt(),
        UpdatedAt(),
        Foreign("route", "routes"),
        Foreign("service", "services"),
        Foreign("consumer", "consumers"),
        // Until the name is known to be an enabled plugin, only the shape of config can be checked.
        new Field("config", FieldKind.Record),
        Protocols(PluginDescriptor.HttpProtocols),
        Boolean("enabled", true, describedRequired: true),
        Tags(),
        Ordering(),
        // One instance of a plugin per scope. NULL never equals NULL in a unique index, so the scope is
        // folded into one non-null key that the database can enforce, and clashes name its parts.
        new Field("cache_key", FieldKind.String) { Internal = true, Unique = true, KeyOf = ["consumer", "name", "route", "service"] },
    ];

    /// <param name="context">The node the instances are written on; rules such as rate-limiting's on a control plane depend on it.</param>
    public static EntitySchema Schema(IReadOnlyList<PluginDescriptor> enabled, ValidationContext? context = null)
    {
        context ??= ValidationContext.Traditional;
        var byName = enabled.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var common = CommonPluginFields(value =>
        {
            var name = value.GetValue<string>();
            return byName.ContainsKey(name) ? null : $"plugin '{name}' not enabled; add it to the 'plugins' configuration property";
        });
        var subschemas = enabled.ToDictionary(p => p.Name, p => FieldsOf(p, common), StringComparer.Ordinal);
        return new EntitySchema("plugins", common)
        {
            Table = "plugins",
            EndpointKey = "instance_name",
            SubschemaKey = "name",
            Subschemas = name => subschemas.GetValueOrDefault(name),
            EntityChecks = [plugin => ConfigChecks(byName, plugin, context)],
            Normalize = FillCacheKey,
            Shorthands = (plugin, _) =>
            {
                if (plugin["name"] is JsonValue name && name.TryGetValue<string>(out var n) && byName.TryGetValue(n, out var descriptor) && plugin["config"] is JsonObject config)
                    descriptor.ConfigShorthands?.Invoke(config);
            },
        };
    }

    /// <summary>The fields of one plugin's instances: its config record, protocols and consumer rule.</summary>
    public static IReadOnlyList<Field> FieldsOf(PluginDescriptor plugin, IReadOnlyList<Field> common) =>
        common.Select(field => field.Name switch
        {
            "config" => new Field("config", FieldKind.Record) { Required = true, Fields = plugin.Config },
            "protocols" => Protocols(plugin.Protocols, plugin.DefaultProtocols),
            "consumer" when plugin.NoConsumer => new Field("consumer", FieldKind.Foreign) { Reference = "consumers", Check = _ => "value must be null" },
            _ => field,
        }).ToList();

    private static Field Protocols(IReadOnlyList<string> allowed, IReadOnlyList<string>? defaults = null) => new("protocols", FieldKind.Set)
    {
        Required = true,
        Default = Array([.. defaults ?? PluginDescriptor.HttpProtocols]),
        Elements = new Field("protocol", FieldKind.String) { OneOf = allowed },
    };

    /// <summary>Dynamic ordering: plugins this one runs before or after, per phase (only access has an order to change).</summary>
    private static Field Ordering()
    {
        Field Phases(string name) => new(name, FieldKind.Map)
        {
            Keys = new Field("phase", FieldKind.String) { OneOf = ["access"] },
            Elements = new Field("plugins", FieldKind.Array) { Elements = new Field("plugin", FieldKind.String) },
        };
        return new Field("ordering", FieldKind.Record) { Fields = [Phases("before"), Phases("after")] };
    }

    private static IEnumerable<(string?, string)> ConfigChecks(Dictionary<string, PluginDescriptor> byName, JsonObject plugin, ValidationContext context)
    {
        if (plugin["name"]?.GetValue<string>() is not { } name || !byName.TryGetValue(name, out var descriptor) || plugin["config"] is not JsonObject config)
            yield break;
        var problems = descriptor.ConfigChecks.SelectMany(check => check(config))
            .Concat(descriptor.NodeChecks.SelectMany(check => check(config, context)));
        foreach (var (field, message) in problems)
            yield return (field switch { null => null, "" => "config", _ => "config." + field }, message);
    }

    private static void FillCacheKey(JsonObject plugin)
    {
        static string Id(JsonNode? reference) => reference?["id"]?.GetValue<string>() ?? "";
        plugin["cache_key"] = $"plugins:{plugin["name"]}:{Id(plugin["route"])}:{Id(plugin["service"])}:{Id(plugin["consumer"])}:";
    }
}
