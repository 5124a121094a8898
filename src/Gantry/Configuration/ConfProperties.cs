using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Gantry.Configuration;

/// <summary>
/// Every property Gantry reads from gantry.conf, in the order (and under the sections) they are
/// documented. Names and defaults follow Kong's where Kong has the property.
/// </summary>
public static partial class ConfProperties
{
    public const string General = "General";
    public const string Hybrid = "Hybrid mode";
    public const string Listeners = "Listeners";
    public const string Tls = "TLS certificates";
    public const string Proxy = "Proxy behaviour";
    public const string Datastore = "Datastore";
    public const string Cache = "Datastore cache";
    public const string Routing = "Routing";
    public const string AdminGui = "Admin GUI";

    public static IReadOnlyList<ConfProperty> All { get; } = Build();

    private static readonly Dictionary<string, ConfProperty> ByName = All.ToDictionary(p => p.Name, StringComparer.Ordinal);

    /// <summary>The section names in document order.</summary>
    public static IReadOnlyList<string> Sections { get; } = All.Select(p => p.Section).Distinct().ToArray();

    /// <summary>The property with this exact name, or null.</summary>
    public static ConfProperty? Find(string name) => ByName.GetValueOrDefault(name);

    internal static ConfProperty Get(string name) =>
        Find(name) ?? throw new ArgumentException($"'{name}' is not a Gantry configuration property", nameof(name));

    private static ConfProperty[] Build()
    {
        string[] logLevels = ["debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"];
        string[] responseHeaders =
        [
            "Server", "Via", "X-Kong-Proxy-Latency", "X-Kong-Response-Latency", "X-Kong-Upstream-Latency",
            "X-Kong-Admin-Latency", "X-Kong-Upstream-Status", "X-Kong-Request-Id", "server_tokens", "latency_tokens",
        ];

        return
        [
            // General
            new("prefix", General, ConfKind.Path, "/usr/local/gantry",
                "Working directory of the node: logs, runtime files and relative paths live under it. Each node on a host needs its own."),
            new("log_level", General, ConfKind.Enum, "notice",
                "Lowest severity written to the error logs.") { Allowed = logLevels },
            new("proxy_access_log", General, ConfKind.Path, "logs/access.log",
                "Where proxied requests are logged, one line each; off disables it. Relative paths are under prefix.") { AllowsOff = true },
            new("proxy_error_log", General, ConfKind.Path, "logs/error.log",
                "Where errors met while proxying are written, filtered by log_level."),
            new("admin_access_log", General, ConfKind.Path, "logs/admin_access.log",
                "Where Admin API requests (and data plane connections on a control plane) are logged; off disables it.") { AllowsOff = true },
            new("admin_error_log", General, ConfKind.Path, "logs/error.log",
                "Where errors met by the Admin API are written, filtered by log_level."),
            new("status_access_log", General, ConfKind.Path, "off",
                "Where Status API requests are logged; off (the default) disables it.") { AllowsOff = true },
            new("status_error_log", General, ConfKind.Path, "logs/status_error.log",
                "Where errors met by the Status API are written, filtered by log_level."),
            new("plugins", General, ConfKind.List, "bundled",
                "Plugins this node loads: bundled for all that ship with Gantry, names of custom plugins (found in plugin_paths) after it, or off for none. Loading does not enable a plugin.")
            { AllowsOff = true, Check = CheckPluginNames },
            new("plugin_paths", General, ConfKind.List, "",
                "Folders (comma-separated; relative ones under prefix) searched in order for the custom .NET plugins the plugins property names: my-plugin is my-plugin/my-plugin.dll or my-plugin.dll in one of them. Empty: only bundled plugins load. See docs/plugins.md."),

            // Hybrid mode
            new("role", Hybrid, ConfKind.Enum, "traditional",
                "traditional: a standalone node; control_plane: owns the database and pushes configuration; data_plane: runs without a database and receives it.")
            { Allowed = ["traditional", "control_plane", "data_plane"] },
            new("cluster_mtls", Hybrid, ConfKind.Enum, "shared",
                "How control and data planes authenticate each other: shared (one certificate for all), pki (certificates from a common CA), or pki_check_cn (pki plus a common-name check).")
            { Allowed = ["shared", "pki", "pki_check_cn"] },
            new("cluster_cert", Hybrid, ConfKind.String, "",
                "Certificate presented between control and data planes: a file path, PEM text or base64 PEM. Required in hybrid mode; 'gantry hybrid gen_cert' makes a pair for cluster_mtls = shared."),
            new("cluster_cert_key", Hybrid, ConfKind.String, "",
                "Private key of cluster_cert, in the same forms; it must be that certificate's key. Required in hybrid mode.") { Secret = true },
            new("cluster_ca_cert", Hybrid, ConfKind.String, "",
                "CA certificate that both planes trust in pki modes, in the same forms; required on control and data planes when cluster_mtls is pki or pki_check_cn."),
            new("cluster_control_plane", Hybrid, ConfKind.String, "127.0.0.1:8005",
                "host:port of the control plane a data plane connects to. A data plane starts even when it is unreachable.") { Check = CheckHostPort },
            new("cluster_listen", Hybrid, ConfKind.ListenList, "0.0.0.0:8005",
                "Addresses where a control plane accepts data plane connections (mutual TLS); must not be off on a control plane. Ignored unless role is control_plane."),
            new("cluster_server_name", Hybrid, ConfKind.String, "",
                "Name a data plane expects in the control plane's certificate (and sends as SNI) in pki modes; empty means the host of cluster_control_plane. In shared mode the name is always kong_clustering."),
            new("cluster_data_plane_purge_delay", Hybrid, ConfKind.Integer, "1209600",
                "Seconds a control plane keeps listing a data plane that stopped reporting, in /clustering/data-planes.") { Min = 60 },
            new("cluster_max_payload", Hybrid, ConfKind.Integer, "16777216",
                "Largest message, in bytes as sent (compressed), that passes between control and data planes; a larger full configuration is sent in several messages.") { Min = 4194304 },
            new("cluster_dp_labels", Hybrid, ConfKind.List, "",
                "Labels a data plane reports to its control plane, as comma-separated key:value pairs (shown in /clustering/data-planes); keys and values are 1 to 63 letters, digits, '.', '-' or '_', starting and ending with a letter or digit.")
            { Check = CheckLabels },

            // Listeners
            new("proxy_listen", Listeners, ConfKind.ListenList, "0.0.0.0:8000, 0.0.0.0:8443 http2 ssl",
                "Addresses where the proxy accepts client traffic, as host:port followed by options such as ssl or http2; off disables proxying."),
            new("admin_listen", Listeners, ConfKind.ListenList, "127.0.0.1:8001, 127.0.0.1:8444 http2 ssl",
                "Addresses of the Admin API; keep them private. off disables the Admin API."),
            new("status_listen", Listeners, ConfKind.ListenList, "127.0.0.1:8007",
                "Addresses of the read-only Status API (health, metrics); off disables it."),
            new("nginx_main_worker_shutdown_timeout", Listeners, ConfKind.String, "10s",
                "How long a node that drains ('gantry quit', SIGQUIT or SIGTERM) lets requests in flight finish before it cuts them and exits: a number with ms, s, m or h (seconds without a unit), as nginx writes times.")
            { Check = CheckNginxTime },

            // TLS
            new("ssl_cert", Tls, ConfKind.List, "",
                "Certificates (paths, PEM text or base64 PEM, comma-separated) for proxy_listen entries marked ssl; unset means a self-signed pair is generated. A client whose SNI names a stored certificate (the certificates and snis entities) gets that one instead."),
            new("ssl_cert_key", Tls, ConfKind.List, "",
                "Private keys for ssl_cert, in the same order.") { Secret = true },
            new("admin_ssl_cert", Tls, ConfKind.List, "",
                "Certificates for admin_listen entries marked ssl, in the forms accepted by ssl_cert."),
            new("admin_ssl_cert_key", Tls, ConfKind.List, "",
                "Private keys for admin_ssl_cert, in the same order.") { Secret = true },
            new("status_ssl_cert", Tls, ConfKind.List, "",
                "Certificates for status_listen entries marked ssl, in the forms accepted by ssl_cert."),
            new("status_ssl_cert_key", Tls, ConfKind.List, "",
                "Private keys for status_ssl_cert, in the same order.") { Secret = true },

            // Proxy behaviour
            new("headers", Proxy, ConfKind.List, "server_tokens, latency_tokens, X-Kong-Request-Id",
                "Headers the gateway adds to responses: server_tokens (Server, and Via on proxied responses), latency_tokens (X-Kong-Proxy-Latency and X-Kong-Upstream-Latency on proxied responses, X-Kong-Response-Latency on the gateway's own), single header names among these and X-Kong-Upstream-Status and X-Kong-Request-Id, or off. X-Kong-Admin-Latency is accepted but not sent yet.")
            { Allowed = responseHeaders, AllowsOff = true },
            new("headers_upstream", Proxy, ConfKind.List, "X-Kong-Request-Id",
                "Headers the gateway adds to requests sent upstream: X-Kong-Request-Id (the id also returned to the client when headers lists it), or off.")
            { Allowed = ["X-Kong-Request-Id"], AllowsOff = true },
            new("trusted_ips", Proxy, ConfKind.List, "",
                "Comma-separated IPs or CIDR blocks (or unix:) whose X-Forwarded-* and real-IP headers are believed; unset trusts nobody.")
            { Check = CheckTrustedIps },
            new("real_ip_header", Proxy, ConfKind.String, "X-Real-IP",
                "Request header that carries the client address when the peer is trusted; proxy_protocol takes it from the PROXY protocol instead.")
            { Check = CheckHeaderName },
            new("real_ip_recursive", Proxy, ConfKind.Boolean, "off",
                "When on, the client address is the last untrusted address in real_ip_header rather than the last one."),
            new("error_default_type", Proxy, ConfKind.Enum, "text/plain",
                "Format of gateway-generated error bodies when the client sends no Accept header.")
            { Allowed = ["text/plain", "text/html", "application/json", "application/xml"] },
            new("upstream_keepalive_pool_size", Proxy, ConfKind.Integer, "512",
                "Idle connections kept per upstream address and SNI, per event loop under proxy_io = epoll (as per nginx worker in Kong); 0 opens a new connection for every request.") { Min = 0 },
            new("upstream_keepalive_max_requests", Proxy, ConfKind.Integer, "10000",
                "Requests sent over one upstream connection before it is closed; 0 means no limit.") { Min = 0 },
            new("upstream_keepalive_idle_timeout", Proxy, ConfKind.Integer, "60",
                "Seconds an unused upstream connection stays open; 0 means no limit.") { Min = 0 },
            new("proxy_forwarder", Proxy, ConfKind.Enum, "auto",
                "Which forwarder sends requests upstream (Gantry's own property, not Kong's): auto uses Gantry's HTTP/1.1 forwarder for services of protocol http (and YARP's for upgrades such as WebSocket, HTTP/2 clients, and https, grpc, grpcs, ws and wss services); yarp uses YARP's forwarder for everything.")
            { Allowed = ["auto", "yarp"] },
            new("proxy_inline_io", Proxy, ConfKind.Boolean, "on",
                "Under proxy_io = runtime, whether the proxy runs each request on the runtime's socket thread that received it, as an nginx worker does, instead of handing it to the thread pool (Gantry's own property, not Kong's; the epoll loops always do). Configuration rebuilds, Admin API requests and SQLite calls are kept off those threads either way; turn it off for a custom plugin that blocks, which would stall every connection of its thread. See docs/proxy.md, Runtime settings."),
            new("proxy_io", Proxy, ConfKind.Enum, "epoll",
                "Which sockets serve the proxy listeners and the HTTP/1.1 forwarder's upstream connections (Gantry's own property, not Kong's): runtime uses .NET's socket engine (inline or not, per proxy_inline_io); epoll uses Gantry's own event loops, one per core, each reading a connection only when epoll says it has bytes and serving a request from its first byte to the last byte of its answer, as an nginx worker does (Linux on x86-64; elsewhere runtime is used). See docs/proxy.md, Runtime settings.")
            { Allowed = ["runtime", "epoll"] },

            // Datastore
            new("database", Datastore, ConfKind.Enum, "sqlite",
                "Where entities are stored: postgres for clusters, sqlite for a single node, or off to keep them in memory from a declarative file.")
            { Allowed = ["postgres", "sqlite", "off"] },
            new("sqlite_path", Datastore, ConfKind.Path, "gantry.db",
                "SQLite database file used when database is sqlite; relative paths are under prefix."),
            new("sqlite_busy_timeout", Datastore, ConfKind.Integer, "5000",
                "Milliseconds a SQLite statement waits for a lock held by another connection before failing.") { Min = 0 },
            new("pg_host", Datastore, ConfKind.String, "127.0.0.1", "Host name or address of the PostgreSQL server."),
            new("pg_port", Datastore, ConfKind.Integer, "5432", "Port of the PostgreSQL server.") { Min = 1, Max = 65535 },
            new("pg_timeout", Datastore, ConfKind.Integer, "5000",
                "Milliseconds allowed to connect to PostgreSQL, and for each read or write.") { Min = 1 },
            new("pg_user", Datastore, ConfKind.String, "gantry", "PostgreSQL user name."),
            new("pg_password", Datastore, ConfKind.String, "", "PostgreSQL password.") { Secret = true },
            new("pg_database", Datastore, ConfKind.String, "gantry", "PostgreSQL database name."),
            new("pg_schema", Datastore, ConfKind.String, "",
                "Schema holding Gantry's tables; unset uses the server's search_path."),
            new("pg_ssl", Datastore, ConfKind.Boolean, "off",
                "Ask for TLS on PostgreSQL connections; without pg_ssl_required a server without TLS still gets a plain connection."),
            new("pg_ssl_required", Datastore, ConfKind.Boolean, "off",
                "Refuse PostgreSQL connections that cannot use TLS."),
            new("pg_ssl_verify", Datastore, ConfKind.Boolean, "off",
                "Verify the PostgreSQL server certificate when TLS is used."),
            new("pg_ssl_version", Datastore, ConfKind.Enum, "tlsv1_2",
                "Lowest TLS version accepted for PostgreSQL connections; any lets the client and server agree.")
            { Allowed = ["tlsv1_1", "tlsv1_2", "tlsv1_3", "any"] },
            new("pg_max_concurrent_queries", Datastore, ConfKind.Integer, "0",
                "Most PostgreSQL queries this node runs at once; 0 means no limit.") { Min = 0 },
            new("pg_semaphore_timeout", Datastore, ConfKind.Integer, "60000",
                "Milliseconds a query waits for a free slot under pg_max_concurrent_queries before failing.") { Min = 0 },
            new("pg_keepalive_timeout", Datastore, ConfKind.Integer, "",
                "Milliseconds an idle pooled PostgreSQL connection is kept; 0 keeps it forever, unset uses the driver default.") { Min = 0 },
            new("pg_pool_size", Datastore, ConfKind.Integer, "",
                "Most pooled PostgreSQL connections this node keeps; unset uses the driver default.") { Min = 1 },
            new("pg_backlog", Datastore, ConfKind.Integer, "",
                "When set, connection requests beyond pg_pool_size queue, and fail once this many are waiting; unset never queues.") { Min = 0 },
            ..ReadReplica(),
            new("declarative_config", Datastore, ConfKind.Path, "",
                "Declarative file (YAML or JSON, Kong's kong.yml) loaded at start when database is off; unset, a node without a database serves the last configuration it accepted (kept as dbless.yml in prefix), or none. On a data plane, served only at a start without a configuration cached from the control plane, until the control plane's first one replaces it."),
            new("declarative_config_string", Datastore, ConfKind.String, "",
                "The same document given inline instead of as a file; it wins over declarative_config.") { Secret = true },
            new("admin_writes_during_upgrade", Datastore, ConfKind.Boolean, "off",
                "When off, the Admin API of a release whose migrations are pending (after 'migrations up', before 'migrations finish') refuses writes with 503, because nodes of the previous release cannot read them; on accepts them."),

            // Datastore cache
            new("db_update_frequency", Cache, ConfKind.Number, "5",
                "Seconds between checks for entity changes made by other nodes.") { Min = 0, MinExclusive = true },
            new("db_update_propagation", Cache, ConfKind.Number, "0",
                "Extra seconds to wait before applying a change, to cover replication lag of eventually consistent datastores.") { Min = 0 },
            new("db_cache_ttl", Cache, ConfKind.Number, "0",
                "Seconds a cached entity stays valid; 0 keeps it until it is invalidated.") { Min = 0 },
            new("db_cache_neg_ttl", Cache, ConfKind.Number, "",
                "Seconds a cached miss (entity not found) stays valid; unset uses db_cache_ttl, 0 never expires.")
            { Min = 0, FallbackTo = "db_cache_ttl" },
            new("db_resurrect_ttl", Cache, ConfKind.Number, "30",
                "Seconds stale cache entries keep serving when the datastore cannot be reached, before the next refresh attempt.") { Min = 0 },

            // Routing
            new("router_flavor", Routing, ConfKind.Enum, "traditional_compatible",
                "Router engine: traditional_compatible (route fields compiled to expressions), traditional, or expressions (routes may carry Kong's expression and priority fields; see docs/proxy.md).")
            { Allowed = ["traditional_compatible", "traditional", "expressions"] },

            // Admin GUI
            new("admin_gui_listen", AdminGui, ConfKind.ListenList, "0.0.0.0:8002, 0.0.0.0:8445 ssl",
                "Addresses reserved for a Kong Manager compatible admin GUI; off disables it."),
            new("admin_gui_url", AdminGui, ConfKind.List, "",
                "Comma-separated URLs where users reach the admin GUI; the Admin API accepts cross-origin requests from them.")
            { Check = CheckUrls },
            new("admin_gui_path", AdminGui, ConfKind.String, "/",
                "Path prefix under which the admin GUI is served (Kong Manager's ADMIN_GUI_PATH); admin_gui_url may end with it.")
            { Check = CheckGuiPath },
            new("admin_gui_api_url", AdminGui, ConfKind.String, "",
                "URL of the Admin API as the admin GUI's browser reaches it (Kong Manager's ADMIN_API_URL); unset means the GUI's host at admin_listen's port.")
            { Check = CheckUrls },
        ];
    }

    /// <summary>The pg_ro_* twins: unset means "same as the pg_* property"; pg_ro_host alone turns the replica on.</summary>
    private static IEnumerable<ConfProperty> ReadReplica()
    {
        yield return new("pg_ro_host", Datastore, ConfKind.String, "",
            "Host of a read-only PostgreSQL replica that serves the proxy's reads; unset means no replica. Other pg_ro_* fall back to their pg_* twin.");
        (string Name, ConfKind Kind, double? Min, double? Max, bool Secret, string[] Allowed)[] twins =
        [
            ("port", ConfKind.Integer, 1, 65535, false, []),
            ("timeout", ConfKind.Integer, 1, null, false, []),
            ("user", ConfKind.String, null, null, false, []),
            ("password", ConfKind.String, null, null, true, []),
            ("database", ConfKind.String, null, null, false, []),
            ("schema", ConfKind.String, null, null, false, []),
            ("ssl", ConfKind.Boolean, null, null, false, []),
            ("ssl_required", ConfKind.Boolean, null, null, false, []),
            ("ssl_verify", ConfKind.Boolean, null, null, false, []),
            ("ssl_version", ConfKind.Enum, null, null, false, ["tlsv1_1", "tlsv1_2", "tlsv1_3", "any"]),
            ("max_concurrent_queries", ConfKind.Integer, 0, null, false, []),
            ("semaphore_timeout", ConfKind.Integer, 0, null, false, []),
            ("keepalive_timeout", ConfKind.Integer, 0, null, false, []),
            ("pool_size", ConfKind.Integer, 1, null, false, []),
            ("backlog", ConfKind.Integer, 0, null, false, []),
        ];
        foreach (var twin in twins)
        {
            yield return new($"pg_ro_{twin.Name}", Datastore, twin.Kind, "", $"pg_{twin.Name} for the read-only replica; unset uses pg_{twin.Name}.")
            {
                Min = twin.Min,
                Max = twin.Max,
                Secret = twin.Secret,
                Allowed = twin.Allowed,
                FallbackTo = $"pg_{twin.Name}",
            };
        }
    }

    private static string? CheckPluginNames(string value)
    {
        var bad = ConfValues.SplitList(value).Where(name => !PluginName().IsMatch(name)).ToArray();
        return bad.Length == 0
            ? null
            : $"invalid plugin name {string.Join(", ", bad.Select(b => $"'{b}'"))} (expected bundled, off, or names of lower-case letters, digits, '-' and '_')";
    }

    private static string? CheckTrustedIps(string value)
    {
        var bad = ConfValues.SplitList(value).Where(entry => entry != "unix:" && !IsIpOrCidr(entry)).ToArray();
        return bad.Length == 0
            ? null
            : $"expected IP addresses or CIDR blocks, got {string.Join(", ", bad.Select(b => $"'{b}'"))}";
    }

    internal static bool IsIpOrCidr(string entry)
    {
        var slash = entry.IndexOf('/');
        var addressText = slash < 0 ? entry : entry[..slash];
        // "1.2" parses as an IPv4 address in .NET; require the dotted-quad form users mean.
        if (!IPAddress.TryParse(addressText, out var address)
            || (address.AddressFamily == AddressFamily.InterNetwork && addressText.Split('.').Length != 4))
        {
            return false;
        }
        if (slash < 0)
        {
            return true;
        }
        var maxBits = address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        return int.TryParse(entry[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var bits) && bits <= maxBits;
    }

    /// <summary>Kong's rules for admin_gui_path, every broken one listed.</summary>
    private static string? CheckGuiPath(string value)
    {
        var broken = new List<string>();
        if (!value.StartsWith('/'))
            broken.Add("must start with a slash ('/')");
        if (value.Length > 2 && value.EndsWith('/'))
            broken.Add("must not end with a slash ('/')");
        if (!GuiPathCharacters().IsMatch(value))
            broken.Add("can only contain letters, digits, hyphens ('-'), underscores ('_'), and slashes ('/')");
        if (value.Contains("//", StringComparison.Ordinal))
            broken.Add("must not contain continuous slashes ('/')");
        return broken.Count == 0 ? null : string.Join("; ", broken);
    }

    [GeneratedRegex("^[A-Za-z0-9_/-]*$")]
    private static partial Regex GuiPathCharacters();

    private static string? CheckHeaderName(string value) =>
        HeaderToken().IsMatch(value) ? null : $"expected an HTTP header name or proxy_protocol, got '{value}'";

    private static string? CheckHostPort(string value) =>
        ListenAddress.TryParse(value, out var address, out _) && address == new ListenAddress { Host = address.Host, Port = address.Port }
            ? null
            : $"expected host:port, got '{value}'";

    private static string? CheckLabels(string value)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in ConfValues.SplitList(value))
        {
            var colon = entry.IndexOf(':');
            if (colon < 0)
                return $"expected key:value pairs, got '{entry}'";
            var (key, label) = (entry[..colon], entry[(colon + 1)..]);
            if (!LabelPart().IsMatch(key))
                return $"invalid label key '{key}' in '{entry}' (1 to 63 letters, digits, '.', '-' or '_', starting and ending with a letter or digit)";
            if (!LabelPart().IsMatch(label))
                return $"invalid label value '{label}' in '{entry}' (1 to 63 letters, digits, '.', '-' or '_', starting and ending with a letter or digit)";
            if (!keys.Add(key))
                return $"label key '{key}' is given more than once";
        }
        return null;
    }

    private static string? CheckNginxTime(string value) =>
        ConfValues.TryParseNginxTime(value, out _) ? null : $"expected a time such as 10s, 500ms, 1m or 30, got '{value}'";

    private static string? CheckUrls(string value)
    {
        var bad = ConfValues.SplitList(value)
            .Where(url => !Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            .ToArray();
        return bad.Length == 0 ? null : $"expected http:// or https:// URLs, got {string.Join(", ", bad.Select(b => $"'{b}'"))}";
    }

    [GeneratedRegex(@"^(?=.{1,63}$)[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")]
    private static partial Regex LabelPart();

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*$")]
    private static partial Regex PluginName();

    // RFC 9110 token characters.
    [GeneratedRegex(@"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")]
    private static partial Regex HeaderToken();
}
