using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Plugins;

/// <summary>The building blocks of plugin config schemas and credential entities, written once for all plugins.</summary>
public static class PluginFields
{
    /// <summary>A boolean with a default; Kong's config booleans are required and always have one.</summary>
    public static Field Flag(string name, bool defaultValue) =>
        new(name, FieldKind.Boolean) { Default = defaultValue, Required = true };

    public static Field Text(string name, string? defaultValue = null, IReadOnlyList<string>? oneOf = null) =>
        new(name, FieldKind.String) { Default = defaultValue is null ? null : JsonValue.Create(defaultValue), Required = defaultValue is not null, OneOf = oneOf };

    public static Field Number(string name, double? defaultValue = null, double? min = null, double? max = null) =>
        new(name, FieldKind.Number) { Default = defaultValue is { } d ? JsonValue.Create(d) : null, Required = defaultValue is not null, Min = min, Max = max };

    /// <summary>A number that must be above zero (a rate limit, a clock skew): Kong's "gt = 0".</summary>
    public static Field Positive(string name, double? defaultValue = null) =>
        new(name, FieldKind.Number)
        {
            Default = defaultValue is { } d ? JsonValue.Create(d) : null,
            Required = defaultValue is not null,
            Check = value => SchemaValidator.ToDouble(value) > 0 ? null : "value must be greater than 0",
        };

    public static Field Strings(string name, string[]? defaultValue = null, IReadOnlyList<string>? oneOf = null, Func<JsonNode, string?>? check = null) =>
        new(name, FieldKind.Array)
        {
            Default = defaultValue is null ? null : Array(defaultValue),
            Required = defaultValue is not null,
            Elements = new Field("value", FieldKind.String) { OneOf = oneOf, Check = check },
        };

    public static Field StringSet(string name, string[]? defaultValue = null, IReadOnlyList<string>? oneOf = null) =>
        new(name, FieldKind.Set)
        {
            Default = defaultValue is null ? null : Array(defaultValue),
            Required = defaultValue is not null,
            Elements = new Field("value", FieldKind.String) { OneOf = oneOf },
        };

    /// <summary>The consumer used when authentication fails (id or username); null means the request is refused.</summary>
    public static Field Anonymous() => new("anonymous", FieldKind.String) { MinLength = 1 };

    /// <summary>The realm of the WWW-Authenticate header an authentication plugin answers with.</summary>
    public static Field Realm(string? defaultValue = null) => NonEmptyText("realm", defaultValue);

    /// <summary>
    /// On a control plane, <paramref name="field"/> may not be <paramref name="value"/>: a setting that only
    /// works with the database at hand, which the data planes that run the plugin do not have.
    /// </summary>
    public static Func<JsonObject, ValidationContext, IEnumerable<(string?, string)>> RefusedOnControlPlane(string field, string value, string reason) =>
        (config, context) => context.Role == Configuration.NodeRole.ControlPlane && config[field] is JsonValue set && set.ToJsonString().Trim('"') == value
            ? [(field, $"'{value}' cannot be used on a control plane: {reason}")]
            : [];

    /// <summary>At least one of the fields is set and not empty.</summary>
    public static Func<JsonObject, IEnumerable<(string?, string)>> AtLeastOneOf(params string[] names) => config =>
        names.Any(n => IsNonEmpty(config[n])) ? [] : [(null, $"at least one of these fields must be non-empty: {Quoted(names)}")];

    /// <summary>At most one of the fields is set and not empty.</summary>
    public static Func<JsonObject, IEnumerable<(string?, string)>> OnlyOneOf(params string[] names) => config =>
        names.Count(n => IsNonEmpty(config[n])) <= 1 ? [] : [(null, $"only one of these fields must be non-empty: {Quoted(names)}")];

    /// <summary>When <paramref name="ifField"/> has <paramref name="value"/>, <paramref name="thenField"/> must be set.</summary>
    public static Func<JsonObject, IEnumerable<(string?, string)>> RequiredWhen(string ifField, string value, string thenField) => config =>
        config[ifField] is JsonValue v && v.ToJsonString().Trim('"') == value && !IsNonEmpty(Walk(config, thenField))
            ? [(thenField, "required field missing")]
            : [];

    private static JsonNode? Walk(JsonObject config, string dotted)
    {
        JsonNode? node = config;
        foreach (var part in dotted.Split('.'))
            node = node is JsonObject o ? o[part] : null;
        return node;
    }

    // Kong names config fields in these messages with their full path.
    private static string Quoted(string[] names) => string.Join(", ", names.Select(n => $"'config.{n}'"));

    private static bool IsNonEmpty(JsonNode? value) => value switch
    {
        null => false,
        JsonArray array => array.Count > 0,
        JsonObject o => o.Count > 0,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>().Length > 0,
        _ => true,
    };

    /// <summary>An IP address or a CIDR range, v4 or v6, as ip-restriction lists them.</summary>
    public static string? IpOrCidrError(JsonNode value)
    {
        var text = value.GetValue<string>();
        var slash = text.IndexOf('/');
        var address = slash < 0 ? text : text[..slash];
        if (IPAddress.TryParse(address, out var ip) && !address.Contains('%'))
        {
            if (slash < 0)
                return null;
            var maxPrefix = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32;
            if (int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) && prefix <= maxPrefix)
                return null;
        }
        return $"invalid ip or cidr range: '{text}'";
    }

    // ---- credentials ----

    /// <summary>The fields every credential starts with: id, creation time and the consumer it belongs to.</summary>
    public static Field[] CredentialHead() =>
    [
        Id(),
        CreatedAt(),
        Foreign("consumer", "consumers", required: true),
    ];

    // ---- traffic, transformation and logging plugins ----

    /// <summary>Kong's header_name type: letters, digits, '_' and '-' only (stricter than an HTTP token).</summary>
    public static Field KongHeaderName(string name, string? defaultValue = null) => new(name, FieldKind.String)
    {
        Default = defaultValue is null ? null : JsonValue.Create(defaultValue),
        Required = defaultValue is not null,
        MinLength = 1,
        Check = KongHeaderNameError,
    };

    public static string? KongHeaderNameError(JsonNode value)
    {
        var name = value.GetValue<string>();
        if (name.Length == 0)
            return "length must be at least 1";
        return name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? null
            : $"bad header name '{name}', allowed characters are A-Z, a-z, 0-9, '_', and '-'";
    }

    /// <summary>
    /// Kong's conditional entity check with <c>required = true</c>: when <paramref name="ifField"/> has
    /// <paramref name="value"/>, a missing <paramref name="thenField"/> is reported on it, and an @entity
    /// names the field whose value called for it: the plugin's, as <c>config.&lt;ifField&gt;</c>, for a
    /// check of the plugin's schema (rate-limiting's), or the config record's, as <c>&lt;ifField&gt;</c>,
    /// for a check of the config record itself (oauth2's).
    /// </summary>
    public static Func<JsonObject, IEnumerable<(string?, string)>> RequiredByCondition(string ifField, string value, string thenField, bool ofConfigRecord = false) => config =>
        config[ifField] is JsonValue v && v.ToJsonString().Trim('"') == value && !IsNonEmpty(Walk(config, thenField))
            ? ofConfigRecord
                ? [(thenField, "required field missing"), (ConfigEntity, ConditionalMessage(ifField))]
                : FailedConditional("config." + ifField, thenField, "required field missing")
            : [];

    /// <summary>What a config check names to report at <c>config.@entity</c>, where the rules of the config record itself go; null reports at the plugin's @entity.</summary>
    public const string ConfigEntity = "@entity";

    /// <summary>
    /// Kong's host type: a name or an IP address, but no port. The server-name rule is the same except that
    /// it also refuses addresses, so an address is only refused here when it carries a port.
    /// </summary>
    public static string? KongHostError(JsonNode value)
    {
        var error = ServerNameError(value);
        if (error != "must not be an IP")
            return error;
        var host = value.GetValue<string>();
        var ipv4WithPort = host.Count(c => c == ':') == 1 && !host.StartsWith('[');
        return ipv4WithPort || host.Contains("]:", StringComparison.Ordinal) ? "must not have a port" : null;
    }

    // ---- Kong 3.9's rules of the authentication and access plugins ----

    /// <summary>Every protocol Kong 3.9 knows, in its order: what a plugin whose schema takes any protocol accepts.</summary>
    public static readonly IReadOnlyList<string> AnyProtocol = ["grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp"];

    /// <summary>Kong refuses an empty string in any string field that does not say otherwise.</summary>
    public static string? EmptyStringError(JsonNode value) => value.GetValue<string>().Length == 0 ? "length must be at least 1" : null;

    /// <summary>A string of Kong's config that, when given, is not empty (anonymous, realm, a header name…).</summary>
    public static Field NonEmptyText(string name, string? defaultValue = null, IReadOnlyList<string>? oneOf = null) =>
        new(name, FieldKind.String)
        {
            Default = defaultValue is null ? null : JsonValue.Create(defaultValue),
            Required = defaultValue is not null,
            OneOf = oneOf,
            MinLength = 1,
        };

    /// <summary>A list of non-empty strings, each also passing <paramref name="check"/> when given.</summary>
    public static Field NonEmptyStrings(string name, string[]? defaultValue = null, IReadOnlyList<string>? oneOf = null, Func<JsonNode, string?>? check = null) =>
        Strings(name, defaultValue, oneOf, value => EmptyStringError(value) ?? check?.Invoke(value));

}
