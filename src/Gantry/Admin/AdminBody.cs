using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Gantry.Admin;

/// <summary>A parsed request body: the fields, and whether they came as strings to be coerced.</summary>
public sealed record AdminBody(JsonObject Fields, bool Lenient);

/// <summary>
/// Reads Admin API bodies as Kong accepts them: JSON, form-encoded or multipart, where forms spell
/// nesting with dots (<c>config.minute=5</c>) and lists with repeated keys or brackets
/// (<c>methods=GET&amp;methods=POST</c>, <c>methods[]=GET</c>, <c>methods[1]=GET</c>).
/// Everything a client can send is either turned into fields or refused here with Kong's 400, 413 or
/// 415: the fields handed on are fully materialized, valid UTF-16, free of NUL characters and of numbers
/// no double can hold, so nothing downstream can trip over them.
/// </summary>
public static class AdminBodyReader
{
    /// <summary>Kong's Admin API server block sets nginx's <c>client_max_body_size</c> to 10m.</summary>
    public const long MaxBodyBytes = 10 * 1024 * 1024;

    /// <summary>Nesting deeper than any entity or plugin config needs; bounds every recursion over the fields.</summary>
    public const int MaxDepth = 64;

    public const string UnparsableJson = "Cannot parse JSON body";
    public const string UnparsableForm = "Cannot parse x-www-form-urlencoded body";
    public const string UnparsableMultipart = "Cannot parse multipart/form-data body";

    // Invalid bytes are refused, not replaced by U+FFFD: a replaced byte would be stored as a different value.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static async Task<AdminBody> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
            throw TooLarge();
        var contentType = request.ContentType ?? "";
        var mediaType = contentType.Split(';')[0].Trim().ToLowerInvariant();
        using var buffer = new MemoryStream();
        await CopyLimitedAsync(request.Body, buffer, cancellationToken);
        var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        if (bytes.Length == 0)
        {
            // Kong: an empty JSON body cannot be parsed; an empty form (or no body at all) is an empty entity.
            if (mediaType == "application/json")
                throw new AdminError(400, UnparsableJson);
            return new AdminBody([], false);
        }
        var body = mediaType switch
        {
            "application/json" => new AdminBody(ParseJson(bytes), false),
            "application/x-www-form-urlencoded" => new AdminBody(FromPairs(ParseUrlEncoded(bytes.Span)), true),
            "multipart/form-data" => new AdminBody(FromPairs(await ParseMultipartAsync(contentType, bytes, cancellationToken)), true),
            _ => throw new AdminError(415, "Unsupported Media Type"),
        };
        RefuseUnstorable(body.Fields);
        return body;
    }

    private static AdminError TooLarge() => new(413, "Payload too large");

    private static async Task CopyLimitedAsync(Stream source, MemoryStream target, CancellationToken cancellationToken)
    {
        var chunk = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (target.Length + read > MaxBodyBytes)
                throw TooLarge();
            target.Write(chunk, 0, read);
        }
    }

    /// <summary>
    /// Parses a JSON object completely, so that a bad string (invalid UTF-8, a lone surrogate) fails here and
    /// not when a validator first reads it. A repeated key keeps its last value, as Kong's cjson does.
    /// </summary>
    public static JsonObject ParseJson(ReadOnlyMemory<byte> json)
    {
        var errors = new ValidationErrors();
        JsonObject fields;
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxDepth });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new AdminError(400, UnparsableJson);
            fields = (JsonObject)ToNode(document.RootElement, [], errors)!;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new AdminError(400, UnparsableJson);
        }
        if (errors.Any)
            throw SchemaViolation(errors);
        return fields;
    }

    private static JsonNode? ToNode(JsonElement element, List<string> path, ValidationErrors errors)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var record = new JsonObject();
                foreach (var property in element.EnumerateObject())
                {
                    path.Add(property.Name);
                    record[property.Name] = ToNode(property.Value, path, errors);
                    path.RemoveAt(path.Count - 1);
                }
                return record;
            case JsonValueKind.Array:
                var list = new JsonArray();
                foreach (var item in element.EnumerateArray())
                {
                    path.Add((list.Count + 1).ToString(CultureInfo.InvariantCulture));
                    list.Add(ToNode(item, path, errors));
                    path.RemoveAt(path.Count - 1);
                }
                return list;
            case JsonValueKind.String:
                return JsonValue.Create(element.GetString());
            case JsonValueKind.Number:
                // The number keeps its text, so a large integer stays exact; 1e400 has no double to compare with bounds.
                if (element.TryGetDouble(out var number) && double.IsFinite(number))
                    return JsonValue.Create(element.Clone());
                errors.Add(path, "number out of range");
                return null;
            case JsonValueKind.True:
                return JsonValue.Create(true);
            case JsonValueKind.False:
                return JsonValue.Create(false);
            default:
                return null;
        }
    }

    private static List<(string Key, string Value)> ParseUrlEncoded(ReadOnlySpan<byte> body)
    {
        string text;
        try
        {
            text = StrictUtf8.GetString(body);
        }
        catch (DecoderFallbackException)
        {
            throw new AdminError(400, UnparsableForm);
        }
        // Malformed escapes (%ZZ, a lone %) stay as written, as Kong's decoder leaves them.
        return QueryHelpers.ParseQuery(text).SelectMany(p => p.Value.Select(v => (p.Key, v ?? ""))).ToList();
    }

    private static async Task<List<(string Key, string Value)>> ParseMultipartAsync(string contentType, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
            || HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value is not { Length: > 0 and <= 70 } boundary)
            throw new AdminError(400, UnparsableMultipart);
        var pairs = new List<(string, string)>();
        try
        {
            var reader = new MultipartReader(boundary, new MemoryStream(body.ToArray(), writable: false)) { BodyLengthLimit = MaxBodyBytes };
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !disposition.IsFormDisposition()
                    || HeaderUtilities.RemoveQuotes(disposition.Name).Value is not { Length: > 0 } name)
                    throw new AdminError(400, UnparsableMultipart);
                using var value = new MemoryStream();
                await section.Body.CopyToAsync(value, cancellationToken);
                pairs.Add((name, StrictUtf8.GetString(value.GetBuffer(), 0, (int)value.Length)));
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or DecoderFallbackException or ArgumentException or FormatException)
        {
            throw new AdminError(400, UnparsableMultipart);
        }
        return pairs;
    }

    /// <summary>
    /// Builds nested objects and arrays from dotted, bracketed form keys. A key given both as a value and
    /// as the parent of nested keys (<c>a=1&amp;a.b=2</c>) is a schema violation on that key: one of the two
    /// would otherwise be dropped without a word.
    /// </summary>
    public static JsonObject FromPairs(IEnumerable<(string Key, string Value)> pairs)
    {
        var root = new JsonObject();
        var conflicts = new ValidationErrors();
        foreach (var (key, value) in pairs)
        {
            var path = key.Replace("[]", "").Replace("]", "").Replace('[', '.').Split('.', StringSplitOptions.RemoveEmptyEntries);
            if (path.Length == 0)
                continue;
            if (path.Length > MaxDepth)
                throw new AdminError(400, UnparsableForm);
            var node = root;
            var conflict = false;
            for (var i = 0; i < path.Length - 1 && !conflict; i++)
            {
                if (!node.TryGetPropertyValue(path[i], out var existing))
                    node[path[i]] = existing = new JsonObject();
                if (existing is JsonObject child)
                    node = child;
                else
                    conflict = Conflict(conflicts, path[..(i + 1)]);
            }
            if (conflict)
                continue;
            var last = path[^1];
            var isList = key.EndsWith("[]", StringComparison.Ordinal);
            if (!node.TryGetPropertyValue(last, out var current))
                node[last] = isList ? new JsonArray((JsonNode)value) : value;
            else if (current is JsonArray list)
                list.Add(value);
            else if (current is JsonObject)
                Conflict(conflicts, path);
            else
                node[last] = new JsonArray(current?.DeepClone(), value);
        }
        if (conflicts.Any)
            throw SchemaViolation(conflicts);
        return ArraysFromIndexes(root);
    }

    private static bool Conflict(ValidationErrors errors, IReadOnlyList<string> path)
    {
        errors.Add(path, "given both as a value and as nested fields");
        return true;
    }

    // config.allow.1=a&config.allow.2=b arrives as an object keyed by indexes; make it a list.
    private static JsonObject ArraysFromIndexes(JsonObject node)
    {
        foreach (var key in node.Select(p => p.Key).ToList())
        {
            if (node[key] is not JsonObject child)
                continue;
            ArraysFromIndexes(child);
            if (child.Count > 0 && child.All(p => int.TryParse(p.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                node[key] = new JsonArray(child.OrderBy(p => int.Parse(p.Key, NumberStyles.None, CultureInfo.InvariantCulture)).Select(p => p.Value?.DeepClone()).ToArray());
        }
        return node;
    }

    /// <summary>
    /// Refuses, as schema violations at their paths, NUL characters in strings and keys: PostgreSQL's text
    /// and jsonb cannot hold them, and SQLite must answer as PostgreSQL does.
    /// </summary>
    private static void RefuseUnstorable(JsonObject fields)
    {
        var errors = new ValidationErrors();
        Walk(fields, [], errors);
        if (errors.Any)
            throw SchemaViolation(errors);
    }

    private static void Walk(JsonNode? node, List<string> path, ValidationErrors errors)
    {
        switch (node)
        {
            case JsonObject record:
                foreach (var (key, value) in record)
                {
                    path.Add(key.Replace("\0", "\\0", StringComparison.Ordinal));
                    if (key.Contains('\0'))
                        errors.Add(path, NulMessage);
                    else
                        Walk(value, path, errors);
                    path.RemoveAt(path.Count - 1);
                }
                break;
            case JsonArray list:
                for (var i = 0; i < list.Count; i++)
                {
                    path.Add((i + 1).ToString(CultureInfo.InvariantCulture));
                    Walk(list[i], path, errors);
                    path.RemoveAt(path.Count - 1);
                }
                break;
            case JsonValue value when value.TryGetValue(out string? text) && text.Contains('\0'):
                errors.Add(path, NulMessage);
                break;
        }
    }

    private const string NulMessage = "must not contain a NUL character";

    private static AdminError SchemaViolation(ValidationErrors errors) =>
        new(400, errors.Message, AdminJson.Error(2, "schema violation", errors.Message, errors.Fields));
}

/// <summary>An Admin API answer that is not a success: a status and a Kong-shaped body.</summary>
public sealed class AdminError(int status, string message, JsonObject? body = null) : Exception(message)
{
    public int Status { get; } = status;

    public JsonObject Body { get; } = body ?? new JsonObject { ["message"] = message };
}
