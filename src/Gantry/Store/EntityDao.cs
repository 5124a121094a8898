using System.Data.Common;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Configuration;
using Gantry.Entities.Schema;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Gantry.Store;

/// <summary>A page of entities and the opaque offset of the next one (null on the last page).</summary>
public sealed record EntityPage(IReadOnlyList<JsonObject> Data, string? Offset);

/// <summary>What a list request filters on.</summary>
public sealed record PageRequest(int Size, string? Offset, IReadOnlyList<string> Tags, bool TagsAny, (string Column, string Id)? Parent, bool Descending);

/// <summary>
/// Reads and writes entities of any schema, with the same behaviour on PostgreSQL and SQLite. Each write
/// is one transaction that also keeps the tags index and appends a cluster event, so other nodes and the
/// proxy's snapshot builder learn of it. Uniqueness and references are checked first so that the error
/// names the field; the database constraints remain the backstop against races.
/// </summary>
public sealed class EntityDao(IDatabase database, EntityRegistry registry, Guid nodeId)
{
    private static readonly TimeSpan EventLifetime = TimeSpan.FromDays(1);

    private bool Postgres => database.Kind == DatabaseKind.Postgres;

    public IDatabase Database => database;

    public EntityRegistry Registry => registry;

    /// <summary>
    /// By id, or by endpoint key (a service's name) when the value is not a UUID. With a parent, only an
    /// entity of that parent is found: a target's address is unique within its upstream only.
    /// </summary>
    public async Task<JsonObject?> GetAsync(EntitySchema schema, string idOrKey, CancellationToken cancellationToken, (string Column, string Id)? parent = null)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var found = await GetAsync(connection, null, schema, idOrKey, parent, cancellationToken);
        if (found is not null)
            await AttachOwnedNamesAsync(connection, null, schema, [found], cancellationToken);
        return found;
    }

    private async Task<JsonObject?> GetAsync(DbConnection connection, DbTransaction? transaction, EntitySchema schema, string idOrKey, (string Column, string Id)? parent, CancellationToken cancellationToken)
    {
        if (Guid.TryParse(idOrKey, out var id))
        {
            var found = await FindAsync(connection, transaction, schema, "id", Uuid(id.ToString()), cancellationToken);
            if (found is not null || schema.EndpointKey is null)
                return found;
        }
        if (schema.EndpointKey is { } key)
            return await FindAsync(connection, transaction, schema, schema.Find(key)!.Column, idOrKey, cancellationToken, parent);
        if (schema.OwnedNames is { } owned)
        {
            // A certificate is also addressed by any of its SNI names.
            var child = registry.Get(owned.Child);
            var row = await FindAsync(connection, transaction, child, child.Find(owned.Key)!.Column, idOrKey, cancellationToken);
            if (row?[owned.Foreign]?["id"]?.GetValue<string>() is { } parentId)
                return await FindAsync(connection, transaction, schema, "id", Uuid(parentId), cancellationToken);
        }
        return null;
    }

    public async Task<JsonObject?> FindAsync(EntitySchema schema, string column, object value, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var found = await FindAsync(connection, null, schema, column, value, cancellationToken);
        if (found is not null)
            await AttachOwnedNamesAsync(connection, null, schema, [found], cancellationToken);
        return found;
    }

    private async Task<JsonObject?> FindAsync(DbConnection connection, DbTransaction? transaction, EntitySchema schema, string column, object value, CancellationToken cancellationToken, (string Column, string Id)? parent = null)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {SelectList(schema)} FROM {Q(schema.Table)} WHERE {Q(column)} = {Param(schema, column, "v")}"
            + (parent is { } p ? $" AND {Q(p.Column)} = {Param(schema, p.Column, "parent")}" : "") + " LIMIT 1";
        command.With("v", value);
        if (parent is { } scope)
            command.With("parent", Uuid(scope.Id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(schema, reader) : null;
    }

    /// <summary>Fills the transient name list (a certificate's snis, sorted) of each entity from the child rows.</summary>
    private async Task AttachOwnedNamesAsync(DbConnection connection, DbTransaction? transaction, EntitySchema schema, IReadOnlyList<JsonObject> entities, CancellationToken cancellationToken)
    {
        if (schema.OwnedNames is not { } owned || entities.Count == 0)
            return;
        var child = registry.Get(owned.Child);
        var foreignColumn = child.Find(owned.Foreign)!.Column;
        var names = entities.ToDictionary(e => e["id"]!.GetValue<string>().ToLowerInvariant(), _ => new List<string>());
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            var parameters = new List<string>();
            var i = 0;
            foreach (var id in names.Keys)
            {
                parameters.Add(UuidParam($"p{i}"));
                command.With($"p{i++}", Uuid(id));
            }
            command.CommandText = $"SELECT {Q(foreignColumn)}, {Q(child.Find(owned.Key)!.Column)} FROM {Q(child.Table)} WHERE {Q(foreignColumn)} IN ({string.Join(", ", parameters)})";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                names[reader.GetValue(0).ToString()!.ToLowerInvariant()].Add(reader.GetString(1));
        }
        foreach (var entity in entities)
        {
            var list = names[entity["id"]!.GetValue<string>().ToLowerInvariant()];
            list.Sort(StringComparer.Ordinal);
            entity[owned.Field] = new JsonArray(list.Select(n => (JsonNode?)n).ToArray());
        }
    }

    /// <summary>
    /// Makes the child rows match the parent's transient list: names held by another parent are refused,
    /// names dropped from the list are deleted, new ones inserted.
    /// </summary>
    private async Task WriteOwnedNamesAsync(DbConnection connection, DbTransaction transaction, EntitySchema schema, JsonObject entity, string id, CancellationToken cancellationToken)
    {
        if (schema.OwnedNames is not { } owned || entity[owned.Field] is not JsonArray list)
            return;
        var child = registry.Get(owned.Child);
        var keyColumn = child.Find(owned.Key)!.Column;
        var foreign = child.Find(owned.Foreign)!;
        var wanted = list.Select(n => n!.GetValue<string>()).ToList();
        var current = new List<(string Id, string Name)>();
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"SELECT \"id\", {Q(keyColumn)} FROM {Q(child.Table)} WHERE {Q(foreign.Column)} = {UuidParam("parent")}";
            command.With("parent", Uuid(id));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                current.Add((reader.GetValue(0).ToString()!, reader.GetString(1)));
        }
        foreach (var name in wanted.Where(n => current.All(c => c.Name != n)))
        {
            var holder = await FindAsync(connection, transaction, child, keyColumn, name, cancellationToken);
            if (holder is not null)
            {
                var errors = new ValidationErrors();
                errors.Add([owned.Field], $"{name} already associated with existing {SingularOf(schema)} '{holder[owned.Foreign]?["id"]?.GetValue<string>()}'");
                throw EntityException.SchemaViolation(errors);
            }
        }
        foreach (var (childId, _) in current.Where(c => !wanted.Contains(c.Name)))
            await DeleteTreeAsync(connection, transaction, child, childId, cancellationToken);
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
            await InsertRowAsync(connection, transaction, child, row, upsert: false, cancellationToken);
            await IndexTagsAsync(connection, transaction, child, row["id"]!.GetValue<string>(), row, cancellationToken);
            await AppendEventAsync(connection, transaction, child, row["id"]!.GetValue<string>(), "create", cancellationToken);
        }
        list.Clear();
        foreach (var name in wanted.Order(StringComparer.Ordinal))
            list.Add(name);
    }

    /// <summary>"ca_certificates" → "ca certificate", as Kong names an entity in messages.</summary>
    private static string SingularOf(EntitySchema schema) => schema.Name.TrimEnd('s').Replace('_', ' ');

    public async Task<EntityPage> PageAsync(EntitySchema schema, PageRequest request, CancellationToken cancellationToken)
    {
        string? after = null;
        if (request.Offset is { Length: > 0 } offset)
        {
            try
            {
                after = Encoding.UTF8.GetString(Convert.FromBase64String(offset.Replace('-', '+').Replace('_', '/').PadRight((offset.Length + 3) / 4 * 4, '=')));
            }
            catch (FormatException)
            {
                throw EntityException.InvalidOffset(offset);
            }
            if (!Guid.TryParse(after, out _))
                throw EntityException.InvalidOffset(offset);
        }
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var where = new List<string>();
        if (after is not null)
        {
            where.Add($"\"id\" {(request.Descending ? "<" : ">")} {Param(schema, "id", "after")}");
            command.With("after", Uuid(after));
        }
        if (request.Parent is { } parent)
        {
            where.Add($"{Q(parent.Column)} = {Param(schema, parent.Column, "parent")}");
            command.With("parent", Uuid(parent.Id));
        }
        if (request.Tags.Count > 0)
        {
            var names = new List<string>();
            for (var i = 0; i < request.Tags.Count; i++)
            {
                names.Add($"@tag{i}");
                command.With($"tag{i}", request.Tags[i]);
            }
            // The tags index answers both filters the same way on both databases.
            where.Add($"\"id\" IN (SELECT entity_id FROM tags WHERE entity_name = @entity AND tag IN ({string.Join(", ", names)}) GROUP BY entity_id"
                + (request.TagsAny ? ")" : $" HAVING count(*) = {request.Tags.Count})"));
            command.With("entity", schema.Name);
        }
        command.CommandText = $"SELECT {SelectList(schema)} FROM {Q(schema.Table)}"
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "")
            + $" ORDER BY \"id\" {(request.Descending ? "DESC" : "ASC")} LIMIT {request.Size + 1}";
        var rows = new List<JsonObject>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
                rows.Add(Read(schema, reader));
        }
        string? next = null;
        if (rows.Count > request.Size)
        {
            rows.RemoveAt(rows.Count - 1);
            next = Convert.ToBase64String(Encoding.UTF8.GetBytes(rows[^1]["id"]!.GetValue<string>())).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        }
        await AttachOwnedNamesAsync(connection, null, schema, rows, cancellationToken);
        return new EntityPage(rows, next);
    }

    /// <summary>Inserts a validated entity; a clash on id is a primary key violation.</summary>
    public Task<JsonObject> InsertAsync(EntitySchema schema, JsonObject entity, CancellationToken cancellationToken) =>
        WriteAsync(schema, entity, upsert: false, cancellationToken);

    /// <summary>Creates or replaces the entity with this id (PUT).</summary>
    public Task<JsonObject> UpsertAsync(EntitySchema schema, JsonObject entity, CancellationToken cancellationToken) =>
        WriteAsync(schema, entity, upsert: true, cancellationToken);

    private async Task<JsonObject> WriteAsync(EntitySchema schema, JsonObject entity, bool upsert, CancellationToken cancellationToken)
    {
        var id = entity["id"]!.GetValue<string>();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var existing = await FindAsync(connection, transaction, schema, "id", Uuid(id), cancellationToken);
        if (existing is not null && !upsert)
            throw new EntityException(400, 3, "primary key violation", $"primary key violation on key '{{id=\"{id}\"}}'", new JsonObject { ["id"] = id });
        if (existing is not null)
        {
            // A replace keeps the creation time.
            entity["created_at"] = existing["created_at"]?.DeepClone();
        }
        await CheckConstraintsAsync(connection, transaction, schema, entity, id, cancellationToken);
        await InsertRowAsync(connection, transaction, schema, entity, upsert, cancellationToken);
        await WriteOwnedNamesAsync(connection, transaction, schema, entity, id, cancellationToken);
        await AttachOwnedNamesAsync(connection, transaction, schema, [entity], cancellationToken);
        await IndexTagsAsync(connection, transaction, schema, id, entity, cancellationToken);
        await AppendEventAsync(connection, transaction, schema, id, existing is null ? "create" : "update", cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return entity;
    }

    private async Task InsertRowAsync(DbConnection connection, DbTransaction transaction, EntitySchema schema, JsonObject entity, bool upsert, CancellationToken cancellationToken)
    {
        var fields = schema.StoredFields;
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        var columns = string.Join(", ", fields.Select(f => Q(f.Column)));
        var values = string.Join(", ", fields.Select(f => Param(f, "p_" + f.Column)));
        command.CommandText = $"INSERT INTO {Q(schema.Table)} ({columns}) VALUES ({values})"
            + (upsert ? $" ON CONFLICT (\"id\") DO UPDATE SET {string.Join(", ", fields.Where(f => f.Name != "id").Select(f => $"{Q(f.Column)} = excluded.{Q(f.Column)}"))}" : "");
        foreach (var field in fields)
            command.With("p_" + field.Column, ToDb(field, entity[field.Name]));
        await ExecuteGuardedAsync(command, schema, entity, cancellationToken);
    }

    /// <summary>Writes an updated entity (PATCH), already merged and validated.</summary>
    public async Task<JsonObject> UpdateAsync(EntitySchema schema, JsonObject entity, CancellationToken cancellationToken)
    {
        var id = entity["id"]!.GetValue<string>();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await CheckConstraintsAsync(connection, transaction, schema, entity, id, cancellationToken);
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            var fields = schema.StoredFields.Where(f => f.Name != "id").ToList();
            command.CommandText = $"UPDATE {Q(schema.Table)} SET {string.Join(", ", fields.Select(f => $"{Q(f.Column)} = {Param(f, "p_" + f.Column)}"))} WHERE \"id\" = {Param(schema, "id", "id")}";
            foreach (var field in fields)
                command.With("p_" + field.Column, ToDb(field, entity[field.Name]));
            command.With("id", Uuid(id));
            await ExecuteGuardedAsync(command, schema, entity, cancellationToken);
        }
        await WriteOwnedNamesAsync(connection, transaction, schema, entity, id, cancellationToken);
        await AttachOwnedNamesAsync(connection, transaction, schema, [entity], cancellationToken);
        await IndexTagsAsync(connection, transaction, schema, id, entity, cancellationToken);
        await AppendEventAsync(connection, transaction, schema, id, "update", cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return entity;
    }

    /// <summary>Deletes an entity and, by the schemas' rules, its children; false when it did not exist.</summary>
    public async Task<bool> DeleteAsync(EntitySchema schema, string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await FindAsync(connection, transaction, schema, "id", Uuid(id), cancellationToken) is null)
            return false;
        await DeleteTreeAsync(connection, transaction, schema, id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private async Task DeleteTreeAsync(DbConnection connection, DbTransaction transaction, EntitySchema schema, string id, CancellationToken cancellationToken)
    {
        foreach (var (holder, field) in registry.ArrayReferencesTo(schema.Name))
        {
            // Arrays of ids are not foreign keys, so the database cannot refuse this delete; Kong's DAO does.
            var contains = Postgres
                ? $"{Q(field.Column)} @> jsonb_build_array(@v::text)"
                : $"EXISTS (SELECT 1 FROM json_each({Q(field.Column)}) WHERE value = @v)";
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"SELECT \"id\" FROM {Q(holder.Table)} WHERE {contains} LIMIT 1";
            command.With("v", id.ToLowerInvariant());
            if (await command.ExecuteScalarAsync(cancellationToken) is { } holderId and not DBNull)
                throw EntityException.ReferencedByOthers($"{SingularOf(schema)} {id} is still referenced by {holder.Name} (id = {holderId})");
        }
        foreach (var (child, field) in registry.ChildrenOf(schema.Name))
        {
            var rule = child.OnParentDelete.GetValueOrDefault(field.Name, ParentDelete.Cascade);
            var childIds = await IdsAsync(connection, transaction, child, field.Column, id, cancellationToken);
            if (childIds.Count == 0)
                continue;
            switch (rule)
            {
                case ParentDelete.Restrict:
                    throw EntityException.ReferencedBy(child.Name, schema.Name);
                case ParentDelete.Cascade:
                    foreach (var childId in childIds)
                        await DeleteTreeAsync(connection, transaction, child, childId, cancellationToken);
                    break;
                case ParentDelete.SetNull:
                    await ExecuteAsync(connection, transaction, $"UPDATE {Q(child.Table)} SET {Q(field.Column)} = NULL WHERE {Q(field.Column)} = {Param(child, field.Column, "id")}", cancellationToken, ("id", Uuid(id)));
                    foreach (var childId in childIds)
                        await AppendEventAsync(connection, transaction, child, childId, "update", cancellationToken);
                    break;
            }
        }
        await ExecuteAsync(connection, transaction, $"DELETE FROM {Q(schema.Table)} WHERE \"id\" = {Param(schema, "id", "id")}", cancellationToken, ("id", Uuid(id)));
        await ExecuteAsync(connection, transaction, $"DELETE FROM tags WHERE entity_id = {UuidParam("id")}", cancellationToken, ("id", Uuid(id)));
        await AppendEventAsync(connection, transaction, schema, id, "delete", cancellationToken);
    }

    private async Task<List<string>> IdsAsync(DbConnection connection, DbTransaction transaction, EntitySchema schema, string column, string value, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT \"id\" FROM {Q(schema.Table)} WHERE {Q(column)} = {Param(schema, column, "v")}";
        command.With("v", Uuid(value));
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            ids.Add(reader.GetValue(0).ToString()!);
        return ids;
    }

    /// <summary>Unique fields and references, checked so that the error names the field.</summary>
    private async Task CheckConstraintsAsync(DbConnection connection, DbTransaction transaction, EntitySchema schema, JsonObject entity, string id, CancellationToken cancellationToken)
    {
        foreach (var field in schema.StoredFields.Where(f => f.Unique && f.Name != "id"))
        {
            var value = entity[field.Name];
            if (value is null)
                continue;
            var comparison = field.UniqueIgnoreCase ? $"lower({Q(field.Column)}) = lower({Param(field, "v")})" : $"{Q(field.Column)} = {Param(field, "v")}";
            if (await ExistsAsync(connection, transaction, $"SELECT 1 FROM {Q(schema.Table)} WHERE {comparison} AND \"id\" <> {Param(schema, "id", "id")} LIMIT 1",
                    cancellationToken, ("v", ToDb(field, value)), ("id", Uuid(id))))
                throw UniqueOn(field, entity);
        }
        foreach (var together in schema.UniqueTogether)
        {
            var fields = together.Select(n => schema.Find(n)!).ToList();
            if (fields.Any(f => entity[f.Name] is null))
                continue;
            var parameters = fields.Select((f, i) => ($"u{i}", ToDb(f, entity[f.Name]))).Append(("id", Uuid(id))).ToArray();
            var condition = string.Join(" AND ", fields.Select((f, i) => $"{Q(f.Column)} = {Param(f, $"u{i}")}"));
            if (await ExistsAsync(connection, transaction, $"SELECT 1 FROM {Q(schema.Table)} WHERE {condition} AND \"id\" <> {Param(schema, "id", "id")} LIMIT 1", cancellationToken, parameters))
                throw EntityException.UniqueTogether(fields.Select(f => (f.Name, entity[f.Name])).ToList());
        }
        foreach (var field in schema.ForeignFields)
        {
            if (entity[field.Name]?["id"] is not JsonValue reference)
                continue;
            var parentId = reference.GetValue<string>();
            var parent = registry.Get(field.Reference!);
            if (!await ExistsAsync(connection, transaction, $"SELECT 1 FROM {Q(parent.Table)} WHERE \"id\" = {UuidParam("id")}", cancellationToken, ("id", Uuid(parentId))))
                throw EntityException.ForeignKey(field.Name, parentId, parent.Name);
        }
    }

    /// <summary>Runs a write; a constraint the checks above missed (a concurrent writer) still becomes Kong's error.</summary>
    private static async Task ExecuteGuardedAsync(DbCommand command, EntitySchema schema, JsonObject entity, CancellationToken cancellationToken)
    {
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw UniqueFromConstraint(schema, entity, e.ConstraintName ?? "");
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19 && e.Message.Contains("UNIQUE", StringComparison.Ordinal))
        {
            throw UniqueFromConstraint(schema, entity, e.Message);
        }
    }

    private static EntityException UniqueFromConstraint(EntitySchema schema, JsonObject entity, string constraint)
    {
        var field = schema.Fields.Where(f => f.Unique).FirstOrDefault(f => constraint.Contains(f.Column, StringComparison.Ordinal)) ?? schema.Find("id")!;
        return UniqueOn(field, entity);
    }

    /// <summary>A clash on a computed key is reported on the fields it is made of, which the client wrote.</summary>
    private static EntityException UniqueOn(Field field, JsonObject entity) => field.KeyOf is { } parts
        ? EntityException.UniqueTogether(parts.Select(name => (name, entity[name])).ToList())
        : EntityException.Unique(field.Name, entity[field.Name]);

    private async Task IndexTagsAsync(DbConnection connection, DbTransaction transaction, EntitySchema schema, string id, JsonObject entity, CancellationToken cancellationToken)
    {
        if (!schema.Taggable)
            return;
        await ExecuteAsync(connection, transaction, $"DELETE FROM tags WHERE entity_id = {UuidParam("id")}", cancellationToken, ("id", Uuid(id)));
        if (entity["tags"] is not JsonArray tags)
            return;
        foreach (var tag in tags.Select(t => t!.GetValue<string>()).Distinct())
        {
            await ExecuteAsync(connection, transaction, $"INSERT INTO tags (entity_id, tag, entity_name) VALUES ({UuidParam("id")}, @tag, @entity)", cancellationToken,
                ("id", Uuid(id)), ("tag", tag), ("entity", schema.Name));
        }
    }

    private Task AppendEventAsync(DbConnection connection, DbTransaction transaction, EntitySchema schema, string id, string operation, CancellationToken cancellationToken) =>
        AppendEventAsync(connection, transaction, "invalidations", JsonSerializer.Serialize(new { entity = schema.Name, id, operation }), cancellationToken);

    private Task AppendEventAsync(DbConnection connection, DbTransaction transaction, string channel, string data, CancellationToken cancellationToken)
    {
        var now = NowSql;
        return ExecuteAsync(connection, transaction,
            $"INSERT INTO cluster_events (id, node_id, at, nbf, expire_at, channel, data) VALUES ({UuidParam("id")}, {UuidParam("node")}, {now}, NULL, {now} + {EventLifetime.TotalSeconds}, @channel, @data)",
            cancellationToken, ("id", Uuid(Guid.NewGuid().ToString())), ("node", Uuid(nodeId.ToString())), ("channel", channel), ("data", data));
    }

    /// <summary>
    /// Broadcasts a message that changes no entity (a manual health change) to every node sharing the
    /// database, on its own channel so that configuration rebuilds ignore it.
    /// </summary>
    public async Task PublishEventAsync(string channel, string data, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await AppendEventAsync(connection, transaction, channel, data, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    // The database's clock orders events across nodes; no node's own clock is trusted for that.
    private string NowSql => Postgres ? "extract(epoch FROM clock_timestamp())" : "((julianday('now') - 2440587.5) * 86400.0)";

    /// <summary>The database's clock in epoch seconds: the clock cluster events are stamped with.</summary>
    public async Task<double> DatabaseNowAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT " + NowSql;
        return Convert.ToDouble(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Events of a channel written after <paramref name="since"/> (the database's epoch seconds), oldest first.</summary>
    public async Task<IReadOnlyList<(Guid Id, Guid NodeId, double At, string Data)>> EventsSinceAsync(string channel, double since, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, node_id, at, data FROM cluster_events WHERE channel = @channel AND at > @since ORDER BY at";
        command.With("channel", channel);
        command.With("since", since);
        var events = new List<(Guid, Guid, double, string)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            events.Add((Guid.Parse(reader.GetValue(0).ToString()!), Guid.Parse(reader.GetValue(1).ToString()!), Convert.ToDouble(reader.GetValue(2)), reader.GetString(3)));
        return events;
    }

    private static async Task<bool> ExistsAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            command.With(name, value);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            command.With(name, value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // ---- mapping between JSON values and columns ----

    private static string Q(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";

    private object Uuid(string id) => Postgres ? Guid.Parse(id) : id.ToLowerInvariant();

    private string UuidParam(string name) => Postgres ? $"@{name}::uuid" : $"@{name}";

    private string Param(EntitySchema schema, string column, string name)
    {
        var field = schema.StoredFields.FirstOrDefault(f => f.Column == column);
        return field is null ? "@" + name : Param(field, name);
    }

    private string Param(Field field, string name)
    {
        if (!Postgres)
            return "@" + name;
        return StorageOf(field) switch
        {
            Storage.Uuid => $"@{name}::uuid",
            Storage.Json => $"@{name}::jsonb",
            _ => "@" + name,
        };
    }

    private enum Storage
    {
        Text,
        Uuid,
        Integer,
        Number,
        Boolean,
        TextArray,
        Json,
    }

    private static Storage StorageOf(Field field) => field.Kind switch
    {
        FieldKind.Uuid or FieldKind.Foreign => Storage.Uuid,
        FieldKind.Integer => Storage.Integer,
        FieldKind.Number => Storage.Number,
        FieldKind.Boolean => Storage.Boolean,
        FieldKind.Array or FieldKind.Set when field.Elements?.Kind == FieldKind.String => Storage.TextArray,
        FieldKind.String => Storage.Text,
        _ => Storage.Json,
    };

    private object? ToDb(Field field, JsonNode? value)
    {
        if (value is null)
            return null;
        return StorageOf(field) switch
        {
            Storage.Uuid => Uuid(field.Kind == FieldKind.Foreign ? value["id"]!.GetValue<string>() : value.GetValue<string>()),
            Storage.Integer => (long)SchemaValidator.ToDouble(value),
            Storage.Number => SchemaValidator.ToDouble(value),
            Storage.Boolean => Postgres ? value.GetValue<bool>() : value.GetValue<bool>() ? 1L : 0L,
            Storage.TextArray => Postgres ? value.AsArray().Select(n => n!.GetValue<string>()).ToArray() : value.ToJsonString(),
            Storage.Json => value.ToJsonString(),
            _ => value.GetValue<string>(),
        };
    }

    private string SelectList(EntitySchema schema) =>
        string.Join(", ", schema.StoredFields.Select(f => Postgres && StorageOf(f) == Storage.Json ? $"{Q(f.Column)}::text" : Q(f.Column)));

    private JsonObject Read(EntitySchema schema, DbDataReader reader)
    {
        var entity = new JsonObject();
        for (var i = 0; i < schema.StoredFields.Count; i++)
        {
            var field = schema.StoredFields[i];
            if (reader.IsDBNull(i))
            {
                entity[field.Name] = null;
                continue;
            }
            entity[field.Name] = StorageOf(field) switch
            {
                Storage.Uuid when field.Kind == FieldKind.Foreign => new JsonObject { ["id"] = reader.GetValue(i).ToString() },
                Storage.Uuid => reader.GetValue(i).ToString(),
                Storage.Integer => reader.GetInt64(i),
                Storage.Number => reader.GetDouble(i),
                Storage.Boolean => Postgres ? reader.GetBoolean(i) : reader.GetInt64(i) != 0,
                Storage.TextArray when Postgres => new JsonArray(reader.GetFieldValue<string[]>(i).Select(s => (JsonNode?)s).ToArray()),
                Storage.TextArray or Storage.Json => JsonNode.Parse(reader.GetString(i)),
                _ => reader.GetString(i),
            };
        }
        return entity;
    }
}
