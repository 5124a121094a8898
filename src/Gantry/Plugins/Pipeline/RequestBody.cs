using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace Gantry.Plugins.Pipeline;

/// <summary>
/// A request body read for a plugin (a key in a form or JSON body): the fields of an
/// application/x-www-form-urlencoded or application/json object body up to <see cref="Limit"/> bytes,
/// which can also be removed before the body is forwarded. Other bodies have no fields and are
/// forwarded untouched.
/// </summary>
public sealed class RequestBody
{
    /// <summary>Bodies larger than this are not read: they have no fields for plugins.</summary>
    public const int Limit = 1 << 20;

    private static readonly RequestBody None = new(null, null);

    private readonly Dictionary<string, StringValues>? _form;
    private readonly JsonObject? _json;

    private RequestBody(Dictionary<string, StringValues>? form, JsonObject? json)
    {
        _form = form;
        _json = json;
    }

    public static async Task<RequestBody> ReadAsync(HttpRequest http)
    {
        var type = http.ContentType ?? "";
        var isForm = type.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
        var isJson = type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);
        if (!isForm && !isJson || http.ContentLength is > Limit)
            return None;
        http.EnableBuffering(Limit);
        // Read no further than one byte past the limit: a chunked body has no length to refuse up front, and
        // what is not read stays in the stream for the forwarder.
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while (buffer.Length <= Limit && (read = await http.Body.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, Limit + 1 - buffer.Length)))) > 0)
            buffer.Write(chunk, 0, read);
        http.Body.Position = 0;
        if (buffer.Length > Limit)
            return None;
        var text = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        if (isForm)
            return new RequestBody(QueryHelpers.ParseQuery(text), null);
        try
        {
            return JsonNode.Parse(text) is JsonObject json ? new RequestBody(null, json) : None;
        }
        catch (System.Text.Json.JsonException)
        {
            return None;
        }
    }

    /// <summary>The field's values; a JSON field that is not a string or a list of strings has none.</summary>
    public StringValues Get(string name)
    {
        if (_form is not null)
            return _form.GetValueOrDefault(name);
        return _json?[name] switch
        {
            JsonValue value when value.TryGetValue(out string? text) => text,
            JsonArray array => new StringValues([.. array.OfType<JsonValue>().Select(v => v.ToString())]),
            _ => StringValues.Empty,
        };
    }

    /// <summary>Removes the field and replaces the body the forwarder will send.</summary>
    public void Remove(HttpRequest http, string name)
    {
        string text;
        if (_form is not null)
        {
            _form.Remove(name);
            text = QueryString.Create(_form).ToUriComponent().TrimStart('?');
        }
        else if (_json is not null)
        {
            _json.Remove(name);
            text = _json.ToJsonString();
        }
        else
        {
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        http.Body = new MemoryStream(bytes);
        http.ContentLength = bytes.Length;
        http.Headers.Remove("Transfer-Encoding");
    }
}
