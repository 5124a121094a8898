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

    /// <summary>At most this many tags on one entity: each is a row of the tags index, written with the entity.</summary>
    public const int MaxTags = 1000;

    /// <summary>In UTF-16 units, so at most 1536 bytes of UTF-8: PostgreSQL refuses a btree entry (the tags index) over about 2.7 kB.</summary>
    public const int MaxTagLength = 512;

    /// <summary>
    /// Tags: printable ASCII except ',' and '/' (which the ?tags= filter uses), or any UTF-8 beyond ASCII.
    /// Kong's schema bounds neither the count nor the length (only its 10 MB body limit does), so one request
    /// could write 200,000 rows of the tags index. Gantry caps both far above what Kong's own tooling allows
    /// (its Kubernetes resources take at most 20 tags of 128 characters), so any configuration those tools
    /// manage still fits.
    /// </summary>
    public static Field Tags() => new("tags", FieldKind.Set)
    {
        MaxItems = MaxTags,
        Elements = new Field("tag", FieldKind.String)
        {
            MinLength = 1,
            MaxLength = MaxTagLength,
            Pattern = TagPattern(),
            PatternMessage = "invalid tag",
        },
    };

    /// <summary>Names of services and routes: ASCII letters, digits and . - _ ~, and any character beyond ASCII.</summary>
    public static Field Name(bool required = false, bool unique = true) => new("name", FieldKind.String)
    {
        Required = required,
        Unique = unique,
        MinLength = 1,
        Check = Utf8NameError,
    };

    /// <summary>Kong's utf8_name: what service, route and plugin instance names may hold.</summary>
    public static string? Utf8NameError(JsonNode value)
    {
        var name = value.GetValue<string>();
        foreach (var c in name)
        {
            if (c < 0x80 && !char.IsAsciiLetterOrDigit(c) && c is not ('.' or '-' or '_' or '~'))
                return $"invalid value '{name}': the only accepted ascii characters are alphanumerics or ., -, _, and ~";
        }
        return null;
    }

    public static Field Foreign(string name, string reference, bool required = false) =>
        new(name, FieldKind.Foreign) { Reference = reference, Required = required };

    /// <param name="describedRequired">Kong's schema says <c>required</c> beside the default (<see cref="Field.DescribedRequired"/>).</param>
    public static Field Integer(string name, long? defaultValue = null, double? min = null, double? max = null, bool required = false, bool? describedRequired = null) =>
        new(name, FieldKind.Integer)
        {
            Default = defaultValue is { } d ? JsonValue.Create(d) : null, Min = min, Max = max, Required = required, DescribedRequired = describedRequired,
        };

    public static Field Boolean(string name, bool? defaultValue = null, bool? describedRequired = null) =>
        new(name, FieldKind.Boolean) { Default = defaultValue is { } d ? JsonValue.Create(d) : null, DescribedRequired = describedRequired };

    public static Field String(string name, string? defaultValue = null, bool required = false, IReadOnlyList<string>? oneOf = null, bool? describedRequired = null) =>
        new(name, FieldKind.String)
        {
            Default = defaultValue is null ? null : JsonValue.Create(defaultValue), Required = required, OneOf = oneOf, DescribedRequired = describedRequired,
        };

    public static Field StringSet(string name, Field? element = null) =>
        new(name, FieldKind.Set) { Elements = element ?? new Field("value", FieldKind.String) };

    public static JsonArray Array(params string[] values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    /// <summary>A host name or IP address (no scheme, no port): what services and upstreams point at.</summary>
    public static string? HostError(JsonNode value)
    {
        var host = value.GetValue<string>();
        // IsHostName takes IPv4 addresses; only an IPv6 address (it has colons) is left to IPAddress.
        return IsHostName(host) || (host.Contains(':') && System.Net.IPAddress.TryParse(host.Trim('[', ']'), out _)) ? null : $"invalid value: {host}";
    }

    /// <summary>
    /// A host name, not an address: a name made only of digits and dots is read as an IPv4 address, as Kong
    /// reads it, so "123" is a malformed address (which IPAddress.TryParse would take as 0.0.0.123), not a name.
    /// </summary>
    public static bool IsHostName(string host) => !DigitsAndDots().IsMatch(host) ? HostPattern().IsMatch(host) : DottedQuad().IsMatch(host) && System.Net.IPAddress.TryParse(host, out _);

    [GeneratedRegex(@"^[0-9.]+$")]
    private static partial Regex DigitsAndDots();

    [GeneratedRegex(@"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$")]
    private static partial Regex DottedQuad();

    /// <summary>
    /// A host a route or certificate matches: a host name or IP address with at most one '*' standing for
    /// the leftmost or rightmost label (<c>*.example.com</c>, <c>example.*</c>), and for routes an optional
    /// <c>:port</c>.
    /// </summary>
    public static string? WildcardHostError(string value, bool allowPort)
    {
        var host = value;
        // A port follows the last colon of a name or IPv4 address, or the bracket of an IPv6 address.
        var colon = host.StartsWith('[') ? host.IndexOf("]:", StringComparison.Ordinal) + 1 : host.IndexOf(':') == host.LastIndexOf(':') ? host.IndexOf(':') : -1;
        if (allowPort && colon > 0)
        {
            if (!int.TryParse(host[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port > 65535)
                return "invalid port number";
            host = host[..colon];
        }
        var stars = host.Count(c => c == '*');
        if (stars > 1)
            return "invalid wildcard: must have at most one wildcard";
        if (stars == 1)
        {
            if (!(host.StartsWith("*.", StringComparison.Ordinal) || host.EndsWith(".*", StringComparison.Ordinal)))
                return "invalid wildcard: must be placed at leftmost or rightmost label";
            host = host.Replace("*", "wildcard", StringComparison.Ordinal);
        }
        if (DigitsAndDots().IsMatch(host) && !IsHostName(host))
            return $"invalid ipv4 address: {value}";
        if (IsHostName(host) || (host.Contains(':') && System.Net.IPAddress.TryParse(host.Trim('[', ']'), out _)))
            return null;
        return $"invalid hostname: {value}";
    }

    /// <summary>
    /// An SNI name, Kong's wildcard host: at most one '*', as its first or last character, then a host name
    /// (the '*' read as a letter), neither an IP address nor with a port. '*' alone names the default certificate.
    /// </summary>
    public static string? SniNameError(JsonNode value)
    {
        var name = value.GetValue<string>();
        var star = name.IndexOf('*');
        if (star > 0 && star != name.Length - 1)
            return "wildcard must be leftmost or rightmost character";
        if (star >= 0 && name.IndexOf('*', star + 1) >= 0)
            return "only one wildcard must be specified";
        return ServerNameError(name.Replace("*", "wildcard", StringComparison.Ordinal));
    }

    /// <summary>A server name sent in TLS (an upstream's <c>https_sni</c>): a host name, neither an IP address nor with a port.</summary>
    public static string? ServerNameError(JsonNode value) => ServerNameError(value.GetValue<string>());

    private static string? ServerNameError(string host)
    {
        // Kong reads two colons or more as IPv6, digits and dots as IPv4, anything else as name[:port].
        if (host.Count(c => c == ':') > 1 || host.StartsWith('['))
            return System.Net.IPAddress.TryParse(host.Trim('[', ']'), out _) ? "must not be an IP" : $"invalid value: {host}";
        var colon = host.IndexOf(':');
        var bare = colon < 0 ? host : host[..colon];
        if (!IsHostName(bare))
            return $"invalid value: {host}";
        if (DigitsAndDots().IsMatch(bare))
            return "must not be an IP";
        return colon < 0 ? null : "must not have a port";
    }

    /// <summary>The name field of an SNI, shared by the snis entity and a certificate's snis list.</summary>
    public static Field SniName(string name = "name") => new(name, FieldKind.String) { MinLength = 1, Check = SniNameError };

    /// <summary>"at least one of these fields must be non-empty: 'a', 'b'": empty strings, lists and maps count as unset.</summary>
    public static (string?, string)? AtLeastOneOf(JsonObject entity, params string[] fields) =>
        fields.Any(f => IsSet(entity[f])) ? null : (null, $"at least one of these fields must be non-empty: {string.Join(", ", fields.Select(f => $"'{f}'"))}");

    /// <summary>
    /// A rule that applies because of another field's value (a hash fallback because of hash_on): the
    /// offending field says what is wrong, and the entity says which field's value called for the rule.
    /// </summary>
    public static IEnumerable<(string?, string)> FailedConditional(string ifField, string thenField, string message) =>
        [(thenField, message), (null, ConditionalMessage(ifField))];

    /// <summary>Kong's message on the @entity of a rule that applies because of <paramref name="ifField"/>'s value.</summary>
    public static string ConditionalMessage(string ifField) => $"failed conditional validation given value of field '{ifField}'";

    public static bool IsSet(JsonNode? value) => value switch
    {
        null => false,
        JsonArray a => a.Count > 0,
        JsonObject o => o.Count > 0,
        JsonValue v when v.TryGetValue(out string? s) => s.Length > 0,
        _ => true,
    };

    /// <summary>An HTTP header name (RFC 9110 token).</summary>
    public static Field HeaderName(string name) => new(name, FieldKind.String) { MinLength = 1, Pattern = HeaderNamePattern(), PatternMessage = "bad header name" };

    /// <summary>A reference to a secret in a vault (<c>{vault://env/cert}</c>), resolved when used, not when stored.</summary>
    public static bool IsVaultReference(string value) => value.StartsWith("{vault://", StringComparison.Ordinal) && value.EndsWith('}');

    [GeneratedRegex(@"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")]
    private static partial Regex HeaderNamePattern();

    /// <summary>A URL path: starts with /, RFC 3986 characters, valid %XX escapes, no empty segments.</summary>
    public static string? PathError(JsonNode value)
    {
        var path = value.GetValue<string>();
        if (!path.StartsWith('/'))
            return "should start with: /";
        if (path.Contains("//", StringComparison.Ordinal))
            return "must not have empty segments";
        foreach (var c in path)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "-._~/%!$&'()*+,;=:@".Contains(c)))
                return $"invalid path: '{path}' (characters outside of the reserved list of RFC 3986 found)";
        }
        return PercentEncodingError(path);
    }

    /// <summary>Every '%' starts an escape of two hex digits; the error quotes the '%' and up to two characters after it.</summary>
    public static string? PercentEncodingError(string path)
    {
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] != '%')
                continue;
            if (i + 2 >= path.Length || !Uri.IsHexDigit(path[i + 1]) || !Uri.IsHexDigit(path[i + 2]))
                return "invalid url-encoded value: '" + path.Substring(i, Math.Min(3, path.Length - i)) + "'";
            i += 2;
        }
        return null;
    }

    [GeneratedRegex(@"^[\x21-\x2B\x2D\x2E\x30-\x7E\u0080-\uFFFF]+$")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")]
    internal static partial Regex HostPattern();
}
