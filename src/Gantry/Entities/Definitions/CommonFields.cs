using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gantry.Entities.Schema;

namespace Gantry.Entities.Definitions;

/// <summary>Fields and value rules that many entities share, written once.</summary>
public static partial class CommonFields
{
    public static Field Id() => new("id", FieldKind.Uuid) { Auto = AutoValue.Uuid, Unique = true };

    public static Field CreatedAt(FieldKind kind = FieldKind.Integer) => new("created_at", kind) { Auto = AutoValue.Timestamp, ReadOnly = true };

    public static Field UpdatedAt(FieldKind kind = FieldKind.Integer) => new("updated_at", kind) { Auto = AutoValue.Timestamp, ReadOnly = true };

    /// <summary>
    /// Tags: printable ASCII except ',' and '/' (which the ?tags= filter uses), or any UTF-8 beyond ASCII.
    /// Kong sets no length limit; Gantry caps a tag at 1024 characters so the tags index stays usable.
    /// </summary>
    public static Field Tags() => new("tags", FieldKind.Set)
    {
        Elements = new Field("tag", FieldKind.String)
        {
            MinLength = 1,
            MaxLength = 1024,
            Pattern = TagPattern(),
            PatternMessage = "invalid tag",
        },
    };

    /// <summary>Names of services, routes, upstreams: letters, digits and . - _ ~.</summary>
    public static Field Name(bool required = false, bool unique = true) => new("name", FieldKind.String)
    {
        Required = required,
        Unique = unique,
        MinLength = 1,
        Pattern = NamePattern(),
        PatternMessage = "invalid value; it must only contain alphanumeric and '., -, _, ~' characters",
    };

    public static Field Foreign(string name, string reference, bool required = false) =>
        new(name, FieldKind.Foreign) { Reference = reference, Required = required };

    public static Field Integer(string name, long? defaultValue = null, double? min = null, double? max = null, bool required = false) =>
        new(name, FieldKind.Integer) { Default = defaultValue is { } d ? JsonValue.Create(d) : null, Min = min, Max = max, Required = required };

    public static Field Boolean(string name, bool? defaultValue = null) =>
        new(name, FieldKind.Boolean) { Default = defaultValue is { } d ? JsonValue.Create(d) : null };

    public static Field String(string name, string? defaultValue = null, bool required = false, IReadOnlyList<string>? oneOf = null) =>
        new(name, FieldKind.String) { Default = defaultValue is null ? null : JsonValue.Create(defaultValue), Required = required, OneOf = oneOf };

    public static Field StringSet(string name, Field? element = null) =>
        new(name, FieldKind.Set) { Elements = element ?? new Field("value", FieldKind.String) };

    public static JsonArray Array(params string[] values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    /// <summary>A host name or IP address (no scheme, no port): what services and upstreams point at.</summary>
    public static string? HostError(JsonNode value)
    {
        var host = value.GetValue<string>();
        return HostPattern().IsMatch(host) || System.Net.IPAddress.TryParse(host.Trim('[', ']'), out _) ? null : $"invalid value: {host}";
    }

    [GeneratedRegex(@"^[\x21-\x2B\x2D\x2E\x30-\x7E\u0080-\uFFFF]+$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[A-Za-z0-9._~-]+$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")]
    internal static partial Regex HostPattern();
}
