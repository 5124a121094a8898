using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gantry.Entities.Schema;

namespace Gantry.Plugins.RequestTransformer;

/// <summary>
/// The config shape both transformers share: a record per operation (remove, rename, replace, add,
/// append) holding one list per part of the message, of names (remove) or <c>name:value</c> pairs.
/// </summary>
public static partial class TransformFields
{
    /// <summary>An operation's record: one list per part of the message (and, for some, a field of its own).</summary>
    public static Field Operation(string operation, params Field[] lists) => new(operation, FieldKind.Record) { Required = true, Fields = lists };

    /// <summary>A list of plain strings (names to remove), empty by default.</summary>
    public static Field Names(string part, Func<JsonNode, string?>? check = null) => List(part, pairs: false, check);

    /// <summary>A list of <c>name:value</c> pairs, empty by default; <paramref name="check"/> runs after the colon is found.</summary>
    public static Field Pairs(string part, Func<JsonNode, string?>? check = null) => List(part, pairs: true, check);

    /// <summary>The strings of <c>config.operation.part</c>; empty when the list is.</summary>
    public static string[] Read(Pipeline.PluginConfig config, string operation, string part) =>
        config.Values[operation]?[part] is JsonArray list ? [.. list.Select(v => v!.GetValue<string>())] : [];

    /// <summary>The <c>name:value</c> pairs of <c>config.operation.part</c>, split.</summary>
    public static (string Name, string Value)[] ReadPairs(Pipeline.PluginConfig config, string operation, string part) =>
        [.. Read(config, operation, part).Select(Split)];

    private static Field List(string name, bool pairs, Func<JsonNode, string?>? check) => new(name, FieldKind.Array)
    {
        Default = new JsonArray(),
        Required = true,
        Elements = new Field("value", FieldKind.String) { MinLength = 1, Pattern = pairs ? Pair() : null, Check = check },
    };

    /// <summary>Splits <c>name:value</c> at the first colon; the value may be empty or hold more colons.</summary>
    public static (string Name, string Value) Split(string pair)
    {
        var colon = pair.IndexOf(':');
        return colon < 0 ? (pair, "") : (pair[..colon], pair[(colon + 1)..]);
    }

    /// <summary>The header name before any colon is one Kong's header_name type takes.</summary>
    public static string? HeaderNameError(JsonNode value) => HeaderError(KongSplit(value.GetValue<string>()).Name);

    /// <summary>For a rename, the new name must be a header name too.</summary>
    public static string? HeaderRenameError(JsonNode value)
    {
        var (name, newName) = KongSplit(value.GetValue<string>());
        return HeaderError(name) ?? HeaderError(newName);
    }

    /// <summary>A body field or query argument to set needs a value after its colon.</summary>
    public static string? KeyHasValueError(JsonNode value)
    {
        var (name, text) = KongSplit(value.GetValue<string>());
        return text.Length == 0 ? $"key '{name}' has no value" : null;
    }

    private static string? HeaderError(string name) =>
        PluginFields.KongHeaderNameError(JsonValue.Create(name)) is null ? null : $"'{name}' is not a valid header";

    /// <summary>How Kong's checks read a pair: the name up to the first colon, the value after every colon that follows it.</summary>
    private static (string Name, string Value) KongSplit(string pair)
    {
        var colon = pair.IndexOf(':');
        return colon < 0 ? (pair, "") : (pair[..colon], pair[(colon + 1)..].TrimStart(':'));
    }

    [GeneratedRegex("^[^:]+:.*$", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex Pair();
}
