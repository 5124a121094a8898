using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Gantry.Declarative;

/// <summary>A document that is neither valid YAML nor valid JSON.</summary>
public sealed class DeclarativeSyntaxException(string message) : Exception(message);

/// <summary>
/// Between a document's text (YAML, or JSON, which is read as JSON so that its escapes mean what JSON says)
/// and JSON nodes. Plain YAML scalars are typed as YAML 1.2's core schema types them (null, booleans,
/// integers, floats); quoted ones are always strings.
/// </summary>
public static partial class DeclarativeText
{
    public static JsonNode? Parse(string text)
    {
        if (text.TrimStart().StartsWith('{'))
        {
            try
            {
                return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = false });
            }
            catch (JsonException e)
            {
                throw new DeclarativeSyntaxException($"failed parsing declarative configuration: {e.Message}");
            }
        }
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _))
                return null;
            parser.Consume<DocumentStart>();
            var anchors = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
            var root = ReadNode(parser, anchors);
            parser.Consume<DocumentEnd>();
            if (!parser.TryConsume<StreamEnd>(out _))
                throw new DeclarativeSyntaxException("failed parsing declarative configuration: expected one YAML document, found several");
            return root;
        }
        catch (YamlException e)
        {
            var reason = e.InnerException?.Message ?? e.Message;
            throw new DeclarativeSyntaxException($"failed parsing declarative configuration: line {e.Start.Line}, column {e.Start.Column}: {reason}");
        }
    }

    /// <summary>
    /// Builds JSON nodes straight from the parser's events (YamlDotNet's representation model would build
    /// a second tree of the whole document first). An alias is a copy of its anchor's node.
    /// </summary>
    private static JsonNode? ReadNode(IParser parser, Dictionary<string, JsonNode?> anchors)
    {
        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            return anchors.TryGetValue(alias.Value.Value, out var anchored)
                ? anchored?.DeepClone()
                : throw new DeclarativeSyntaxException($"failed parsing declarative configuration: line {alias.Start.Line}: unknown alias '{alias.Value}'");
        }
        JsonNode? node;
        AnchorName anchor;
        if (parser.TryConsume<YamlDotNet.Core.Events.Scalar>(out var scalar))
        {
            anchor = scalar.Anchor;
            node = Scalar(scalar);
        }
        else if (parser.TryConsume<MappingStart>(out var mapping))
        {
            anchor = mapping.Anchor;
            var obj = new JsonObject();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var line = parser.Current?.Start.Line;
                if (ReadNode(parser, anchors) is not JsonValue key || !key.TryGetValue(out string? name))
                    throw new DeclarativeSyntaxException($"failed parsing declarative configuration: line {line}: keys must be strings");
                if (obj.ContainsKey(name))
                    throw new DeclarativeSyntaxException($"failed parsing declarative configuration: line {line}: duplicate key '{name}'");
                obj[name] = ReadNode(parser, anchors);
            }
            node = obj;
        }
        else
        {
            var sequence = parser.Consume<SequenceStart>();
            anchor = sequence.Anchor;
            var array = new JsonArray();
            while (!parser.TryConsume<SequenceEnd>(out _))
                array.Add(ReadNode(parser, anchors));
            node = array;
        }
        if (!anchor.IsEmpty)
            anchors[anchor.Value] = node?.DeepClone();
        return node;
    }

    private static JsonNode? Scalar(YamlDotNet.Core.Events.Scalar scalar)
    {
        var text = scalar.Value;
        var tag = scalar.Tag.IsEmpty ? null : scalar.Tag.Value;
        if (tag == "tag:yaml.org,2002:str" || (tag is null && scalar.Style is not ScalarStyle.Plain))
            return text;
        return PlainValue(text) ?? (IsNull(text) ? null : JsonValue.Create(text));
    }

    private static bool IsNull(string text) => text is "" or "~" or "null" or "Null" or "NULL";

    /// <summary>A plain scalar's value when it is not a string (null is reported by <see cref="IsNull"/>).</summary>
    private static JsonNode? PlainValue(string text)
    {
        switch (text)
        {
            case "true" or "True" or "TRUE":
                return true;
            case "false" or "False" or "FALSE":
                return false;
        }
        if (IntegerPattern().IsMatch(text))
        {
            return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                ? l
                : double.Parse(text, CultureInfo.InvariantCulture);
        }
        if (FloatPattern().IsMatch(text))
            return double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        return null;
    }

    /// <summary>Whether a string written plain would read back as something else (a number, a boolean, null).</summary>
    private static bool NeedsQuotes(string text) => IsNull(text) || PlainValue(text) is not null;

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();

    /// <summary>
    /// The document as YAML, keys in the order of the JSON objects, null values left out (an absent field
    /// and a null one load the same). Emitted through YamlDotNet's emitter so that every scalar's style is
    /// chosen here: strings that would read back as numbers or booleans are quoted, numbers keep their
    /// shortest round-trip form, multi-line strings (PEM) are literal blocks.
    /// </summary>
    public static string ToYaml(JsonObject document)
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        var emitter = new Emitter(writer, EmitterSettings.Default.WithBestIndent(2).WithBestWidth(int.MaxValue).WithNewLine("\n"));
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, true));
        Emit(emitter, document);
        emitter.Emit(new DocumentEnd(true));
        emitter.Emit(new StreamEnd());
        return writer.ToString();
    }

    private static void Emit(IEmitter emitter, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                emitter.Emit(new MappingStart(null, null, true, obj.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var (key, value) in obj)
                {
                    if (value is null)
                        continue;
                    EmitString(emitter, key);
                    Emit(emitter, value);
                }
                emitter.Emit(new MappingEnd());
                break;
            case JsonArray array:
                emitter.Emit(new SequenceStart(null, null, true, array.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var item in array)
                {
                    if (item is null)
                        emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false));
                    else
                        Emit(emitter, item);
                }
                emitter.Emit(new SequenceEnd());
                break;
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        EmitString(emitter, value.GetValue<string>());
                        break;
                    case JsonValueKind.True or JsonValueKind.False or JsonValueKind.Number:
                        emitter.Emit(new Scalar(null, null, value.ToJsonString(), ScalarStyle.Plain, true, false));
                        break;
                    default:
                        emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false));
                        break;
                }
                break;
        }
    }

    private static void EmitString(IEmitter emitter, string text)
    {
        var style = NeedsQuotes(text) ? ScalarStyle.DoubleQuoted
            : text.Contains('\n') && !text.Contains('\r') && !text.Contains('\t') ? ScalarStyle.Literal
            : ScalarStyle.Any;
        emitter.Emit(new Scalar(null, null, text, style, true, true));
    }

    /// <summary>The document as indented JSON (for callers that asked for JSON).</summary>
    public static string ToJson(JsonObject document) =>
        document.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
}
