using System.Text;
using System.Text.Json.Nodes;
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
        api.Map("/tags", [HttpMethods.Get], (http, _) => ListAsync(http, api.Dao.Tags, null));
        api.Map("/tags/{tags}", [HttpMethods.Get], (http, segments) => ListAsync(http, api.Dao.Tags, segments[1]));
    }

    private static async Task ListAsync(HttpContext http, TagIndex tags, string? tag)
    {
        var size = EntityEndpoints.PageSize(http.Request.Query);
        var offset = http.Request.Query["offset"].ToString();
        var after = offset.Length > 0 ? DecodeOffset(offset, tag is null) : null;
        var rows = await tags.ListAsync(tag, after, size + 1, http.RequestAborted);

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

    // The offset carries the entity id and the tag (a tag may hold any character but ',' and '/'; the
    // newline that separates them cannot occur in a tag), base64url-encoded as the entity offsets are.
    private static string EncodeOffset(string entityId, string tag) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(entityId + "\n" + tag)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static (string EntityId, string Tag)? DecodeOffset(string offset, bool needsTag)
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
