using System.Text.Json.Nodes;

namespace Gantry.Entities.Schema;

/// <summary>What happens to children when their parent is deleted.</summary>
public enum ParentDelete
{
    /// <summary>The parent cannot be deleted while children exist (routes of a service).</summary>
    Restrict,
    /// <summary>The children are deleted with the parent (plugins of a service).</summary>
    Cascade,
    /// <summary>The children's reference is cleared.</summary>
    SetNull,
}

/// <summary>
/// A transient list field whose names are rows of a child entity: a certificate's <c>snis</c> are the
/// <c>name</c>s of the <c>snis</c> rows whose <c>certificate</c> points at it. Writing the parent replaces
/// those rows; reading it lists them; the names also address the parent in URLs.
/// </summary>
public sealed record OwnedNameList(string Field, string Child, string Foreign, string Key);

/// <summary>An entity type: its table, fields, keys, and the rules that span several fields.</summary>
public sealed class EntitySchema
{
    private readonly Dictionary<string, Field> _byName;

    public EntitySchema(string name, IReadOnlyList<Field> fields)
    {
        Name = name;
        Fields = fields;
        _byName = fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        StoredFields = fields.Where(f => !f.Transient).ToList();
    }

    /// <summary>The fields that are columns of <see cref="Table"/>, in order.</summary>
    public IReadOnlyList<Field> StoredFields { get; }

    /// <summary>A transient list of child names written and read with the entity (a certificate's snis).</summary>
    public OwnedNameList? OwnedNames { get; init; }


    /// <summary>The collection name, as in the URL (<c>services</c>, <c>key_sets</c>).</summary>
    public string Name { get; }

    /// <summary>The URL segment, when it differs from the name (<c>key-sets</c>, <c>key-auths</c>).</summary>
    public string? Path { get; init; }

    public string Table { get; init; } = "";

    public IReadOnlyList<Field> Fields { get; }

    /// <summary>The field besides <c>id</c> that addresses an entity in URLs (<c>name</c>, <c>username</c>).</summary>
    public string? EndpointKey { get; init; }

    /// <summary>Fields that together are unique (a target's upstream and address): a clash is a 409.</summary>
    public IReadOnlyList<string[]> UniqueTogether { get; init; } = [];

    /// <summary>How deleting each referenced entity treats this one, by foreign field name.</summary>
    public IReadOnlyDictionary<string, ParentDelete> OnParentDelete { get; init; } = new Dictionary<string, ParentDelete>();

    /// <summary>
    /// Rules across fields; each returns (field or null for the whole entity, message) pairs. They run once
    /// every field is valid; a rule that declares what it reads is a <see cref="ReadingChecks"/> entry instead.
    /// </summary>
    public IReadOnlyList<Func<JsonObject, IEnumerable<(string? Field, string Message)>>> EntityChecks { get; init; } = [];

    /// <summary>
    /// Rules across fields that name the fields they read. As Kong runs its entity checks, each runs beside
    /// the errors of other fields and is skipped only when a field it reads is invalid, so one answer lists
    /// both kinds of error; it never sees a value of the wrong type.
    /// </summary>
    public IReadOnlyList<ReadingCheck> ReadingChecks { get; init; } = [];

    /// <summary>
    /// Checks that compile the complete entity as the node will (a route through the router's compiler),
    /// run only once every other check has passed, so that what is written is what every node can serve.
    /// </summary>
    public IReadOnlyList<Func<JsonObject, IEnumerable<(string? Field, string Message)>>> CompiledChecks { get; init; } = [];

    /// <summary>Fills computed fields before the entity is stored (a target's port, a consumer's lower-case name).</summary>
    public Action<JsonObject>? Normalize { get; init; }

    /// <summary>Rewrites shorthand input before validation (a service's url, a certificate's snis).</summary>
    public Action<JsonObject, ValidationErrors>? Shorthands { get; init; }

    /// <summary>
    /// Fills stored values from the client's input once the entity is valid, such as basic-auth's password
    /// hashed with the consumer's id: only a value the client sent is transformed, so an update that leaves
    /// the password out does not hash the stored hash again.
    /// </summary>
    public Action<JsonObject, JsonObject>? OnWrite { get; init; }

    /// <summary>The field whose value picks a subschema (a plugin's <c>name</c>), with <see cref="Subschemas"/>.</summary>
    public string? SubschemaKey { get; init; }

    /// <summary>
    /// The complete field list for one value of <see cref="SubschemaKey"/> (a plugin's fields with its own
    /// config record), or null when the value names no subschema; built once per value, not per request.
    /// </summary>
    public Func<string, IReadOnlyList<Field>?>? Subschemas { get; init; }

    /// <summary>The segment under a parent, when it differs (<c>/consumers/{c}/key-auth</c> for <c>key-auths</c>).</summary>
    public string? NestedPath { get; init; }

    /// <summary>Whether the entity has a tags field (filterable with ?tags=).</summary>
    public bool Taggable => _byName.ContainsKey("tags");

    /// <summary>
    /// Served only under its parent (<c>/upstreams/{u}/targets</c>): the top-level collection does not exist,
    /// and the endpoint key is looked up within the parent (two upstreams may both have a target "a:80").
    /// </summary>
    public bool ExposedOnlyNested { get; init; }

    /// <summary>
    /// Rows the proxy reads from the store when a request needs one (oauth2 tokens), instead of compiling
    /// them into every configuration snapshot: they are written by requests, many per second, and a
    /// snapshot rebuilt per write would cost more than the lookups.
    /// </summary>
    public bool ReadOnRequest { get; init; }

    /// <summary>Fields a list request may filter on by exact value (<c>/consumers?custom_id=X</c>).</summary>
    public IReadOnlyList<string> ListFilters { get; init; } = [];

    public string UrlSegment => Path ?? Name;

    public Field? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The fields to validate this input with: the subschema's when the key names one.</summary>
    public IReadOnlyList<Field> FieldsFor(JsonObject input, JsonObject? existing)
    {
        if (SubschemaKey is null || Subschemas is null)
            return Fields;
        var key = input[SubschemaKey] ?? existing?[SubschemaKey];
        // A list picks by its first element, as Kong picks a route's subschema by its first protocol.
        if (key is JsonArray list)
            key = list.Count > 0 ? list[0] : null;
        return key is JsonValue value && value.TryGetValue(out string? name) && Subschemas(name) is { } fields ? fields : Fields;
    }

    public IEnumerable<Field> ForeignFields => Fields.Where(f => f.Kind == FieldKind.Foreign);

    public override string ToString() => Name;
}

/// <summary>A rule across fields with the fields it reads (<see cref="EntitySchema.ReadingChecks"/>).</summary>
public sealed record ReadingCheck(IReadOnlyList<string> Reads, Func<JsonObject, IEnumerable<(string? Field, string Message)>> Run);
