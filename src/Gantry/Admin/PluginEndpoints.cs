using System.Globalization;
using System.Text.Json.Nodes;
using Gantry.Entities;
using Gantry.Entities.Schema;
using Gantry.Plugins;
using Gantry.Store;

namespace Gantry.Admin;

/// <summary>
/// The fixed plugin endpoints: <c>GET /plugins/enabled</c>, <c>GET /schemas/plugins/{name}</c> (a plugin's
/// schema in Kong's JSON shape, which Kong Manager renders its forms from) and
/// <c>POST /schemas/plugins/validate</c> (a plugin instance checked as a create would check it, without
/// storing it or looking up what it references).
/// </summary>
public static class PluginEndpoints
{
    public static void Map(AdminApi api, IReadOnlyList<PluginDescriptor> enabled)
    {
        var names = new JsonArray(enabled.Select(p => (JsonNode?)p.Name).Order(Comparer<JsonNode?>.Create((a, b) => string.CompareOrdinal(a!.GetValue<string>(), b!.GetValue<string>()))).ToArray());
        var schemas = enabled.ToDictionary(p => p.Name, Describe, StringComparer.Ordinal);
        var plugins = api.Registry.Get("plugins");

        api.Map("/plugins/enabled", (http, _) =>
        {
            RequireMethod(http, HttpMethods.IsGet);
            return AdminJson.WriteAsync(http, 200, new JsonObject { ["enabled_plugins"] = names.DeepClone() });
        });
        api.Map("/schemas/plugins/*", (http, segments) =>
        {
            RequireMethod(http, HttpMethods.IsGet);
            return schemas.TryGetValue(segments[2], out var schema)
                ? AdminJson.WriteAsync(http, 200, schema.DeepClone())
                : AdminJson.WriteAsync(http, 404, new JsonObject { ["message"] = $"No plugin named '{segments[2]}'" });
        });
        api.Map("/schemas/plugins/validate", async (http, _) =>
        {
            RequireMethod(http, HttpMethods.IsPost);
            var body = await AdminBodyReader.ReadAsync(http.Request, http.RequestAborted);
            EntityWriter.Validate(plugins, body.Fields, WriteMode.Insert, null, body.Lenient);
            await AdminJson.WriteAsync(http, 200, new JsonObject { ["message"] = "schema validation successful" });
        });
    }

    private static void RequireMethod(HttpContext http, Func<string, bool> allowed)
    {
        if (!allowed(http.Request.Method))
            throw EntityEndpoints.MethodNotAllowed();
    }

    /// <summary>The plugin's schema as Kong describes it: the fields a plugin instance of this kind sets.</summary>
    private static JsonObject Describe(PluginDescriptor plugin)
    {
        var fields = new JsonArray();
        if (plugin.NoConsumer)
            fields.Add(Entry("consumer", new JsonObject { ["type"] = "foreign", ["reference"] = "consumers", ["eq"] = null }));
        fields.Add(Entry("protocols", new JsonObject
        {
            ["type"] = "set",
            ["required"] = true,
            ["default"] = new JsonArray([.. plugin.DefaultProtocols.Select(p => (JsonNode?)p)]),
            ["elements"] = new JsonObject { ["type"] = "string", ["one_of"] = new JsonArray([.. plugin.Protocols.Select(p => (JsonNode?)p)]) },
        }));
        fields.Add(Entry("config", SchemaEndpoints.Describe(new Field("config", FieldKind.Record) { Required = true, Fields = plugin.Config }, defaultsShownRequired: true)));
        return new JsonObject { ["fields"] = fields };
    }

    private static JsonObject Entry(string name, JsonObject description) => new() { [name] = description };
}
