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
    /// <summary>A record of lists of plain names, each list empty by default.</summary>
    public static Field Names(string operation, string[] parts) => new(operation, FieldKind.Record)
    {
        Required = true,
        Fields = [.. parts.Select(part => List(part, pairs: false, part == "headers" ? HeaderNameError : null))],
    };

    /// <summary>
    /// A record of lists of <c>name:value</c> pairs. A headers list checks the header name, and for a rename
    /// the new name too.
    /// </summary>
    public static Field Pairs(string operation, string[] parts, bool renamesHeaders = false, Field? extra = null) => new(operation, FieldKind.Record)
    {
        Required = true,
        Fields =
        [
            .. parts.Select(part => List(part, pairs: true, part != "headers" ? null : renamesHeaders ? HeaderRenameError : HeaderPairError)),
            .. extra is null ? Array.Empty<Field>() : [extra],
        ],
    };

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
        Elements = new Field("value", FieldKind.String) { Pattern = pairs ? Pair() : null, Check = check },
    };

    /// <summary>Splits <c>name:value</c> at the first colon; the value may be empty or hold more colons.</summary>
    public static (string Name, string Value) Split(string pair)
    {
        var colon = pair.IndexOf(':');
        return colon < 0 ? (pair, "") : (pair[..colon], pair[(colon + 1)..]);
    }

    private static string? HeaderNameError(JsonNode value) => HeaderError(value.GetValue<string>());

    private static string? HeaderPairError(JsonNode value) => HeaderError(Split(value.GetValue<string>()).Name);

    private static string? HeaderRenameError(JsonNode value)
    {
        var (name, newName) = Split(value.GetValue<string>());
        return HeaderError(name) ?? HeaderError(newName);
    }

    private static string? HeaderError(string name) => Token().IsMatch(name) ? null : $"'{name}' is not a valid header";

    [GeneratedRegex("^[^:]+:.*$", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex Pair();

    // RFC 9110 token: the characters a header name may have.
    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Token();
}
