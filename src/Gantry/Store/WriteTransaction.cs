using System.Data.Common;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Store.DbCommandExtensions;

namespace Gantry.Store;

/// <summary>
/// Writes of entities that commit together or not at all (one Admin API call, or a whole declarative
/// document). Each write keeps the tags index and appends a cluster event in the same transaction, so
/// other nodes and the proxy's snapshot builder learn of it. Uniqueness and references are checked first
/// so that the error names the field; the database's constraints remain the backstop against races.
/// On PostgreSQL the rows a write depends on are locked as they are checked, so that a parent deleted
/// while a child is created either sees the child (and deletes or refuses it) or is seen gone.
/// Obtained from <see cref="EntityDao.WriteTransactionAsync{T}"/>, which may run the same writes again
/// after a conflict with a concurrent transaction.
/// </summary>
public sealed class WriteTransaction
{
    private readonly DbConnection _connection;
    private readonly DbTransaction _transaction;
    private readonly EntityRegistry _registry;
    private readonly EntityRowMapper _mapper;
    private readonly EntityReader _reader;
    private readonly TagIndex _tags;
    private readonly ClusterEvents _events;

    internal WriteTransaction(DbConnection connection, DbTransaction transaction, EntityRegistry registry, EntityRowMapper mapper, EntityReader reader, TagIndex tags, ClusterEvents events)
    {
        _connection = connection;
        _transaction = transaction;
        _registry = registry;
        _mapper = mapper;
        _reader = reader;
        _tags = tags;
        _events = events;
    }

    private ISqlDialect Dialect => _mapper.Dialect;

    /// <summary>Reads an entity as this transaction sees it (its own writes included).</summary>
    public async Task<JsonObject?> GetAsync(EntitySchema schema, string idOrKey, CancellationToken cancellationToken, (string Column, string Id)? parent = null)
    {
        var found = await _reader.GetAsync(_connection, _transaction, schema, idOrKey, parent, cancellationToken);
        if (found is not null)
            await _reader.AttachOwnedNamesAsync(_connection, _transaction, schema, [found], cancellationToken);
        return found;
    }

    /// <summary>Inserts a validated entity; a clash on id is a primary key violation.</summary>
    public Task<JsonObject> InsertAsync(EntitySchema schema, JsonObject entity, CancellationToken cancellationToken) =>
        WriteAsync(schema, entity, upsert: false, cancellationToken);

    /// <summary>Creates or replaces the entity with this id (PUT).</summary>
    public Task<JsonObject> UpsertAsync(EntitySchema schema, JsonObject entity, CancellationToken cancellationToken) =>
        WriteAsync(schema, entity, upsert: true, cancellationToken);

    /// <summary>
    /// Inserts validated entities, parents first, into a store that holds none of them: a new database
    /// being filled from a whole document (a node without a database loads every configuration that way).
    /// One prepared statement per table instead of the checks of a single write, and no cluster events,
    /// since nothing reads a database before it is served: the document's loader has checked references
    /// and uniqueness across the whole document, and the database's constraints still refuse what it
    /// missed, as Kong's error. Entities that own a list of names (a certificate's SNIs) take the full path.
    /// </summary>
    public async Task InsertNewAsync(IEnumerable<(EntitySchema Schema, JsonObject Entity)> entities, CancellationToken cancellationToken)
    {
        var inserts = new Dictionary<EntitySchema, DbCommand>();
        await using var tags = _connection.Command(_transaction,
            $"INSERT INTO tags (entity_id, tag, entity_name) VALUES ({Dialect.Parameter("id", ColumnStorage.Uuid)}, @tag, @entity)", ("id", null), ("tag", null), ("entity", null));
        try
        {
            foreach (var (schema, entity) in entities)
            {
                if (schema.OwnedNames is not null)
                {
                    await WriteAsync(schema, entity, upsert: false, cancellationToken);
                    continue;
                }
                if (!inserts.TryGetValue(schema, out var insert))
                {
                    var fields = schema.StoredFields;
                    inserts[schema] = insert = _connection.Command(_transaction,
                        $"INSERT INTO {Quote(schema.Table)} ({string.Join(", ", fields.Select(f => Quote(f.Column)))}) VALUES ({string.Join(", ", fields.Select(f => _mapper.Parameter(f, "p_" + f.Column)))})",
                        fields.Select(f => ("p_" + f.Column, (object?)null)).ToArray());
                }
                for (var i = 0; i < schema.StoredFields.Count; i++)
                    insert.Parameters[i].Value = _mapper.ToDb(schema.StoredFields[i], entity[schema.StoredFields[i].Name]) ?? DBNull.Value;
                try
                {
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }
                catch (DbException e) when (ConstraintErrors.ForRow(Dialect.Classify(e), schema, entity) is { } error)
                {
                    throw error;
                }
                if (schema.Taggable && entity["tags"] is JsonArray tagList)
                {
                    var id = entity["id"]!.GetValue<string>();
                    foreach (var tag in tagList.Select(t => t!.GetValue<string>()).Distinct())
                    {
                        tags.Parameters[0].Value = Dialect.Uuid(id);
                        tags.Parameters[1].Value = tag;
                        tags.Parameters[2].Value = schema.Name;
                        await tags.ExecuteNonQueryAsync(cancellationToken);
                    }
                }
            }
        }
        finally
        {
            foreach (var insert in inserts.Values)
                await insert.DisposeAsync();
        }
    }

    /// <summary>Writes an updated entity (PATCH), already merged and validated; 404 when it was deleted meanwhile.</summary>
    public async Task<JsonObject> UpdateAsync(EntitySchema schema, JsonObject entity, CancellationToken cancellationToken)
    {
        var id = entity["id"]!.GetValue<string>();
        await CheckReferencesAsync(schema, entity, cancellationToken);
        await CheckUniquesAsync(schema, entity, id, cancellationToken);
        var fields = schema.StoredFields.Where(f => f.Name != "id").ToList();
        var parameters = fields.Select(f => ("p_" + f.Column, _mapper.ToDb(f, entity[f.Name]))).Append(("id", _mapper.Uuid(id))).ToArray();
        var sql = $"UPDATE {Quote(schema.Table)} SET {string.Join(", ", fields.Select(f => $"{Quote(f.Column)} = {_mapper.Parameter(f, "p_" + f.Column)}"))} WHERE \"id\" = {_mapper.Parameter(schema, "id", "id")}";
        if (await ExecuteRowAsync(schema, entity, sql, parameters, cancellationToken) == 0)
            throw EntityException.NotFound();
        await WriteOwnedNamesAsync(schema, entity, id, cancellationToken);
        await _reader.AttachOwnedNamesAsync(_connection, _transaction, schema, [entity], cancellationToken);
        await _tags.ReplaceAsync(_connection, _transaction, schema, id, entity, cancellationToken);
        await _events.AppendAsync(_connection, _transaction, schema, id, "update", cancellationToken);
        return entity;
    }

    /// <summary>Deletes an entity and, by the schemas' rules, its children; false when it did not exist.</summary>
    public Task<bool> DeleteAsync(EntitySchema schema, string id, CancellationToken cancellationToken) =>
        DeleteTreeAsync(schema, id, cancellationToken);

    /// <summary>True when none of these entities' tables holds a row: a store that a whole document can fill with <see cref="InsertNewAsync"/>.</summary>
    public async Task<bool> HoldsNoneAsync(IEnumerable<EntitySchema> schemas, CancellationToken cancellationToken)
    {
        foreach (var schema in schemas)
        {
            if (await _connection.ScalarAsync(_transaction, $"SELECT 1 FROM {Quote(schema.Table)} LIMIT 1", cancellationToken) is not null)
                return false;
        }
        return true;
    }

    /// <summary>Tells every node on this database to rebuild its whole configuration when the transaction commits.</summary>
    public Task InvalidateEverythingAsync(CancellationToken cancellationToken) =>
        _events.AppendAsync(_connection, _transaction, ClusterEvents.Invalidations, System.Text.Json.JsonSerializer.Serialize(new { entity = "*" }), cancellationToken);

    /// <summary>Broadcasts a message on a channel of its own when the transaction commits.</summary>
    public Task PublishEventAsync(string channel, string data, CancellationToken cancellationToken) =>
        _events.AppendAsync(_connection, _transaction, channel, data, cancellationToken);

    private async Task<JsonObject> WriteAsync(EntitySchema schema, JsonObject entity, bool upsert, CancellationToken cancellationToken)
    {
        var id = entity["id"]!.GetValue<string>();
        // Parents before the row itself: the order a delete of the parent locks them in, so the two cannot deadlock.
        await CheckReferencesAsync(schema, entity, cancellationToken);
        var existing = await _reader.FindAsync(_connection, _transaction, schema, "id", _mapper.Uuid(id), cancellationToken, lockClause: Dialect.LockForUpdate);
        if (existing is not null && !upsert)
            throw new EntityException(400, 3, "primary key violation", $"primary key violation on key '{{id=\"{id}\"}}'", new JsonObject { ["id"] = id });
        if (existing is not null)
        {
            // A replace keeps the creation time.
            entity["created_at"] = existing["created_at"]?.DeepClone();
        }
        await CheckUniquesAsync(schema, entity, id, cancellationToken);
        await InsertRowAsync(schema, entity, upsert, cancellationToken);
        await WriteOwnedNamesAsync(schema, entity, id, cancellationToken);
        await _reader.AttachOwnedNamesAsync(_connection, _transaction, schema, [entity], cancellationToken);
        await _tags.ReplaceAsync(_connection, _transaction, schema, id, entity, cancellationToken);
        await _events.AppendAsync(_connection, _transaction, schema, id, existing is null ? "create" : "update", cancellationToken);
        return entity;
    }

    private Task InsertRowAsync(EntitySchema schema, JsonObject entity, bool upsert, CancellationToken cancellationToken)
    {
        var fields = schema.StoredFields;
        var columns = string.Join(", ", fields.Select(f => Quote(f.Column)));
        var values = string.Join(", ", fields.Select(f => _mapper.Parameter(f, "p_" + f.Column)));
        var sql = $"INSERT INTO {Quote(schema.Table)} ({columns}) VALUES ({values})"
            + (upsert ? $" ON CONFLICT (\"id\") DO UPDATE SET {string.Join(", ", fields.Where(f => f.Name != "id").Select(f => $"{Quote(f.Column)} = excluded.{Quote(f.Column)}"))}" : "");
        return ExecuteRowAsync(schema, entity, sql, fields.Select(f => ("p_" + f.Column, _mapper.ToDb(f, entity[f.Name]))).ToArray(), cancellationToken);
    }

    /// <summary>Writes the entity's row; a constraint the checks missed (a concurrent writer) still becomes Kong's error.</summary>
    private async Task<int> ExecuteRowAsync(EntitySchema schema, JsonObject entity, string sql, (string Name, object? Value)[] parameters, CancellationToken cancellationToken)
    {
        try
        {
            return await _connection.ExecuteAsync(_transaction, sql, cancellationToken, parameters);
        }
        catch (DbException e) when (ConstraintErrors.ForRow(Dialect.Classify(e), schema, entity) is { } error)
        {
            throw error;
        }
    }

    /// <summary>
    /// Makes the child rows match the parent's transient list: names held by another parent are refused,
    /// names dropped from the list are deleted, new ones inserted.
    /// </summary>
    private async Task WriteOwnedNamesAsync(EntitySchema schema, JsonObject entity, string id, CancellationToken cancellationToken)
    {
        if (schema.OwnedNames is not { } owned || entity[owned.Field] is not JsonArray list)
            return;
        var child = _registry.Get(owned.Child);
        var keyColumn = child.Find(owned.Key)!.Column;
        var foreign = child.Find(owned.Foreign)!;
        var wanted = list.Select(n => n!.GetValue<string>()).ToList();
        var current = await _connection.ListAsync(_transaction,
            $"SELECT \"id\", {Quote(keyColumn)} FROM {Quote(child.Table)} WHERE {Quote(foreign.Column)} = {_mapper.UuidParameter("parent")}",
            reader => (Id: reader.GetValue(0).ToString()!, Name: reader.GetString(1)), cancellationToken, ("parent", _mapper.Uuid(id)));
        foreach (var name in wanted.Where(n => current.All(c => c.Name != n)))
        {
            var holder = await _reader.FindAsync(_connection, _transaction, child, keyColumn, name, cancellationToken);
            if (holder is not null)
            {
                var errors = new ValidationErrors();
                errors.Add([owned.Field], $"{name} already associated with existing {SingularOf(schema)} '{holder[owned.Foreign]?["id"]?.GetValue<string>()}'");
                throw EntityException.SchemaViolation(errors);
            }
        }
        foreach (var (childId, _) in current.Where(c => !wanted.Contains(c.Name)))
            await DeleteTreeAsync(child, childId, cancellationToken);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var name in wanted.Where(n => current.All(c => c.Name != n)))
        {
            var row = new JsonObject
            {
                ["id"] = Guid.NewGuid().ToString(),
                ["created_at"] = now,
                ["updated_at"] = now,
                [owned.Key] = name,
                [owned.Foreign] = new JsonObject { ["id"] = id },
            };
            foreach (var field in child.StoredFields.Where(f => !row.ContainsKey(f.Name)))
                row[field.Name] = field.Default?.DeepClone();
            await InsertRowAsync(child, row, upsert: false, cancellationToken);
            await _tags.ReplaceAsync(_connection, _transaction, child, row["id"]!.GetValue<string>(), row, cancellationToken);
            await _events.AppendAsync(_connection, _transaction, child, row["id"]!.GetValue<string>(), "create", cancellationToken);
        }
        list.Clear();
        foreach (var name in wanted.Order(StringComparer.Ordinal))
            list.Add(name);
    }

    /// <summary>"ca_certificates" → "ca certificate", as Kong names an entity in messages.</summary>
    private static string SingularOf(EntitySchema schema) => schema.Name.TrimEnd('s').Replace('_', ' ');

    /// <summary>
    /// Deletes the entity after its children, by each child's rule. The row is locked first, so a child
    /// created concurrently is either committed before (and found here) or waits and then finds no parent.
    /// </summary>
    private async Task<bool> DeleteTreeAsync(EntitySchema schema, string id, CancellationToken cancellationToken)
    {
        var idParameter = _mapper.Parameter(schema, "id", "id");
        if (await _connection.ScalarAsync(_transaction, $"SELECT 1 FROM {Quote(schema.Table)} WHERE \"id\" = {idParameter}{Dialect.LockForUpdate}", cancellationToken,
                ("id", _mapper.Uuid(id))) is null)
            return false;
        foreach (var (holder, field) in _registry.ArrayReferencesTo(schema.Name))
        {
            // Arrays of ids are not foreign keys, so the database cannot refuse this delete; Kong's DAO does.
            var holderId = await _connection.ScalarAsync(_transaction, $"SELECT \"id\" FROM {Quote(holder.Table)} WHERE {Dialect.JsonArrayContains(Quote(field.Column), "v")} LIMIT 1",
                cancellationToken, ("v", id.ToLowerInvariant()));
            if (holderId is not null)
                throw EntityException.ReferencedByOthers($"{SingularOf(schema)} {id} is still referenced by {holder.Name} (id = {holderId})");
        }
        foreach (var (child, field) in _registry.ChildrenOf(schema.Name))
        {
            var rule = child.OnParentDelete.GetValueOrDefault(field.Name, ParentDelete.Cascade);
            var childIds = await _reader.IdsAsync(_connection, _transaction, child, field.Column, id, cancellationToken);
            if (childIds.Count == 0)
                continue;
            switch (rule)
            {
                case ParentDelete.Restrict:
                    throw EntityException.ReferencedBy(child.Name, schema.Name);
                case ParentDelete.Cascade:
                    foreach (var childId in childIds)
                        await DeleteTreeAsync(child, childId, cancellationToken);
                    break;
                case ParentDelete.SetNull:
                    await _connection.ExecuteAsync(_transaction, $"UPDATE {Quote(child.Table)} SET {Quote(field.Column)} = NULL WHERE {Quote(field.Column)} = {_mapper.Parameter(child, field.Column, "id")}",
                        cancellationToken, ("id", _mapper.Uuid(id)));
                    foreach (var childId in childIds)
                        await _events.AppendAsync(_connection, _transaction, child, childId, "update", cancellationToken);
                    break;
            }
        }
        await _connection.ExecuteAsync(_transaction, $"DELETE FROM {Quote(schema.Table)} WHERE \"id\" = {idParameter}", cancellationToken, ("id", _mapper.Uuid(id)));
        await _tags.RemoveAsync(_connection, _transaction, id, cancellationToken);
        await _events.AppendAsync(_connection, _transaction, schema, id, "delete", cancellationToken);
        return true;
    }

    /// <summary>Unique fields, checked so that the error names the field.</summary>
    private async Task CheckUniquesAsync(EntitySchema schema, JsonObject entity, string id, CancellationToken cancellationToken)
    {
        var idParameter = _mapper.Parameter(schema, "id", "id");
        foreach (var field in schema.StoredFields.Where(f => f.Unique && f.Name != "id"))
        {
            var value = entity[field.Name];
            if (value is null)
                continue;
            var comparison = field.UniqueIgnoreCase
                ? $"lower({Quote(field.Column)}) = lower({_mapper.Parameter(field, "v")})"
                : $"{Quote(field.Column)} = {_mapper.Parameter(field, "v")}";
            if (await _connection.ScalarAsync(_transaction, $"SELECT 1 FROM {Quote(schema.Table)} WHERE {comparison} AND \"id\" <> {idParameter} LIMIT 1",
                    cancellationToken, ("v", _mapper.ToDb(field, value)), ("id", _mapper.Uuid(id))) is not null)
                throw ConstraintErrors.UniqueOn(field, entity);
        }
        foreach (var together in schema.UniqueTogether)
        {
            var fields = together.Select(n => schema.Find(n)!).ToList();
            if (fields.Any(f => entity[f.Name] is null))
                continue;
            var parameters = fields.Select((f, i) => ($"u{i}", _mapper.ToDb(f, entity[f.Name]))).Append(("id", _mapper.Uuid(id))).ToArray();
            var condition = string.Join(" AND ", fields.Select((f, i) => $"{Quote(f.Column)} = {_mapper.Parameter(f, $"u{i}")}"));
            if (await _connection.ScalarAsync(_transaction, $"SELECT 1 FROM {Quote(schema.Table)} WHERE {condition} AND \"id\" <> {idParameter} LIMIT 1", cancellationToken, parameters) is not null)
                throw EntityException.UniqueTogether(fields.Select(f => (f.Name, entity[f.Name])).ToList());
        }
    }

    /// <summary>
    /// References, checked so that the error names the field, and locked, so that the parent cannot be
    /// deleted between this check and the commit.
    /// </summary>
    private async Task CheckReferencesAsync(EntitySchema schema, JsonObject entity, CancellationToken cancellationToken)
    {
        foreach (var field in schema.ForeignFields)
        {
            if (entity[field.Name]?["id"] is not JsonValue reference)
                continue;
            var parentId = reference.GetValue<string>();
            var parent = _registry.Get(field.Reference!);
            if (await _connection.ScalarAsync(_transaction, $"SELECT 1 FROM {Quote(parent.Table)} WHERE \"id\" = {_mapper.UuidParameter("id")}{Dialect.LockForReference}",
                    cancellationToken, ("id", _mapper.Uuid(parentId))) is null)
                throw EntityException.ForeignKey(field.Name, parentId, parent.Name);
        }
    }
}
