using System.Text.Json.Nodes;
using Gantry.Entities.Schema;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Entities.Definitions;

/// <summary>Services: where requests go. The url shorthand is expanded by <see cref="ExpandUrl"/>.</summary>
public static class Services
{
    public static readonly string[] Protocols = ["grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp"];

    /// <summary>2^31-2 milliseconds: Kong's bound on a timeout, below the largest timer its runtime accepts.</summary>
    public const long MaxTimeout = 2147483646;

    public static EntitySchema Schema { get; } = new("services",
    [
        Id(),
        CreatedAt(),
        UpdatedAt(),
        Name(),
        Integer("retries", 5, 0, 32767),
        String("protocol", "http", oneOf: Protocols, describedRequired: true),
        new Field("host", FieldKind.String) { Required = true, Check = HostError },
        Integer("port", 80, 0, 65535, describedRequired: true),
        new Field("path", FieldKind.String) { Check = PathError },
        Integer("connect_timeout", 60000, 1, MaxTimeout),
        Integer("write_timeout", 60000, 1, MaxTimeout),
        Integer("read_timeout", 60000, 1, MaxTimeout),
        Tags(),
        Foreign("client_certificate", "certificates"),
        Boolean("tls_verify"),
        Integer("tls_verify_depth", null, 0, 64),
        new Field("ca_certificates", FieldKind.Array) { Elements = new Field("ca_certificate", FieldKind.Uuid), ElementReference = "ca_certificates" },
        Boolean("enabled", true, describedRequired: true),
    ])
    {
        Table = "services",
        EndpointKey = "name",
        OnParentDelete = new Dictionary<string, ParentDelete> { ["client_certificate"] = ParentDelete.Restrict },
        ReadingChecks = Checks,
        Normalize = LowerCaseIds,
        Shorthands = ExpandUrl,
    };

    // A property: the schema above is built before static fields below it are initialized.
    private static ReadingCheck[] Checks =>
    [
        NullUnless("path", protocol => protocol is not ("tcp" or "tls" or "udp" or "grpc" or "grpcs")),
        // Client certificates and upstream verification only make sense where Gantry speaks TLS to the upstream.
        .. ((string[])["client_certificate", "tls_verify", "tls_verify_depth", "ca_certificates"])
            .Select(name => NullUnless(name, protocol => protocol is "https" or "tls")),
    ];

    /// <summary>One of Kong's conditionals on the protocol: <paramref name="field"/> stays null unless the protocol allows it.</summary>
    private static ReadingCheck NullUnless(string field, Func<string?, bool> allows) => new(["protocol", field], service =>
        service[field] is null || allows(service["protocol"]?.GetValue<string>()) ? [] : FailedConditional("protocol", field, "value must be null"));

    /// <summary>
    /// ca_certificates ids are kept lower-case, the form every id is stored in, so that deleting a CA
    /// certificate finds the services that still name it.
    /// </summary>
    private static void LowerCaseIds(JsonObject service)
    {
        if (service["ca_certificates"] is JsonArray ids)
        {
            for (var i = 0; i < ids.Count; i++)
                ids[i] = ids[i]!.GetValue<string>().ToLowerInvariant();
        }
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
        if (url.GetValueKind() != System.Text.Json.JsonValueKind.String)
        {
            errors.Add(["url"], "expected a string");
            return;
        }
        if (!Uri.TryCreate(url.GetValue<string>(), UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            // As in Kong, a url without a host leaves the service without one, and the host is what is missing.
            input["host"] = null;
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
