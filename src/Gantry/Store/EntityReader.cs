using System.Data.Common;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Store.DbCommandExtensions;

namespace Gantry.Store;

/// <summary>The entity reads, on a connection (and transaction) the caller holds, so reads and writes share them.</summary>
internal sealed class EntityReader(EntityRegistry registry, EntityRowMapper mapper)
{
    private ISqlDialect Dialect => mapper.Dialect;

    /// <summary>
    /// By id, or by endpoint key (a service's name) when the value is not a UUID. With a parent, only an
    /// entity of that parent is found: a target's address is unique within its upstream only.
    /// </summary>
    public async Task<JsonObject?> GetAsync(DbConnection connection, DbTransaction? transaction, EntitySchema schema, string idOrKey, (string Column, string Id)? parent, CancellationToken cancellationToken)
    {
        if (Guid.TryParse(idOrKey, out var id))
        {
            var found = await FindAsync(connection, transaction, schema, "id", mapper.Uuid(id.ToString()), cancellationToken);
            if (found is not null || schema.EndpointKey is null)
                return found;
        }
        if (schema.EndpointKey is { } key)
            return await FindByFieldAsync(connection, transaction, schema, schema.Find(key)!, idOrKey, cancellationToken, parent);
        if (schema.OwnedNames is { } owned)
        {
            // A certificate is also addressed by any of its SNI names.
            var child = registry.Get(owned.Child);
            var row = await FindAsync(connection, transaction, child, child.Find(owned.Key)!.Column, idOrKey, cancellationToken);
            if (row?[owned.Foreign]?["id"]?.GetValue<string>() is { } parentId)
                return await FindAsync(connection, transaction, schema, "id", mapper.Uuid(parentId), cancellationToken);
        }
        return null;
    }

    /// <summary>
    /// By the value of one field; for a field that ignores case (<see cref="Field.FoldedBy"/>), an exact match
    /// first, then any casing. Exact first, because rows written by a release that did not fold case may
    /// still differ only in case until 'migrations finish' makes the folded value unique.
    /// </summary>
    public async Task<JsonObject?> FindByFieldAsync(DbConnection connection, DbTransaction? transaction, EntitySchema schema, Field field, string value,
        CancellationToken cancellationToken, (string Column, string Id)? parent = null)
    {
        var found = await FindAsync(connection, transaction, schema, field.Column, value, cancellationToken, parent);
        if (found is null && field.FoldedBy is { } folded)
            found = await FindAsync(connection, transaction, schema, schema.Find(folded)!.Column, AsciiCase.Lower(value), cancellationToken, parent);
        return found;
    }

    /// <param name="lockClause">The dialect's row lock, when the caller writes depending on the row.</param>
    public async Task<JsonObject?> FindAsync(DbConnection connection, DbTransaction? transaction, EntitySchema schema, string column, object value, CancellationToken cancellationToken,
        (string Column, string Id)? parent = null, string lockClause = "")
    {
        var sql = $"SELECT {mapper.SelectList(schema)} FROM {Quote(schema.Table)} WHERE {Quote(column)} = {mapper.Parameter(schema, column, "v")}"
            + (parent is { } p ? $" AND {Quote(p.Column)} = {mapper.Parameter(schema, p.Column, "parent")}" : "") + " LIMIT 1" + lockClause;
        await using var command = connection.Command(transaction, sql, ("v", value));
        if (parent is { } scope)
            command.With("parent", mapper.Uuid(scope.Id));
        var rows = await command.ListAsync(reader => mapper.Read(schema, reader), cancellationToken);
        return rows.Count > 0 ? rows[0] : null;
    }

    /// <summary>Ids of the rows whose <paramref name="column"/> holds the id <paramref name="value"/>.</summary>
    public Task<List<string>> IdsAsync(DbConnection connection, DbTransaction? transaction, EntitySchema schema, string column, string value, CancellationToken cancellationToken) =>
        connection.ListAsync(transaction, $"SELECT \"id\" FROM {Quote(schema.Table)} WHERE {Quote(column)} = {mapper.Parameter(schema, column, "v")}",
            reader => reader.GetValue(0).ToString()!, cancellationToken, ("v", mapper.Uuid(value)));

    /// <summary>Fills the transient name list (a certificate's snis, sorted) of each entity from the child rows.</summary>
    public async Task AttachOwnedNamesAsync(DbConnection connection, DbTransaction? transaction, EntitySchema schema, IReadOnlyList<JsonObject> entities, CancellationToken cancellationToken)
    {
        if (schema.OwnedNames is not { } owned || entities.Count == 0)
            return;
        var child = registry.Get(owned.Child);
        var foreignColumn = child.Find(owned.Foreign)!.Column;
        var names = entities.ToDictionary(e => e["id"]!.GetValue<string>().ToLowerInvariant(), _ => new List<string>());
        var ids = names.Keys.Select((id, i) => ($"p{i}", (object?)mapper.Uuid(id))).ToArray();
        var rows = await connection.ListAsync(transaction,
            $"SELECT {Quote(foreignColumn)}, {Quote(child.Find(owned.Key)!.Column)} FROM {Quote(child.Table)} WHERE {Quote(foreignColumn)} IN ({string.Join(", ", ids.Select(p => mapper.UuidParameter(p.Item1)))})",
            reader => (Parent: reader.GetValue(0).ToString()!.ToLowerInvariant(), Name: reader.GetString(1)), cancellationToken, ids);
        foreach (var (parent, name) in rows)
            names[parent].Add(name);
        foreach (var entity in entities)
        {
            var list = names[entity["id"]!.GetValue<string>().ToLowerInvariant()];
            list.Sort(StringComparer.Ordinal);
            entity[owned.Field] = new JsonArray(list.Select(n => (JsonNode?)n).ToArray());
        }
    }

    public async Task<EntityPage> PageAsync(DbConnection connection, EntitySchema schema, PageRequest request, CancellationToken cancellationToken)
    {
        var after = PageOffset.Decode(request.Offset);
        await using var command = connection.CreateCommand();
        var where = new List<string>();
        if (after is not null)
        {
            where.Add($"\"id\" {(request.Descending ? "<" : ">")} {mapper.Parameter(schema, "id", "after")}");
            command.With("after", mapper.Uuid(after));
        }
        if (request.Parent is { } parent)
        {
            where.Add($"{Quote(parent.Column)} = {mapper.Parameter(schema, parent.Column, "parent")}");
            command.With("parent", mapper.Uuid(parent.Id));
        }
        if (request.Tags.Count > 0)
            where.Add(TagIndex.Filter(command, schema, request.Tags, request.TagsAny));
        command.CommandText = $"SELECT {mapper.SelectList(schema)} FROM {Quote(schema.Table)}"
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "")
            + $" ORDER BY \"id\" {(request.Descending ? "DESC" : "ASC")} LIMIT {request.Size + 1}";
        var rows = await command.ListAsync(reader => mapper.Read(schema, reader), cancellationToken);
        string? next = null;
        if (rows.Count > request.Size)
        {
            rows.RemoveAt(rows.Count - 1);
            next = PageOffset.Encode(rows[^1]["id"]!.GetValue<string>());
        }
        await AttachOwnedNamesAsync(connection, null, schema, rows, cancellationToken);
        return new EntityPage(rows, next);
    }

    /// <summary>Every row of the schema's table by id, without the transient name lists (an export writes those as rows of their own).</summary>
    public Task<List<JsonObject>> AllAsync(DbConnection connection, EntitySchema schema, CancellationToken cancellationToken) =>
        connection.ListAsync(null, $"SELECT {mapper.SelectList(schema)} FROM {Quote(schema.Table)} ORDER BY \"id\"",
            reader => mapper.Read(schema, reader), cancellationToken);

    /// <summary>The distinct values of one column, sorted (the plugin names in use).</summary>
    public Task<List<string>> DistinctAsync(DbConnection connection, EntitySchema schema, string column, CancellationToken cancellationToken) =>
        connection.ListAsync(null, $"SELECT DISTINCT {Quote(column)} FROM {Quote(schema.Table)} WHERE {Quote(column)} IS NOT NULL ORDER BY {Quote(column)}",
            reader => reader.GetValue(0).ToString()!, cancellationToken);
}
