using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Gantry.Entities.Schema;

public enum FieldKind
{
    String,
    /// <summary>A UUID, written as a string; stored as uuid on PostgreSQL.</summary>
    Uuid,
    Integer,
    Number,
    Boolean,
    /// <summary>An ordered list.</summary>
    Array,
    /// <summary>A list without duplicates (order kept, duplicates dropped).</summary>
    Set,
    /// <summary>String keys to values of one type.</summary>
    Map,
    /// <summary>A nested object with fields of its own (a plugin's config, an upstream's healthchecks).</summary>
    Record,
    /// <summary>A reference to another entity, written {"id": "…"}.</summary>
    Foreign,
    /// <summary>Any JSON value.</summary>
    Json,
}

/// <summary>What the database fills in when a value is absent.</summary>
public enum AutoValue
{
    None,
    Uuid,
    /// <summary>Unix seconds (targets: seconds with millisecond fraction).</summary>
    Timestamp,
    /// <summary>32 random alphanumerics, as Kong generates keys and secrets.</summary>
    RandomString,
}

/// <summary>
/// One field of an entity (or of a nested record): its type, default and constraints. Built once, at
/// start-up, into immutable schemas; validation never allocates regexes or closures per request.
/// </summary>
public sealed class Field
{
    public Field(string name, FieldKind kind)
    {
        Name = name;
        Kind = kind;
    }

    public string Name { get; }

    public FieldKind Kind { get; }

    public bool Required { get; init; }

    /// <summary>
    /// Whether the schema endpoints show the field as <c>required</c>, where Kong's schema differs from
    /// <see cref="Required"/>: true for a field Kong marks required although a default fills it when absent,
    /// false for a record Gantry requires only to fill its defaults. Null: as <see cref="Required"/>. Kong
    /// Manager marks form fields by it; validation never reads it.
    /// </summary>
    public bool? DescribedRequired { get; init; }

    /// <summary>The value an absent field takes on insert (and on PUT, which replaces the whole entity).</summary>
    public JsonNode? Default { get; init; }

    public AutoValue Auto { get; init; }

    /// <summary>Unique across the entity's table: a clash is a 409.</summary>
    public bool Unique { get; init; }

    /// <summary>Compared case-insensitively for uniqueness and lookups (consumer usernames).</summary>
    public bool UniqueIgnoreCase { get; init; }

    /// <summary>
    /// The internal field holding this field's value with ASCII letters lowered (a consumer's username_lower):
    /// a lookup by this field that finds no exact match looks there, so any casing finds the entity.
    /// </summary>
    public string? FoldedBy { get; init; }

    /// <summary>Kept out of responses of GET / and logs (passwords, private keys).</summary>
    public bool Secret { get; init; }

    /// <summary>Stored but never shown nor accepted: computed keys such as a plugin's cache_key.</summary>
    public bool Internal { get; init; }

    /// <summary>
    /// Accepted and shown but not a column of the entity's table: a certificate's <c>snis</c>, which live as
    /// rows of their own and are written and read back by the DAO (see <see cref="EntitySchema.OwnedNames"/>).
    /// </summary>
    public bool Transient { get; init; }

    /// <summary>
    /// For arrays of ids: the entity the ids point at (a service's <c>ca_certificates</c>). Not a foreign key,
    /// but the referenced entity cannot be deleted while an array names it.
    /// </summary>
    public string? ElementReference { get; init; }

    /// <summary>
    /// For an internal key computed from other fields (a plugin's cache_key from its name and scope): the
    /// fields a clash is reported on, since the key itself means nothing to the client.
    /// </summary>
    public IReadOnlyList<string>? KeyOf { get; init; }

    /// <summary>Not writable by clients (created_at, updated_at, computed fields).</summary>
    public bool ReadOnly { get; init; }

    public int? MinLength { get; init; }

    public int? MaxLength { get; init; }

    public Regex? Pattern { get; init; }

    /// <summary>The message when <see cref="Pattern"/> does not match, such as "invalid hostname".</summary>
    public string? PatternMessage { get; init; }

    public IReadOnlyList<string>? OneOf { get; init; }

    /// <summary>The integers an integer field may take (a route's <c>https_redirect_status_code</c>), in Kong's order.</summary>
    public IReadOnlyList<long>? OneOfIntegers { get; init; }

    public double? Min { get; init; }

    public double? Max { get; init; }

    /// <summary>Element type of arrays and sets, value type of maps.</summary>
    public Field? Elements { get; init; }

    /// <summary>Key type of maps.</summary>
    public Field? Keys { get; init; }

    public int? MaxItems { get; init; }

    public int? MinItems { get; init; }

    /// <summary>Fields of a record.</summary>
    public IReadOnlyList<Field>? Fields { get; init; }

    /// <summary>The entity a foreign field points to.</summary>
    public string? Reference { get; init; }

    /// <summary>A check of the value beyond its type, returning an error message or null.</summary>
    public Func<JsonNode, string?>? Check { get; init; }

    /// <summary>
    /// For records: a rule across the record's own fields, run once they are valid; its message is listed
    /// under the record's <c>@entity</c>, as Kong reports a record's entity checks.
    /// </summary>
    public Func<System.Text.Json.Nodes.JsonObject, string?>? RecordCheck { get; init; }

    /// <summary>The database column: <c>service_id</c> for the foreign field <c>service</c>.</summary>
    public string Column => Kind == FieldKind.Foreign ? Name + "_id" : Name;

    public override string ToString() => $"{Name} ({Kind})";
}
