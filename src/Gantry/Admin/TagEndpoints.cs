using System.Data.Common;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Configuration;
using Gantry.Store;

namespace Gantry.Admin;

/// <summary>
/// <c>GET /tags</c> and <c>GET /tags/{tag}</c>: every (tag, entity) pair of the tags index, paginated
/// like the entity lists. The order is the index's primary key (entity_id, tag), so each page is one
/// range scan, and the opaque offset is the last pair of the previous page.
/// </summary>
internal static class TagEndpoints
{
    public static void MapAll(AdminApi api)
    {
        api.Map("/tags", [HttpMethods.Get], (http, _) => ListAsync(http, api.Dao.Database, null));
        api.Map("/tags/{tags}", [HttpMethods.Get], (http, segments) => ListAsync(http, api.Dao.Database, segments[1]));
    }

    private static async Task ListAsync(HttpContext http, IDatabase database, string? tag)
    {
        var size = EntityEndpoints.PageSize(http.Request.Query);
        var offset = http.Request.Query["offset"].ToString();
        var after = offset.Length > 0 ? DecodeOffset(offset, tag is null) : null;
        var postgres = database.Kind == DatabaseKind.Postgres;
        var uuid = postgres ? "::uuid" : "";

        await using var connection = await database.OpenAsync(http.RequestAborted);
        await using var command = connection.CreateCommand();
        var where = new List<string>();
        if (tag is not null)
        {
            where.Add("tag = @tag");
            command.With("tag", tag);
        }
        if (after is { } last)
        {
            // Row comparison: both databases order (entity_id, tag) pairs the same way their index does.
            where.Add(tag is null ? $"(entity_id, tag) > (@after_id{uuid}, @after_tag)" : $"entity_id > @after_id{uuid}");
            command.With("after_id", last.EntityId);
            if (tag is null)
                command.With("after_tag", last.Tag);
        }
        command.CommandText = "SELECT entity_id, tag, entity_name FROM tags"
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "")
            + $" ORDER BY entity_id, tag LIMIT {size + 1}";
        var rows = await ReadAsync(command, http.RequestAborted);

        var body = new JsonObject();
        string? next = null;
        if (rows.Count > size)
        {
            rows.RemoveAt(rows.Count - 1);
            next = EncodeOffset(rows[^1].EntityId, rows[^1].Tag);
        }
        body["data"] = new JsonArray(rows.Select(r => (JsonNode?)new JsonObject
        {
            ["tag"] = r.Tag,
            ["entity_name"] = r.EntityName,
            ["entity_id"] = r.EntityId,
        }).ToArray());
        if (next is not null)
        {
            body["offset"] = next;
            var path = tag is null ? "/tags" : "/tags/" + Uri.EscapeDataString(tag);
            body["next"] = $"{path}?offset={Uri.EscapeDataString(next)}&size={size}";
        }
        else
        {
            body["next"] = null;
        }
        await AdminJson.WriteAsync(http, 200, body);
    }

    private static async Task<List<(string EntityId, string Tag, string EntityName)>> ReadAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<(string, string, string)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            rows.Add((reader.GetValue(0).ToString()!, reader.GetString(1), reader.GetString(2)));
        return rows;
    }

    // The offset carries the entity id and the tag (a tag may hold any character but ',' and '/'; the
    // newline that separates them cannot occur in a tag), base64url-encoded as the entity offsets are.
    private static string EncodeOffset(string entityId, string tag) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(entityId + "\n" + tag)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static (object EntityId, string Tag)? DecodeOffset(string offset, bool needsTag)
    {
        string text;
        try
        {
            text = Encoding.UTF8.GetString(Convert.FromBase64String(offset.Replace('-', '+').Replace('_', '/').PadRight((offset.Length + 3) / 4 * 4, '=')));
        }
        catch (FormatException)
        {
            throw EntityEndpoints.Entity(EntityException.InvalidOffset(offset));
        }
        var parts = text.Split('\n', 2);
        if (parts.Length != 2 || !Guid.TryParse(parts[0], out var id) || (needsTag && parts[1].Length == 0) || parts[1].Any(char.IsControl))
            throw EntityEndpoints.Entity(EntityException.InvalidOffset(offset));
        return (id.ToString(), parts[1]);
    }
}
