using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;

namespace Gantry.Admin;

/// <summary>A parsed request body: the fields, and whether they came as strings to be coerced.</summary>
public sealed record AdminBody(JsonObject Fields, bool Lenient);

/// <summary>
/// Reads Admin API bodies as Kong accepts them: JSON, form-encoded or multipart, where forms spell
/// nesting with dots (<c>config.minute=5</c>) and lists with repeated keys or brackets
/// (<c>methods=GET&amp;methods=POST</c>, <c>methods[]=GET</c>, <c>methods[1]=GET</c>).
/// </summary>
public static class AdminBodyReader
{
    public const long MaxBodyBytes = 10 * 1024 * 1024;

    public static async Task<AdminBody> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
            throw new AdminError(413, "Request size limit exceeded");
        var contentType = request.ContentType ?? "";
        var mediaType = contentType.Split(';')[0].Trim().ToLowerInvariant();
        using var buffer = new MemoryStream();
        await CopyLimitedAsync(request.Body, buffer, cancellationToken);
        if (buffer.Length == 0)
            return new AdminBody([], false);
        switch (mediaType)
        {
            case "application/json":
                JsonNode? node;
                try
                {
                    node = JsonNode.Parse(buffer.ToArray(), documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
                }
                catch (JsonException)
                {
                    throw new AdminError(400, "Cannot parse JSON body");
                }
                return node is JsonObject fields ? new AdminBody(fields, false) : throw new AdminError(400, "Cannot parse JSON body");
            case "application/x-www-form-urlencoded":
                var pairs = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(buffer.ToArray()));
                return new AdminBody(FromPairs(pairs.SelectMany(p => p.Value.Select(v => (p.Key, v ?? "")))), true);
            case "multipart/form-data":
                buffer.Position = 0;
                request.Body = buffer;
                var form = await request.ReadFormAsync(cancellationToken);
                return new AdminBody(FromPairs(form.SelectMany(p => p.Value.Select(v => (p.Key, v ?? "")))), true);
            default:
                throw new AdminError(415, "Unsupported Media Type");
        }
    }

    private static async Task CopyLimitedAsync(Stream source, MemoryStream target, CancellationToken cancellationToken)
    {
        var chunk = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (target.Length + read > MaxBodyBytes)
                throw new AdminError(413, "Request size limit exceeded");
            target.Write(chunk, 0, read);
        }
    }

    /// <summary>Builds nested objects and arrays from dotted, bracketed form keys.</summary>
    public static JsonObject FromPairs(IEnumerable<(string Key, string Value)> pairs)
    {
        var root = new JsonObject();
        foreach (var (key, value) in pairs)
        {
            var path = key.Replace("[]", "").Replace("]", "").Replace('[', '.').Split('.', StringSplitOptions.RemoveEmptyEntries);
            if (path.Length == 0)
                continue;
            var node = root;
            for (var i = 0; i < path.Length - 1; i++)
            {
                if (node[path[i]] is not JsonObject child)
                    node[path[i]] = child = [];
                node = child;
            }
            var last = path[^1];
            var isList = key.EndsWith("[]", StringComparison.Ordinal);
            if (node[last] is JsonArray list)
                list.Add(value);
            else if (node.ContainsKey(last))
                node[last] = new JsonArray(node[last]?.DeepClone(), value);
            else
                node[last] = isList ? new JsonArray((JsonNode)value) : value;
        }
        return ArraysFromIndexes(root);
    }

    // config.allow.1=a&config.allow.2=b arrives as an object keyed by indexes; make it a list.
    private static JsonObject ArraysFromIndexes(JsonObject node)
    {
        foreach (var key in node.Select(p => p.Key).ToList())
        {
            if (node[key] is not JsonObject child)
                continue;
            ArraysFromIndexes(child);
            if (child.Count > 0 && child.All(p => int.TryParse(p.Key, out _)))
                node[key] = new JsonArray(child.OrderBy(p => int.Parse(p.Key)).Select(p => p.Value?.DeepClone()).ToArray());
        }
        return node;
    }
}

/// <summary>An Admin API answer that is not a success: a status and a Kong-shaped body.</summary>
public sealed class AdminError(int status, string message, JsonObject? body = null) : Exception(message)
{
    public int Status { get; } = status;

    public JsonObject Body { get; } = body ?? new JsonObject { ["message"] = message };
}
