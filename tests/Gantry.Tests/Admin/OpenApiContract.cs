using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;
using Json.Schema;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gantry.Tests.Admin;

/// <summary>One operation of the OpenAPI document: a method on a path template, and its 2xx response schema.</summary>
public sealed record ContractOperation(string Method, string Path, JsonNode? SuccessSchema, bool HasRequestBody)
{
    public override string ToString() => $"{Method} {Path}";
}

/// <summary>
/// Kong's Admin API contract (kong-admin-api-3.9.yaml) as data: its operations, and a validator of
/// response bodies against their schemas. The YAML is read into JSON by hand rather than through
/// YamlDotNet's object deserializer, which would turn every unquoted number into a string.
/// </summary>
public sealed class OpenApiContract
{
    private static readonly string[] Methods = ["get", "post", "put", "patch", "delete", "head", "options"];

    private readonly JsonObject _document;

    private OpenApiContract(JsonObject document)
    {
        _document = document;
        Operations = ReadOperations().ToList();
    }

    public IReadOnlyList<ContractOperation> Operations { get; }

    public static string SpecPath => SharedReference.PathOf("reference/kong-admin-api-3.9.yaml");

    public static OpenApiContract Load()
    {
        var path = SpecPath;
        using var reader = new StreamReader(path);
        var stream = new YamlStream();
        stream.Load(reader);
        return new OpenApiContract((JsonObject)ToJson(stream.Documents[0].RootNode)!);
    }

    private IEnumerable<ContractOperation> ReadOperations()
    {
        foreach (var (path, item) in _document["paths"]!.AsObject())
        {
            foreach (var method in Methods)
            {
                if (item?[method] is not JsonObject operation)
                    continue;
                JsonNode? schema = null;
                if (operation["responses"] is JsonObject responses)
                {
                    var success = responses.Where(r => r.Key.StartsWith('2')).OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value).FirstOrDefault();
                    if (success is not null)
                        schema = Errata.TryGetValue(success["$ref"]?.GetValue<string>() ?? "", out var corrected)
                            ? Resolve(new JsonObject { ["$ref"] = corrected })
                            : Resolve(success)?["content"]?["application/json"]?["schema"];
                }
                yield return new ContractOperation(method.ToUpperInvariant(), path,
                    schema is null ? null : Inline(schema, 0), operation["requestBody"] is not null);
            }
        }
    }

    /// <summary>
    /// Responses whose schema in the 3.9 document contradicts Kong's own entity schema, and the schema used
    /// instead. The shared <c>plugin-response</c> is a hand-written example: it types service, route and
    /// consumer as strings and lists only five protocols, while Kong answers references as {"id": …} and
    /// accepts https; <c>#/components/schemas/Plugin</c> describes what Kong really returns. Listed in
    /// docs/admin-api.md.
    /// </summary>
    private static readonly Dictionary<string, string> Errata = new(StringComparer.Ordinal)
    {
        ["#/components/responses/plugin-response"] = "#/components/schemas/Plugin",
    };

    /// <summary>Follows a local '$ref' ('#/components/…') to what it names.</summary>
    private JsonNode? Resolve(JsonNode node)
    {
        var guard = 0;
        while (node is JsonObject o && o["$ref"]?.GetValue<string>() is { } reference && guard++ < 32)
        {
            JsonNode? target = _document;
            foreach (var part in reference.TrimStart('#', '/').Split('/'))
                target = target?[part.Replace("~1", "/").Replace("~0", "~")];
            node = target ?? throw new InvalidOperationException($"unresolvable $ref {reference}");
        }
        return node;
    }

    /// <summary>The schema with every '$ref' replaced by a copy of its target, so that it stands alone.</summary>
    private JsonNode? Inline(JsonNode? node, int depth)
    {
        if (depth > 40)
            throw new InvalidOperationException("schema nesting too deep (a recursive $ref?)");
        switch (node)
        {
            case JsonObject o when o.ContainsKey("$ref"):
                return Inline(Resolve(o)!.DeepClone(), depth + 1);
            case JsonObject o:
                var copy = new JsonObject();
                foreach (var (key, value) in o)
                {
                    // Examples are data, not schemas: copying them as they are keeps a '$ref'-like key in one from being followed.
                    copy[key] = key is "example" or "examples" or "x-examples" ? value?.DeepClone() : Inline(value, depth + 1);
                }
                return copy;
            case JsonArray a:
                return new JsonArray(a.Select(v => Inline(v, depth + 1)).ToArray());
            default:
                return node?.DeepClone();
        }
    }

    /// <summary>
    /// Validates a response body against an operation's schema, after dropping null-valued fields (Kong and
    /// Gantry answer unset fields as null; the document's schemas do not allow null). Returns the errors.
    /// </summary>
    public static IReadOnlyList<string> Validate(JsonNode schema, JsonNode? body)
    {
        var evaluator = JsonSchema.FromText(schema.ToJsonString(), new BuildOptions { Dialect = Dialect.Draft07 });
        using var document = JsonDocument.Parse(WithoutNulls(body)?.ToJsonString() ?? "null");
        var result = evaluator.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid)
            return [];
        return (result.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value} ({e.Key} at {d.EvaluationPath})"))
            .DefaultIfEmpty("invalid (no details)")
            .ToList();
    }

    public static JsonNode? WithoutNulls(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Where(p => p.Value is not null).Select(p => KeyValuePair.Create(p.Key, WithoutNulls(p.Value)))),
        JsonArray a => new JsonArray(a.Where(v => v is not null).Select(WithoutNulls).ToArray()),
        _ => node?.DeepClone(),
    };

    private static JsonNode? ToJson(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                var o = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                    o[((YamlScalarNode)key).Value!] = ToJson(value);
                return o;
            case YamlSequenceNode sequence:
                return new JsonArray(sequence.Children.Select(ToJson).ToArray());
            case YamlScalarNode scalar:
                var text = scalar.Value ?? "";
                if (scalar.Style is not ScalarStyle.Plain)
                    return text;
                if (text is "" or "~" or "null")
                    return null;
                if (text is "true" or "false")
                    return text == "true";
                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
                    return l;
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
                    return d;
                return text;
            default:
                return null;
        }
    }
}
