using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gantry.Entities;
using Gantry.Entities.Schema;
using Gantry.Store;

namespace Gantry.Declarative;

/// <summary>
/// Reads a declarative document (YAML or JSON, <c>_format_version</c> 1.1, 2.1 or 3.0) into a
/// configuration ready to write: nested children are flattened, references by id or endpoint key are
/// resolved to ids, missing ids are generated deterministically (<see cref="DeclarativeIds"/>), older
/// versions are converted, and every entity goes through the write path's validation
/// (<see cref="EntityWriter.Validate"/>). A document with errors never throws: every error is collected,
/// with the entity and field it concerns, and no configuration is returned.
/// </summary>
public sealed partial class DeclarativeLoader(EntityRegistry registry)
{
    public static readonly IReadOnlyList<string> FormatVersions = ["1.1", "2.1", "3.0"];

    /// <summary>Top-level keys that are not collections; <c>_comment</c>, <c>_ignore</c> and <c>_workspace</c> are ignored.</summary>
    private static readonly HashSet<string> MetaKeys = new(StringComparer.Ordinal) { "_format_version", "_transform", "_comment", "_ignore", "_workspace" };

    private readonly IReadOnlyList<EntitySchema> _order = EntityOrder.Of(registry);

    private static readonly ParallelOptions ValidationParallelism = new() { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount - 1) };

    private const int ValidationBatch = 4096;

    public DeclarativeLoad Load(string text)
    {
        JsonNode? root;
        try
        {
            root = DeclarativeText.Parse(text);
        }
        catch (DeclarativeSyntaxException e)
        {
            return new DeclarativeLoad(null, [DeclarativeError.Document(null, e.Message)]);
        }
        if (root is not JsonObject document)
            return new DeclarativeLoad(null, [DeclarativeError.Document(null, "expected an object with _format_version and entity collections at the top level")]);
        return Load(document);
    }

    /// <summary>A document already parsed (a control plane's configuration); its collections are taken apart while loading.</summary>
    public DeclarativeLoad Load(JsonObject document)
    {

        var documentErrors = new List<DeclarativeError>();
        var version = FormatVersion(document, documentErrors);
        var transform = true;
        if (document.TryGetPropertyValue("_transform", out var transformNode) && transformNode is not null)
        {
            if (transformNode.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
                transform = transformNode.GetValue<bool>();
            else
                documentErrors.Add(DeclarativeError.Document("_transform", "expected a boolean"));
        }

        var entries = new List<Entry>();
        foreach (var (key, value) in document)
        {
            if (MetaKeys.Contains(key))
                continue;
            if (registry.Find(key) is not { } schema)
            {
                documentErrors.Add(DeclarativeError.Document(key, "unknown field"));
                continue;
            }
            Collect(schema, value, null, null, key, entries, documentErrors);
        }
        if (version is "1.1" or "2.1")
            ConvertRegexPaths(entries);

        var index = new EntryIndex();
        foreach (var entry in entries)
            index.AddDeclared(entry);
        var bySchema = entries.ToLookup(e => e.Schema.Name);
        foreach (var schema in _order)
        {
            foreach (var entry in bySchema[schema.Name])
            {
                ResolveReferences(entry, index);
                entry.Id ??= GenerateId(entry);
                index.AddId(entry);
            }
        }
        // Entities validate independently of one another (a route compiles its own router), so in parallel,
        // but leaving one core to the proxy: on all cores a DB-less reload took the proxy's p99 from 21 to
        // 200 ms under load (bench/README.md).
        // In batches, each checked for duplicates right after it validated: an entity found good lets go of its
        // declared form there, so that a large document is never held twice over (declared and validated).
        var unique = new UniqueValues();
        for (var start = 0; start < entries.Count; start += ValidationBatch)
        {
            var end = Math.Min(entries.Count, start + ValidationBatch);
            Parallel.For(start, end, ValidationParallelism, i => Validate(entries[i], transform));
            for (var i = start; i < end; i++)
            {
                // One duplicate is reported once: an entity already refused is not compared again.
                var entry = entries[i];
                if (entry.Validated is null || entry.Errors.Count > 0)
                    continue;
                unique.Check(entry);
                // Only a refused entity's declared form is shown again (in its error); a later duplicate is the one refused.
                if (entry.Errors.Count == 0)
                    entry.ReleaseInput();
            }
        }

        var errors = documentErrors.Concat(entries.Where(e => e.Errors.Count > 0).Select(ErrorOf)).ToList();
        if (errors.Count > 0)
            return new DeclarativeLoad(null, errors);
        var ordered = _order.SelectMany(schema => bySchema[schema.Name].OrderBy(e => e.Id, StringComparer.Ordinal))
            .Select(e => new DeclaredEntity(e.Schema, e.Validated!)).ToList();
        return new DeclarativeLoad(new DeclarativeConfig(ordered), []);
    }

    private static string? FormatVersion(JsonObject document, List<DeclarativeError> errors)
    {
        var accepted = $"expected one of: {string.Join(", ", FormatVersions)}";
        if (document["_format_version"] is not JsonValue value)
        {
            errors.Add(DeclarativeError.Document("_format_version", $"required field missing; {accepted}"));
            return null;
        }
        // An unquoted 3.0 is a YAML float; it is meant as the version all the same.
        var text = value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.Number => value.GetValue<double>().ToString("0.0", CultureInfo.InvariantCulture),
            _ => null,
        };
        if (text is not null && FormatVersions.Contains(text))
            return text;
        errors.Add(DeclarativeError.Document("_format_version", $"{accepted} (got {value.ToJsonString()})"));
        return null;
    }

    /// <summary>One declared entity on its way through loading.</summary>
    private sealed class Entry(EntitySchema schema, JsonObject input, Entry? parent, Field? parentField)
    {
        public EntitySchema Schema { get; } = schema;

        /// <summary>The entity as declared, its nested children taken out and references turned into ids.</summary>
        public JsonObject Input { get; private set; } = input;

        /// <summary>The entity it is nested under, which its <see cref="ParentField"/> points at.</summary>
        public Entry? Parent { get; } = parent;

        public Field? ParentField { get; } = parentField;

        public string? Id { get; set; }

        public JsonObject? Validated { get; set; }

        public List<DeclarativeFieldError> Errors { get; } = [];

        public string? EndpointKeyValue => Schema.EndpointKey is { } key && Input[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

        /// <summary>Once validated and found unique, the declared form is never read again: it is let go.</summary>
        public void ReleaseInput() => Input = null!;

        public void Fail(string? field, string message) => Errors.Add(new DeclarativeFieldError(field is null ? "entity" : "field", field, message));
    }

    /// <summary>
    /// Adds the entities of one collection, and recursively those nested in them: any entity type with a
    /// reference to this one may be nested under it by its collection name (a service's <c>routes</c> and
    /// <c>plugins</c>, a consumer's credentials, a certificate's <c>snis</c>, which may also be plain names).
    /// </summary>
    private void Collect(EntitySchema schema, JsonNode? collection, Entry? parent, Field? parentField, string path, List<Entry> entries, List<DeclarativeError> documentErrors)
    {
        if (collection is null)
            return;
        if (collection is not JsonArray items)
        {
            if (parent is null)
                documentErrors.Add(DeclarativeError.Document(path, "expected an array"));
            else
                parent.Fail(schema.Name, "expected an array");
            return;
        }
        // Taken out of the parsed document rather than copied: each entity's object becomes its entry's.
        var detached = items.ToList();
        items.Clear();
        foreach (var item in detached)
        {
            JsonObject input;
            if (item is JsonObject obj)
                input = obj;
            else if (parent is not null && parent.Schema.OwnedNames is { } owned && owned.Child == schema.Name && item is JsonValue v && v.TryGetValue(out string? name))
                input = new JsonObject { [owned.Key] = name };
            else
            {
                var error = $"expected an object, got {item?.ToJsonString() ?? "null"}";
                if (parent is null)
                    documentErrors.Add(DeclarativeError.Document(path, error));
                else
                    parent.Fail(schema.Name, error);
                continue;
            }
            input.Remove("_comment");
            input.Remove("_ignore");
            var entry = new Entry(schema, input, parent, parentField);
            entries.Add(entry);
            foreach (var (child, field) in registry.ChildrenOf(schema.Name))
            {
                // A field of the entity's own by that name wins, except the list of names the children hold.
                if (!input.ContainsKey(child.Name) || (schema.Find(child.Name) is { } own && schema.OwnedNames?.Field != own.Name))
                    continue;
                var nested = input[child.Name];
                input.Remove(child.Name);
                Collect(child, nested, entry, field, $"{path}.{child.Name}", entries, documentErrors);
            }
        }
    }

    /// <summary>
    /// Before 3.0 a route path was a regex whenever it held a character outside the plain set; 3.0 marks
    /// regexes with a leading '~'. A 1.1 or 2.1 document's paths are converted the way Kong converts them.
    /// </summary>
    private static void ConvertRegexPaths(List<Entry> entries)
    {
        foreach (var entry in entries.Where(e => e.Schema.Name == "routes"))
        {
            if (entry.Input["paths"] is not JsonArray paths)
                continue;
            for (var i = 0; i < paths.Count; i++)
            {
                if (paths[i] is JsonValue v && v.TryGetValue(out string? path) && !PlainPath().IsMatch(path))
                    paths[i] = "~" + path;
            }
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9.\-_~/%]*$")]
    private static partial Regex PlainPath();

    /// <summary>The document's entities by id and by unique endpoint key, per entity type.</summary>
    private sealed class EntryIndex
    {
        private readonly Dictionary<string, Dictionary<string, Entry>> _byId = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Dictionary<string, Entry>> _byKey = new(StringComparer.Ordinal);

        /// <summary>Records a declared id and endpoint key; a second entity with the same one is Kong's uniqueness violation.</summary>
        public void AddDeclared(Entry entry)
        {
            if (entry.Input["id"] is JsonValue v && v.TryGetValue(out string? id) && Guid.TryParse(id, out var guid))
                entry.Id = guid.ToString();
            if (UniqueKey(entry.Schema) is { } field && entry.EndpointKeyValue is { } key)
            {
                var keys = Table(_byKey, entry.Schema);
                var normalized = field.UniqueIgnoreCase ? key.ToLowerInvariant() : key;
                if (!keys.TryAdd(normalized, entry))
                    entry.Fail(null, Duplicate(entry.Schema, field.Name, key));
            }
        }

        public void AddId(Entry entry)
        {
            if (entry.Id is null)
                return;
            if (!Table(_byId, entry.Schema).TryAdd(entry.Id, entry) && entry.Errors.Count == 0)
            {
                // A generated id repeats when what it is made of repeats (a target twice in one upstream).
                var generated = entry.Input["id"] is null;
                var field = generated && entry.Schema.EndpointKey is { } key && entry.Input[key] is JsonValue ? key : "id";
                entry.Fail(null, Duplicate(entry.Schema, field, field == "id" ? entry.Id : entry.EndpointKeyValue!));
            }
        }

        public Entry? Find(EntitySchema schema, string? id, string? key)
        {
            if (id is not null && Guid.TryParse(id, out var guid))
                return Table(_byId, schema).GetValueOrDefault(guid.ToString());
            if (key is not null && UniqueKey(schema) is { } field)
                return Table(_byKey, schema).GetValueOrDefault(field.UniqueIgnoreCase ? key.ToLowerInvariant() : key);
            return null;
        }

        private static Field? UniqueKey(EntitySchema schema) => schema.EndpointKey is { } key && schema.Find(key) is { Unique: true } field ? field : null;

        private static Dictionary<string, Entry> Table(Dictionary<string, Dictionary<string, Entry>> tables, EntitySchema schema)
        {
            if (!tables.TryGetValue(schema.Name, out var table))
                tables[schema.Name] = table = new Dictionary<string, Entry>(StringComparer.Ordinal);
            return table;
        }
    }

    internal static string Duplicate(EntitySchema schema, string field, string value) =>
        $"uniqueness violation: '{schema.Name}' entity with {field} set to '{value}' already declared";

    /// <summary>
    /// Turns every reference into <c>{"id": …}</c>: the entity it is nested under, or an entity of the
    /// document named by id or endpoint key (<c>service: svc-a</c>, <c>service: {name: svc-a}</c>,
    /// <c>service: {id: …}</c>). A reference to an entity the document does not declare is an error.
    /// </summary>
    private void ResolveReferences(Entry entry, EntryIndex index)
    {
        foreach (var field in entry.Schema.ForeignFields)
        {
            var parentSchema = registry.Find(field.Reference!);
            if (!entry.Input.TryGetPropertyValue(field.Name, out var reference) || reference is null)
            {
                if (entry.Parent is not null && entry.ParentField == field && entry.Parent.Id is { } parentId)
                    entry.Input[field.Name] = new JsonObject { ["id"] = parentId };
                continue;
            }
            if (parentSchema is null)
                continue;
            string? id = null, key = null;
            switch (reference)
            {
                case JsonValue v when v.TryGetValue(out string? text):
                    if (Guid.TryParse(text, out _))
                        id = text;
                    else
                        key = text;
                    break;
                case JsonObject { Count: 1 } o when o["id"] is JsonValue idValue && idValue.TryGetValue(out string? text):
                    id = text;
                    break;
                case JsonObject { Count: 1 } o when parentSchema.EndpointKey is { } ek && o[ek] is JsonValue keyValue && keyValue.TryGetValue(out string? text):
                    key = text;
                    break;
                default:
                    // Not a reference's shape: validation names the problem.
                    continue;
            }
            var found = index.Find(parentSchema, id, key);
            if (found is null && id is not null && parentSchema.EndpointKey is not null)
                found = index.Find(parentSchema, null, id);
            if (found?.Id is null)
            {
                entry.Fail(field.Name, $"invalid reference '{field.Name}: {id ?? key}' (no such entry in '{parentSchema.Name}')");
                entry.Input.Remove(field.Name);
                continue;
            }
            entry.Input[field.Name] = new JsonObject { ["id"] = found.Id };
        }
    }

    /// <summary>
    /// The id of an entity declared without one: from its endpoint key when that is unique (a service's
    /// name), with its parents' ids when it is unique only under them (a target's address), from the
    /// fields that make it unique otherwise (a plugin's name and scope, an ACL's consumer and group), and
    /// from all of its fields when nothing else identifies it (a certificate).
    /// </summary>
    private static string GenerateId(Entry entry)
    {
        var schema = entry.Schema;
        string ParentIds() => string.Concat(schema.ForeignFields.Select(f => ":" + (entry.Input[f.Name]?["id"]?.GetValue<string>() ?? "")));
        string key;
        if (entry.EndpointKeyValue is { } endpointKey && schema.Find(schema.EndpointKey!)!.Unique)
            key = endpointKey;
        else if (entry.EndpointKeyValue is { } scopedKey)
            key = scopedKey + ParentIds();
        else if (schema.Name == "plugins" && entry.Input["name"] is JsonValue name)
            key = $"{name}{ParentIds()}";
        else if (schema.UniqueTogether.Count > 0)
            key = string.Join(":", schema.UniqueTogether[0].Select(f => entry.Input[f] is JsonObject o ? o["id"]?.ToJsonString() : entry.Input[f]?.ToJsonString()));
        else
            key = Canonical(entry.Input);
        return DeclarativeIds.For(schema.Name, key);
    }

    /// <summary>The entity's fields as JSON with keys sorted, so that the same fields give the same text.</summary>
    private static string Canonical(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(",", o.Where(p => p.Key != "id").OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => JsonValue.Create(p.Key).ToJsonString() + ":" + Canonical(p.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };

    /// <summary>The write path's validation; timestamps a document carries (an export's) are kept.</summary>
    private static void Validate(Entry entry, bool transform)
    {
        var input = (JsonObject)entry.Input.DeepClone();
        if (entry.Id is not null)
            input["id"] = entry.Id;
        try
        {
            var entity = EntityWriter.Validate(entry.Schema, input, WriteMode.Insert, null, lenient: false, transform);
            if (KeepTimestamps(entry.Schema, entry.Input, entity) is { } wrong)
                entry.Fail(wrong, "expected a number");
            entry.Validated = entity;
        }
        catch (EntityException e)
        {
            if (e.Fields is JsonObject fields && e.Code == 2)
                Flatten(fields, null, entry);
            else
                entry.Fail(null, e.Message);
        }
    }

    /// <summary>
    /// Puts the timestamps <paramref name="given"/> carries (an export's, a control plane's) into the validated
    /// <paramref name="entity"/>, which has the server's; returns the name of one that is not a number, or null.
    /// </summary>
    public static string? KeepTimestamps(EntitySchema schema, JsonObject given, JsonObject entity)
    {
        string? wrong = null;
        foreach (var name in (string[])["created_at", "updated_at"])
        {
            if (schema.Find(name) is not { } field || given[name] is not { } value)
                continue;
            if (value is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() >= 0)
                entity[name] = field.Kind == FieldKind.Integer ? JsonValue.Create((long)v.GetValue<double>()) : JsonValue.Create(v.GetValue<double>());
            else
                wrong ??= name;
        }
        return wrong;
    }

    /// <summary>Kong's nested <c>fields</c> tree as flat errors: <c>config.minute</c>, and <c>@entity</c> rules as entity errors.</summary>
    private static void Flatten(JsonObject fields, string? prefix, Entry entry)
    {
        foreach (var (name, value) in fields)
        {
            if (name == "@entity" && value is JsonArray messages)
            {
                foreach (var message in messages)
                    entry.Errors.Add(new DeclarativeFieldError("entity", prefix, message!.GetValue<string>()));
                continue;
            }
            var path = prefix is null ? name : $"{prefix}.{name}";
            if (value is JsonObject nested)
                Flatten(nested, path, entry);
            else if (value is JsonArray list)
                FlattenList(list, path, entry);
            else if (value is not null)
                entry.Fail(path, value is JsonValue v && v.TryGetValue(out string? text) ? text : value.ToJsonString());
        }
    }

    /// <summary>A list's errors by position (1-based, as in the message); null positions are fine.</summary>
    private static void FlattenList(JsonArray list, string path, Entry entry)
    {
        for (var i = 0; i < list.Count; i++)
        {
            var at = $"{path}.{i + 1}";
            if (list[i] is JsonObject nested)
                Flatten(nested, at, entry);
            else if (list[i] is JsonArray inner)
                FlattenList(inner, at, entry);
            else if (list[i] is JsonValue v)
                entry.Fail(at, v.TryGetValue(out string? text) ? text : v.ToJsonString());
        }
    }

    /// <summary>Unique fields besides id and the endpoint key (a consumer's custom_id, a plugin's scope), checked on the validated values.</summary>
    private sealed class UniqueValues
    {
        private readonly Dictionary<(string Entity, string Field), HashSet<string>> _seen = [];

        public void Check(Entry entry)
        {
            var schema = entry.Schema;
            foreach (var field in schema.StoredFields.Where(f => f.Unique && f.Name != "id" && f.Name != schema.EndpointKey))
            {
                if (entry.Validated![field.Name] is not JsonValue value || !value.TryGetValue(out string? text))
                    continue;
                if (!_seen.TryGetValue((schema.Name, field.Name), out var seen))
                    _seen[(schema.Name, field.Name)] = seen = new HashSet<string>(StringComparer.Ordinal);
                if (seen.Add(field.UniqueIgnoreCase ? text.ToLowerInvariant() : text))
                    continue;
                if (field.KeyOf is { } parts)
                {
                    // An internal key (a plugin's scope) is named by the fields it is made of.
                    var described = string.Join(", ", parts.Select(p => $"{p} set to '{Describe(entry.Validated[p])}'"));
                    entry.Fail(null, $"uniqueness violation: '{schema.Name}' entity with {described} already declared");
                }
                else
                {
                    entry.Fail(field.Name, Duplicate(schema, field.Name, text));
                }
            }
            foreach (var together in schema.UniqueTogether)
            {
                var values = together.Select(f => Describe(entry.Validated![f])).ToList();
                if (!_seen.TryGetValue((schema.Name, string.Join(",", together)), out var seen))
                    _seen[(schema.Name, string.Join(",", together))] = seen = new HashSet<string>(StringComparer.Ordinal);
                if (!seen.Add(string.Join("\u0000", values)))
                    entry.Fail(null, $"uniqueness violation: '{schema.Name}' entity with {string.Join(", ", together.Select((f, i) => $"{f} set to '{values[i]}'"))} already declared");
            }
        }

        private static string Describe(JsonNode? value) => value switch
        {
            null => "null",
            JsonObject o when o["id"] is JsonValue id => id.GetValue<string>(),
            JsonValue v when v.TryGetValue(out string? s) => s,
            _ => value.ToJsonString(),
        };
    }

    private static DeclarativeError ErrorOf(Entry entry)
    {
        var name = entry.EndpointKeyValue
            ?? (entry.Input["name"] is JsonValue n && n.TryGetValue(out string? s) ? s : null)
            ?? (entry.Input["username"] is JsonValue u && u.TryGetValue(out string? user) ? user : null);
        var entity = (JsonObject)entry.Input.DeepClone();
        if (entry.Id is not null)
            entity["id"] = entry.Id;
        return new DeclarativeError(Singular(entry.Schema), name, entry.Id, entry.Input["tags"] as JsonArray is { } tags ? (JsonArray)tags.DeepClone() : null,
            entity, entry.Errors);
    }

    /// <summary>Kong's entity_type: the collection name in the singular (services → service, acls → acl).</summary>
    public static string Singular(EntitySchema schema) => schema.Name.EndsWith('s') ? schema.Name[..^1] : schema.Name;
}
