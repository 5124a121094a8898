using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using Gantry.Store;

namespace Gantry.Declarative;

/// <summary>
/// The whole store as a declarative document, as <c>config db_export</c> writes it:
/// <c>_format_version: "3.0"</c> and <c>_transform: false</c> (values are as stored: basic-auth passwords
/// are their hashes), one flat top-level collection per entity type in dependency order (parents first),
/// entities by id, references as plain ids, every stored field with its value including defaults, keys
/// sorted. Unlike Kong's export, null fields are left out: an absent field loads exactly as a null one,
/// and the document stays readable. Internal keys (a plugin's cache_key) and the names a certificate
/// lists (its SNIs are exported as <c>snis</c> entities) are not exported. The same store always gives
/// the same bytes, so export, import elsewhere and export again compare equal. Everything is read in one
/// snapshot of the database, as Kong's export reads in one repeatable-read transaction.
/// </summary>
public static class DeclarativeExporter
{
    public static async Task<JsonObject> ExportAsync(EntityDao dao, CancellationToken ct)
    {
        var document = new JsonObject { ["_format_version"] = "3.0", ["_transform"] = false };
        var schemas = EntityOrder.Of(dao.Registry);
        var tables = await dao.ReadAllAsync(schemas, ct);
        for (var i = 0; i < schemas.Count; i++)
        {
            if (tables[i].Count == 0)
                continue;
            // Sorted here as well: uuid order in PostgreSQL and text order in SQLite agree only for lower-case ids.
            document[schemas[i].Name] = new JsonArray(tables[i].Select(e => WireForm(schemas[i], e))
                .OrderBy(e => e["id"]!.GetValue<string>(), StringComparer.Ordinal).Select(e => (JsonNode?)e).ToArray());
        }
        return document;
    }

    /// <summary>Counts of the entities a document holds, per collection, for messages.</summary>
    public static IEnumerable<(string Collection, int Count)> Counts(JsonObject document) =>
        document.Where(p => p.Value is JsonArray).Select(p => (p.Key, p.Value!.AsArray().Count));

    /// <summary>
    /// One stored entity as the export writes it (stored fields only, keys sorted, nulls left out, references
    /// as plain ids): also the form a control plane sends entities to its data planes in and hashes them by.
    /// </summary>
    public static JsonObject WireForm(EntitySchema schema, JsonObject entity)
    {
        var exported = new JsonObject();
        foreach (var field in schema.StoredFields.Where(f => !f.Internal).OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            var value = entity[field.Name];
            if (value is null)
                continue;
            exported[field.Name] = field.Kind == FieldKind.Foreign ? value["id"]?.DeepClone() : Sorted(value);
        }
        return exported;
    }

    /// <summary>Objects with their keys sorted and nulls dropped, at every depth: PostgreSQL's jsonb reorders keys, SQLite keeps them.</summary>
    private static JsonNode? Sorted(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Where(p => p.Value is not null).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value)))),
        JsonArray a => new JsonArray(a.Select(Sorted).ToArray()),
        _ => node?.DeepClone(),
    };
}
