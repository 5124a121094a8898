using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using Gantry.Store;

namespace Gantry.Entities;

/// <summary>
/// The one way an entity is written, whatever brought it (the Admin API today; declarative documents and
/// hybrid pushes next): the schema's shorthands, validation of every field and every rule across fields
/// (route paths and headers through the compiler the router uses), defaults, server-side timestamps,
/// then the store, which checks references and uniqueness inside its transaction. Every failure is an
/// <see cref="EntityException"/> in Kong's terms; nothing is written when there is one.
/// </summary>
/// <param name="readOnly">True on a node without a database: every write is validated as usual, then
/// refused with Kong's 405 "operation unsupported" (a document loaded through /config is the only way in).</param>
public sealed class EntityWriter(EntityDao dao, bool readOnly = false)
{
    /// <summary>Creates the entity (POST); a clash on its id is a primary key violation.</summary>
    public async Task<JsonObject> CreateAsync(EntitySchema schema, JsonObject input, bool lenient, CancellationToken cancellationToken)
    {
        await ResolveReferencesAsync(schema, input, cancellationToken);
        var entity = Validate(schema, input, WriteMode.Insert, null, lenient);
        RefuseWhenReadOnly("create", schema, null);
        return await dao.InsertAsync(schema, entity, cancellationToken);
    }

    /// <summary>Creates or replaces the entity with the input's id (PUT); <paramref name="existing"/> is the stored one, if any.</summary>
    /// <param name="byKey">The endpoint key the URL named the entity by (<c>name</c>), null when it named the id.</param>
    public async Task<JsonObject> ReplaceAsync(EntitySchema schema, JsonObject input, JsonObject? existing, bool lenient, CancellationToken cancellationToken,
        string? byKey = null)
    {
        await ResolveReferencesAsync(schema, input, cancellationToken);
        var entity = Validate(schema, input, WriteMode.Replace, existing, lenient);
        RefuseWhenReadOnly("create or update", schema, byKey);
        return await dao.UpsertAsync(schema, entity, cancellationToken);
    }

    /// <summary>Changes the given fields of a stored entity (PATCH); records merge into the stored ones.</summary>
    /// <param name="byKey">The endpoint key the URL named the entity by (<c>name</c>), null when it named the id.</param>
    public async Task<JsonObject> UpdateAsync(EntitySchema schema, JsonObject patch, JsonObject existing, bool lenient, CancellationToken cancellationToken,
        string? byKey = null)
    {
        patch.Remove("id");
        await ResolveReferencesAsync(schema, patch, cancellationToken);
        var entity = Validate(schema, patch, WriteMode.Update, existing, lenient);
        RefuseWhenReadOnly("update", schema, byKey);
        return await dao.UpdateAsync(schema, entity, cancellationToken);
    }

    private void RefuseWhenReadOnly(string operation, EntitySchema schema, string? byKey)
    {
        if (readOnly)
            throw EntityException.OperationUnsupported(operation, schema.Name, byKey);
    }

    /// <summary>
    /// Kong takes a reference by the parent's endpoint key as well as by id (<c>"service": {"name": "svc"}</c>,
    /// <c>service.name=svc</c> in a form); it is turned into the id here, so the rest of the path sees ids only.
    /// </summary>
    private async Task ResolveReferencesAsync(EntitySchema schema, JsonObject input, CancellationToken cancellationToken)
    {
        foreach (var field in schema.ForeignFields)
        {
            if (input[field.Name] is not JsonObject { Count: 1 } reference || reference.ContainsKey("id"))
                continue;
            if (dao.Registry.Find(field.Reference!) is not { EndpointKey: { } key } parent
                || reference[key] is not JsonValue value || !value.TryGetValue(out string? name))
                continue;
            var found = await dao.FindByFieldAsync(parent, parent.Find(key)!, name, cancellationToken)
                ?? throw EntityException.ForeignKey(field.Name, name, parent.Name, key);
            input[field.Name] = new JsonObject { ["id"] = found["id"]!.DeepClone() };
        }
    }

    /// <summary>Deletes the entity and, by the schemas' rules, its children; false when it did not exist.</summary>
    /// <param name="byKey">The endpoint key the URL named the entity by (<c>name</c>), null when it named the id.</param>
    public Task<bool> DeleteAsync(EntitySchema schema, string id, CancellationToken cancellationToken, string? byKey = null)
    {
        RefuseWhenReadOnly("remove", schema, byKey);
        return dao.DeleteAsync(schema, id, cancellationToken);
    }

    /// <summary>
    /// The complete entity the input makes, as it would be stored, without writing it: what every write
    /// runs first, and what the Admin API's <c>/schemas/…/validate</c> endpoints answer with.
    /// </summary>
    /// <param name="transform">False when the values are already as stored (a declarative document's <c>_transform: false</c>).</param>
    /// <exception cref="EntityException">A schema violation listing every field at fault.</exception>
    public static JsonObject Validate(EntitySchema schema, JsonObject input, WriteMode mode, JsonObject? existing, bool lenient, bool transform = true)
    {
        var errors = new ValidationErrors();
        schema.Shorthands?.Invoke(input, errors);
        // Timestamps belong to the server: a client's are ignored, as in Kong.
        input.Remove("created_at");
        input.Remove("updated_at");
        var entity = SchemaValidator.Prepare(schema, input, mode, existing, lenient, errors, transform);
        if (errors.Any)
            throw EntityException.SchemaViolation(errors);
        var now = schema.Find("updated_at")?.Kind == FieldKind.Number
            ? (JsonNode)Math.Round(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, 3)
            : DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (schema.Find("updated_at") is not null)
            entity["updated_at"] = now;
        // A new entity is created and updated at the same instant (a replace keeps its stored created_at).
        if (schema.Find("created_at") is not null && (mode != WriteMode.Update || entity["created_at"] is null))
            entity["created_at"] = now.DeepClone();
        return entity;
    }
}
