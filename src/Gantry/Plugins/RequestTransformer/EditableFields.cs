using System.Text.Json.Nodes;
using Microsoft.Extensions.Primitives;

namespace Gantry.Plugins.RequestTransformer;

/// <summary>Request or response headers; names compare case-insensitively.</summary>
public sealed class HeaderFields(IHeaderDictionary headers) : IEditableFields
{
    public bool Contains(string name) => headers.ContainsKey(name);

    public bool Remove(string name) => headers.Remove(name);

    public void Rename(string from, string to)
    {
        var values = headers[from];
        headers.Remove(from);
        headers[to] = values;
    }

    public void Set(string name, string value, string? type = null) => headers[name] = value;

    public void Append(string name, string value, string? type = null) => headers[name] = StringValues.Concat(headers[name], value);
}

/// <summary>
/// Query or form arguments in the order they came, so that a forwarded query or body changes only where
/// a rule changed it; names compare exactly.
/// </summary>
public sealed class ArgumentFields(List<KeyValuePair<string, StringValues>> arguments) : IEditableFields
{
    public List<KeyValuePair<string, StringValues>> Arguments { get; } = arguments;

    public bool Contains(string name) => IndexOf(name) >= 0;

    public bool Remove(string name)
    {
        var index = IndexOf(name);
        if (index < 0)
            return false;
        Arguments.RemoveAt(index);
        return true;
    }

    public void Rename(string from, string to)
    {
        if (from == to)
            return;
        var values = Arguments[IndexOf(from)].Value;
        Remove(to);
        Arguments[IndexOf(from)] = new(to, values);
    }

    public void Set(string name, string value, string? type = null)
    {
        var index = IndexOf(name);
        if (index < 0)
            Arguments.Add(new(name, value));
        else
            Arguments[index] = new(name, value);
    }

    public void Append(string name, string value, string? type = null)
    {
        var index = IndexOf(name);
        if (index < 0)
            Arguments.Add(new(name, value));
        else
            Arguments[index] = new(name, StringValues.Concat(Arguments[index].Value, value));
    }

    /// <summary>Parses <c>a=1&amp;b=2&amp;a=3</c>, grouping repeated names at their first place.</summary>
    public static ArgumentFields Parse(string text)
    {
        var list = new List<KeyValuePair<string, StringValues>>();
        var fields = new ArgumentFields(list);
        foreach (var pair in new Microsoft.AspNetCore.WebUtilities.QueryStringEnumerable(text))
            fields.Append(pair.DecodeName().ToString(), pair.DecodeValue().ToString());
        return fields;
    }

    private int IndexOf(string name) => Arguments.FindIndex(a => a.Key == name);
}

/// <summary>
/// A JSON object's top-level keys. Values the rules write are JSON strings unless typed; appending turns
/// the key into an array holding what it had and the new value.
/// </summary>
public sealed class JsonFields(JsonObject json) : IEditableFields
{
    public bool Contains(string name) => json.ContainsKey(name);

    public bool Remove(string name) => json.Remove(name);

    public void Rename(string from, string to)
    {
        var value = json[from];
        json.Remove(from);
        json[to] = value;
    }

    public void Set(string name, string value, string? type = null) => json[name] = Typed(value, type);

    public void Append(string name, string value, string? type = null)
    {
        var node = Typed(value, type);
        switch (json[name])
        {
            case JsonArray array:
                array.Add(node);
                break;
            case { } existing:
                json.Remove(name);
                json[name] = new JsonArray(existing, node);
                break;
            default:
                json[name] = new JsonArray(node);
                break;
        }
    }

    /// <summary>The value as json_types asks: a number when it reads as one, a boolean true only for "true", else a string.</summary>
    private static JsonNode Typed(string value, string? type) => type switch
    {
        "number" when double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number)
            => number % 1 == 0 && Math.Abs(number) < 1e15 ? JsonValue.Create((long)number) : JsonValue.Create(number),
        "boolean" => JsonValue.Create(value == "true"),
        _ => JsonValue.Create(value),
    };
}
