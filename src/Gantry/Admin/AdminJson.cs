using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;

namespace Gantry.Admin;

/// <summary>Writes Admin API responses: entities with every field (unset ones as null), errors in Kong's shape.</summary>
public static class AdminJson
{
    // Kong's messages quote values ('{name="foo"}'); relaxed escaping keeps them readable as Kong prints them.
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteAsync(HttpContext http, int status, JsonNode? body)
    {
        http.Response.StatusCode = status;
        if (body is null)
            return;
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(body.ToJsonString(Options), http.RequestAborted);
    }

    /// <summary>The entity as clients see it: internal fields (computed keys) left out.</summary>
    public static JsonObject Present(EntitySchema schema, JsonObject entity)
    {
        var shown = new JsonObject();
        foreach (var field in schema.Fields)
        {
            if (!field.Internal)
                shown[field.Name] = entity[field.Name]?.DeepClone();
        }
        return shown;
    }

    public static JsonObject Error(int code, string name, string message, JsonNode? fields) => new()
    {
        ["code"] = code,
        ["name"] = name,
        ["message"] = message,
        ["fields"] = fields?.DeepClone() ?? new JsonObject(),
    };
}
