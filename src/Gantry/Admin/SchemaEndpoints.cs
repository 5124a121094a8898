using System.Text.Json.Nodes;
using Gantry.Entities;
using Gantry.Entities.Schema;
using Gantry.Store;

namespace Gantry.Admin;

/// <summary>
/// <c>GET /schemas/{entity}</c> describes an entity's fields in Kong's shape, which Kong Manager builds its
/// forms from; <c>POST /schemas/{entity}/validate</c> runs the same validation as a create, without writing.
/// </summary>
internal static class SchemaEndpoints
{
    public static void MapAll(AdminApi api)
    {
        api.Map("/schemas/{entity}", [HttpMethods.Get], (http, segments) =>
            AdminJson.WriteAsync(http, 200, Describe(Find(api.Registry, segments[1]))));
        api.Map("/schemas/{entity}/validate", [HttpMethods.Post], (http, segments) => ValidateAsync(http, Find(api.Registry, segments[1])));
    }

    private static EntitySchema Find(EntityRegistry registry, string name) =>
        registry.Find(name) ?? registry.FindBySegment(name) ?? throw new AdminError(404, $"No entity named '{name}'");

    private static async Task ValidateAsync(HttpContext http, EntitySchema schema)
    {
        var body = await AdminBodyReader.ReadAsync(http.Request, http.RequestAborted);
        try
        {
            EntityWriter.Validate(schema, body.Fields, WriteMode.Insert, null, body.Lenient);
        }
        catch (EntityException e)
        {
            throw EntityEndpoints.Entity(e);
        }
        await AdminJson.WriteAsync(http, 200, new JsonObject { ["message"] = "schema validation successful" });
    }

    public static JsonObject Describe(EntitySchema schema)
    {
        var body = new JsonObject
        {
            ["name"] = schema.Name,
            ["fields"] = Fields(schema.Fields, defaultsShownRequired: false),
            ["primary_key"] = new JsonArray("id"),
        };
        if (schema.EndpointKey is { } key)
            body["endpoint_key"] = key;
        if (schema.SubschemaKey is { } subschemaKey)
            body["subschema_key"] = subschemaKey;
        return body;
    }

    private static JsonArray Fields(IEnumerable<Field> fields, bool defaultsShownRequired) =>
        new(fields.Where(f => !f.Internal).Select(f => (JsonNode?)new JsonObject { [f.Name] = Describe(f, defaultsShownRequired) }).ToArray());

    /// <summary>One field in Kong's vocabulary (type, required, default, one_of, between, len_min…).</summary>
    /// <param name="defaultsShownRequired">
    /// Show every field with a default as required: the bundled plugins' configs, whose fields do not yet say
    /// which Kong marks required (most do). The core entities' fields say it (<see cref="Field.DescribedRequired"/>).
    /// </param>
    public static JsonObject Describe(Field field, bool defaultsShownRequired = false)
    {
        var description = new JsonObject { ["type"] = TypeName(field.Kind) };
        if (field.Kind == FieldKind.Uuid)
            description["uuid"] = true;
        if (field.Auto != AutoValue.None)
            description["auto"] = true;
        if (field.Auto == AutoValue.Timestamp)
            description["timestamp"] = true;
        if (field.DescribedRequired ?? (field.Required || (defaultsShownRequired && field.Default is not null)))
            description["required"] = true;
        if (field.Default is not null)
            description["default"] = field.Default.DeepClone();
        // A record Gantry requires only to fill its defaults is, in Kong, a record with those defaults as its default.
        else if (field is { Kind: FieldKind.Record, Required: true, DescribedRequired: false, Fields: { } recordFields })
            description["default"] = SchemaValidator.RecordDefaults(recordFields);
        if (field.Unique)
            description["unique"] = true;
        if (field.Reference is not null)
            description["reference"] = field.Reference;
        if (field.OneOf is not null)
            description["one_of"] = new JsonArray(field.OneOf.Select(v => (JsonNode?)v).ToArray());
        if (field.OneOfIntegers is not null)
            description["one_of"] = new JsonArray(field.OneOfIntegers.Select(v => (JsonNode?)v).ToArray());
        if (field.Min is { } min && field.Max is { } max)
            description["between"] = new JsonArray(Number(min), Number(max));
        else if (field.Min is { } onlyMin && field.Kind == FieldKind.Integer)
            description["gt"] = Number(onlyMin - 1);
        if (field.MinLength is { } minLength)
            description["len_min"] = minLength;
        if (field.MaxLength is { } maxLength)
            description["len_max"] = maxLength;
        if (field.MinItems is { } minItems)
            description["len_min"] = minItems;
        if (field.MaxItems is { } maxItems)
            description["len_max"] = maxItems;
        if (field.Secret)
            description["encrypted"] = true;
        if (field.ReadOnly && field.Auto == AutoValue.None)
            description["read_only"] = true;
        if (field.Elements is not null)
            description[field.Kind == FieldKind.Map ? "values" : "elements"] = Describe(field.Elements, defaultsShownRequired);
        if (field.Keys is not null)
            description["keys"] = Describe(field.Keys, defaultsShownRequired);
        if (field.Fields is not null)
            description["fields"] = Fields(field.Fields, defaultsShownRequired);
        // Patterns are .NET regexes, not Lua patterns: stating them as Kong's 'match' would mislead clients.
        return description;
    }

    private static JsonNode Number(double value) => value % 1 == 0 && Math.Abs(value) < 9e15 ? JsonValue.Create((long)value) : JsonValue.Create(value);

    private static string TypeName(FieldKind kind) => kind switch
    {
        FieldKind.String or FieldKind.Uuid => "string",
        FieldKind.Integer => "integer",
        FieldKind.Number => "number",
        FieldKind.Boolean => "boolean",
        FieldKind.Array => "array",
        FieldKind.Set => "set",
        FieldKind.Map => "map",
        FieldKind.Record => "record",
        FieldKind.Foreign => "foreign",
        _ => "json",
    };
}
