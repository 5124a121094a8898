using System.Data.Common;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;

namespace Gantry.Store;

/// <summary>One row of the tags index.</summary>
public readonly record struct TagRow(string EntityId, string Tag, string EntityName);

/// <summary>
/// The tags table: one row per (entity, tag), kept in the entity's own write transaction, so that tag
/// filters and <c>/tags</c> answer from an index the same way on both databases.
/// </summary>
public sealed class TagIndex(TransactionRunner runner)
{
    private ISqlDialect Dialect => runner.Dialect;

    /// <summary>Makes the index hold exactly the entity's current tags.</summary>
    public async Task ReplaceAsync(DbConnection connection, DbTransaction transaction, EntitySchema schema, string id, JsonObject entity, CancellationToken cancellationToken)
    {
        if (!schema.Taggable)
            return;
        await RemoveAsync(connection, transaction, id, cancellationToken);
        if (entity["tags"] is not JsonArray tags)
            return;
        foreach (var tag in tags.Select(t => t!.GetValue<string>()).Distinct())
        {
            await connection.ExecuteAsync(transaction, $"INSERT INTO tags (entity_id, tag, entity_name) VALUES ({Dialect.Parameter("id", ColumnStorage.Uuid)}, @tag, @entity)",
                cancellationToken, ("id", Dialect.Uuid(id)), ("tag", tag), ("entity", schema.Name));
        }
    }

    public Task RemoveAsync(DbConnection connection, DbTransaction transaction, string id, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(transaction, $"DELETE FROM tags WHERE entity_id = {Dialect.Parameter("id", ColumnStorage.Uuid)}", cancellationToken, ("id", Dialect.Uuid(id)));

    /// <summary>
    /// A condition on an entity table's "id" that keeps the entities with all of <paramref name="tags"/>
    /// (or any of them), binding its parameters on <paramref name="command"/>.
    /// </summary>
    public static string Filter(DbCommand command, EntitySchema schema, IReadOnlyList<string> tags, bool any)
    {
        var names = new List<string>();
        for (var i = 0; i < tags.Count; i++)
        {
            names.Add($"@tag{i}");
            command.With($"tag{i}", tags[i]);
        }
        command.With("entity", schema.Name);
        return $"\"id\" IN (SELECT entity_id FROM tags WHERE entity_name = @entity AND tag IN ({string.Join(", ", names)}) GROUP BY entity_id"
            + (any ? ")" : $" HAVING count(*) = {tags.Count})");
    }

    /// <summary>
    /// A page of (entity, tag) pairs, of one tag or of all, in the index's key order (entity_id, tag), so
    /// each page is one range scan; <paramref name="after"/> is the last pair of the previous page.
    /// </summary>
    public Task<List<TagRow>> ListAsync(string? tag, (string EntityId, string Tag)? after, int limit, CancellationToken cancellationToken) =>
        runner.ReadAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            var where = new List<string>();
            var afterId = Dialect.Parameter("after_id", ColumnStorage.Uuid);
            if (tag is not null)
            {
                where.Add("tag = @tag");
                command.With("tag", tag);
            }
            if (after is { } last)
            {
                // Row comparison: both databases order (entity_id, tag) pairs the same way their index does.
                where.Add(tag is null ? $"(entity_id, tag) > ({afterId}, @after_tag)" : $"entity_id > {afterId}");
                command.With("after_id", last.EntityId);
                if (tag is null)
                    command.With("after_tag", last.Tag);
            }
            command.CommandText = "SELECT entity_id, tag, entity_name FROM tags"
                + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "")
                + $" ORDER BY entity_id, tag LIMIT {limit}";
            return await command.ListAsync(reader => new TagRow(reader.GetValue(0).ToString()!, reader.GetString(1), reader.GetString(2)), cancellationToken);
        }, cancellationToken);
}
