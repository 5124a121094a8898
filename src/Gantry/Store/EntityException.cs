using System.Text.Json.Nodes;

namespace Gantry.Store;

/// <summary>
/// A write or read refused for a reason the client can fix, with Kong's error code, name and status
/// (2 schema violation, 3 primary key, 4 foreign key, 5 unique, 6 not found, 7 invalid offset, …).
/// </summary>
public sealed class EntityException(int status, int code, string name, string message, JsonNode? fields = null) : Exception(message)
{
    public int Status { get; } = status;

    public int Code { get; } = code;

    public string Name { get; } = name;

    public JsonNode? Fields { get; } = fields;

    public static EntityException SchemaViolation(Entities.Schema.ValidationErrors errors) =>
        new(400, 2, "schema violation", errors.Message, errors.Fields);

    public static EntityException Unique(string field, JsonNode? value) =>
        new(409, 5, "unique constraint violation", $"UNIQUE violation detected on '{{{field}={Lua(value)}}}'", new JsonObject { [field] = value?.DeepClone() });

    public static EntityException UniqueTogether(IReadOnlyList<(string Field, JsonNode? Value)> values) =>
        new(409, 5, "unique constraint violation",
            $"UNIQUE violation detected on '{{{string.Join(",", values.Select(v => $"{v.Field}={Lua(v.Value)}"))}}}'",
            new JsonObject(values.Select(v => KeyValuePair.Create(v.Field, v.Value?.DeepClone()))));

    /// <param name="key">How the reference named the parent: by <c>id</c>, or by its endpoint key (<c>name</c>, <c>username</c>).</param>
    public static EntityException ForeignKey(string field, string id, string entity, string key = "id") =>
        new(400, 4, "foreign key violation", $"the foreign key '{{{key}=\"{id}\"}}' does not reference an existing '{entity}' entity.",
            new JsonObject { [field] = new JsonObject { [key] = id } });

    public static EntityException ReferencedBy(string child, string parent) =>
        new(400, 4, "foreign key violation", $"an existing '{child}' entity references this '{parent}' entity",
            new JsonObject { ["@referenced_by"] = child });

    /// <summary>A delete refused because an array of ids elsewhere still names the entity (Kong's code 19).</summary>
    public static EntityException ReferencedByOthers(string message) =>
        new(400, 19, "referenced by others", message);

    /// <summary>A write on a node without a database (Kong's code 12, answered 405).</summary>
    /// <param name="operation">create, update, create or update, remove.</param>
    /// <param name="byKey">The endpoint key the entity was named by, when not its id.</param>
    public static EntityException OperationUnsupported(string operation, string entity, string? byKey = null) =>
        new(405, 12, "operation unsupported",
            $"cannot {operation} '{entity}' entities{(byKey is null ? "" : $" by '{byKey}'")} when not using a database");

    /// <summary>The entity a write names is gone (deleted by a concurrent request): Kong's plain 404.</summary>
    public static EntityException NotFound() => new(404, 6, "not found", "Not found");

    public static EntityException InvalidOffset(string offset) =>
        new(400, 7, "invalid offset", $"'{offset}' is not a valid offset: bad base64 encoding");

    /// <summary>Kong prints keys as Lua tables: strings quoted, references as {id="…"}.</summary>
    private static string Lua(JsonNode? value) => value switch
    {
        JsonObject o when o["id"] is { } id => $"{{id=\"{id.GetValue<string>()}\"}}",
        JsonValue v when v.TryGetValue(out string? s) => $"\"{s}\"",
        null => "null",
        _ => value.ToJsonString(),
    };
}
