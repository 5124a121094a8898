using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Entities.Definitions;

/// <summary>Services: where requests go. The url shorthand is expanded by <see cref="ExpandUrl"/>.</summary>
public static class Services
{
    public static readonly string[] Protocols = ["grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss"];

    public static EntitySchema Schema { get; } = new("services",
    [
        Id(),
        CreatedAt(),
        UpdatedAt(),
        Name(),
        Integer("retries", 5, 0, 32767),
        String("protocol", "http", oneOf: Protocols),
        new Field("host", FieldKind.String) { Required = true, Check = HostError },
        Integer("port", 80, 0, 65535),
        new Field("path", FieldKind.String) { Check = PathError },
        Integer("connect_timeout", 60000, 1, int.MaxValue),
        Integer("write_timeout", 60000, 1, int.MaxValue),
        Integer("read_timeout", 60000, 1, int.MaxValue),
        Tags(),
        Foreign("client_certificate", "certificates"),
        Boolean("tls_verify"),
        Integer("tls_verify_depth", null, 0, 64),
        new Field("ca_certificates", FieldKind.Array) { Elements = new Field("ca_certificate", FieldKind.Uuid) },
        Boolean("enabled", true),
    ])
    {
        Table = "services",
        EndpointKey = "name",
        OnParentDelete = new Dictionary<string, ParentDelete> { ["client_certificate"] = ParentDelete.Restrict },
        EntityChecks = [Check],
        Shorthands = ExpandUrl,
    };

    private static IEnumerable<(string?, string)> Check(JsonObject service)
    {
        var protocol = service["protocol"]?.GetValue<string>();
        if (protocol is "tcp" or "tls" or "tls_passthrough" or "udp" or "grpc" or "grpcs" && service["path"] is not null)
            yield return ("path", $"value must be null");
        if (protocol is not ("https" or "tls" or "wss") && service["client_certificate"] is not null)
            yield return ("client_certificate", "value must be null");
        if (protocol is not ("https" or "tls" or "wss" or "grpcs") && service["tls_verify"] is not null)
            yield return ("tls_verify", "value must be null");
    }

    private static string? PathError(JsonNode value)
    {
        var path = value.GetValue<string>();
        if (!path.StartsWith('/'))
            return "should start with: /";
        if (path.Contains("//", StringComparison.Ordinal))
            return "must not have empty segments";
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c == '%')
            {
                if (i + 2 >= path.Length || !Uri.IsHexDigit(path[i + 1]) || !Uri.IsHexDigit(path[i + 2]))
                    return "invalid url-encoded value: '" + path.Substring(i, Math.Min(3, path.Length - i)) + "'";
            }
            else if (!(char.IsAsciiLetterOrDigit(c) || "-._~/!$&'()*+,;=:@".Contains(c)))
            {
                return $"invalid path: '{path}' (characters outside of the reserved list of RFC 3986 found)";
            }
        }
        return null;
    }

    /// <summary>
    /// The url shorthand: "url": "https://example.com:8443/api" sets protocol, host, port and path, and
    /// may not be combined with them.
    /// </summary>
    public static void ExpandUrl(JsonObject input, ValidationErrors errors)
    {
        if (!input.TryGetPropertyValue("url", out var url))
            return;
        input.Remove("url");
        if (url is null)
            return;
        if (url.GetValueKind() != System.Text.Json.JsonValueKind.String
            || !Uri.TryCreate(url.GetValue<string>(), UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            errors.Add(["url"], "missing host in url");
            return;
        }
        input["protocol"] = uri.Scheme;
        input["host"] = uri.Host.Trim('[', ']');
        input["port"] = uri.IsDefaultPort ? (uri.Scheme is "https" or "grpcs" or "wss" ? 443 : 80) : uri.Port;
        var raw = url.GetValue<string>();
        var pathStart = raw.IndexOf('/', raw.IndexOf("://", StringComparison.Ordinal) + 3);
        input["path"] = pathStart < 0 ? null : raw[pathStart..];
    }
}
