using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Gantry.Configuration;

/// <summary>
/// The validated, immutable configuration of a node: the effective value of every property in
/// <see cref="ConfProperties.All"/>, where each came from, and typed views of the ones code uses.
/// Built only by <see cref="ConfLoader"/>, so every value here has passed validation.
/// </summary>
public sealed class GantryConfig
{
    public const string Redacted = "******";

    private readonly Dictionary<string, string> _values;
    private readonly Dictionary<string, ConfSource> _sources;

    internal GantryConfig(Dictionary<string, string> values, Dictionary<string, ConfSource> sources, string? filePath)
    {
        // Copies, so that nothing the loader still holds can change a finished configuration.
        _values = new Dictionary<string, string>(values, StringComparer.Ordinal);
        _sources = new Dictionary<string, ConfSource>(sources, StringComparer.Ordinal);
        FilePath = filePath;

        Prefix = System.IO.Path.GetFullPath(Get("prefix"));
        LogLevel = Get("log_level");
        Database = ParseEnum<DatabaseKind>("database");
        Role = ParseEnum<NodeRole>("role");
        RouterFlavor = ParseEnum<RouterFlavor>("router_flavor");
        SqlitePath = GetPath("sqlite_path")!;
        SqliteBusyTimeout = TimeSpan.FromMilliseconds(GetInt("sqlite_busy_timeout"));
        Postgres = BuildPostgres("pg_");
        PostgresReadOnly = IsSet("pg_ro_host") ? BuildPostgres("pg_ro_") : null;
        ProxyListen = ListenAddress.ParseList(Get("proxy_listen"));
        AdminListen = ListenAddress.ParseList(Get("admin_listen"));
        StatusListen = ListenAddress.ParseList(Get("status_listen"));
        ClusterListen = ListenAddress.ParseList(Get("cluster_listen"));
        AdminGuiListen = ListenAddress.ParseList(Get("admin_gui_listen"));

        var plugins = GetList("plugins");
        LoadBundledPlugins = plugins.Contains("bundled");
        Plugins = plugins.Where(p => p is not ("bundled" or "off")).ToArray();
        PluginPaths = GetList("plugin_paths").Select(p => System.IO.Path.GetFullPath(p, Prefix)).ToArray();

        DbUpdateFrequency = Seconds("db_update_frequency");
        DbUpdatePropagation = Seconds("db_update_propagation");
        DbCacheTtl = Seconds("db_cache_ttl");
        DbCacheNegTtl = Seconds("db_cache_neg_ttl");
        DbResurrectTtl = Seconds("db_resurrect_ttl");
        DeclarativeConfig = GetPath("declarative_config");
        DeclarativeConfigString = IsSet("declarative_config_string") ? Get("declarative_config_string") : null;
        ClusterControlPlane = Get("cluster_control_plane");
        ClusterServerName = Get("cluster_server_name");
        ClusterDataPlanePurgeDelay = Seconds("cluster_data_plane_purge_delay");
        ClusterMaxPayload = GetInt("cluster_max_payload");
        ClusterDataPlaneLabels = GetList("cluster_dp_labels");
        AdminWritesDuringUpgrade = GetBool("admin_writes_during_upgrade");
        ConfValues.TryParseNginxTime(Get("nginx_main_worker_shutdown_timeout"), out var shutdownTimeout);
        WorkerShutdownTimeout = shutdownTimeout;
    }

    /// <summary>The conf file that was read, as a full path, or null when none was.</summary>
    public string? FilePath { get; }

    /// <summary>The working directory, as a full path.</summary>
    public string Prefix { get; }

    /// <summary>One of Kong's levels: debug, info, notice, warn, error, crit, alert, emerg.</summary>
    public string LogLevel { get; }

    /// <summary><see cref="LogLevel"/> mapped onto .NET logging; notice has no equivalent and maps to Information.</summary>
    public LogLevel MinimumLogLevel => LogLevel switch
    {
        "debug" => Microsoft.Extensions.Logging.LogLevel.Debug,
        "info" or "notice" => Microsoft.Extensions.Logging.LogLevel.Information,
        "warn" => Microsoft.Extensions.Logging.LogLevel.Warning,
        "error" => Microsoft.Extensions.Logging.LogLevel.Error,
        _ => Microsoft.Extensions.Logging.LogLevel.Critical,
    };

    public string? ProxyAccessLog => GetPath("proxy_access_log");
    public string? ProxyErrorLog => GetPath("proxy_error_log");
    public string? AdminAccessLog => GetPath("admin_access_log");
    public string? AdminErrorLog => GetPath("admin_error_log");
    public string? StatusAccessLog => GetPath("status_access_log");
    public string? StatusErrorLog => GetPath("status_error_log");

    public DatabaseKind Database { get; }
    public NodeRole Role { get; }
    public RouterFlavor RouterFlavor { get; }

    /// <summary>The SQLite file as a full path (relative values are under <see cref="Prefix"/>), or <c>:memory:</c>.</summary>
    public string SqlitePath { get; }

    public TimeSpan SqliteBusyTimeout { get; }

    /// <summary>The primary PostgreSQL server.</summary>
    public PostgresSettings Postgres { get; }

    /// <summary>The read-only replica, or null when <c>pg_ro_host</c> is unset.</summary>
    public PostgresSettings? PostgresReadOnly { get; }

    /// <summary>Empty when the property is <c>off</c>.</summary>
    public IReadOnlyList<ListenAddress> ProxyListen { get; }
    public IReadOnlyList<ListenAddress> AdminListen { get; }
    public IReadOnlyList<ListenAddress> StatusListen { get; }
    public IReadOnlyList<ListenAddress> ClusterListen { get; }
    public IReadOnlyList<ListenAddress> AdminGuiListen { get; }

    /// <summary>True when <c>plugins</c> includes the <c>bundled</c> keyword.</summary>
    public bool LoadBundledPlugins { get; }

    /// <summary>Plugin names listed besides <c>bundled</c>; empty for <c>off</c>.</summary>
    public IReadOnlyList<string> Plugins { get; }

    /// <summary>The folders of <c>plugin_paths</c> as full paths (relative ones under <see cref="Prefix"/>), in search order.</summary>
    public IReadOnlyList<string> PluginPaths { get; }

    public TimeSpan DbUpdateFrequency { get; }
    public TimeSpan DbUpdatePropagation { get; }

    /// <summary><see cref="TimeSpan.Zero"/> means cached entities never expire.</summary>
    public TimeSpan DbCacheTtl { get; }

    /// <summary>Falls back to <see cref="DbCacheTtl"/> when <c>db_cache_neg_ttl</c> is unset.</summary>
    public TimeSpan DbCacheNegTtl { get; }

    public TimeSpan DbResurrectTtl { get; }

    /// <summary>Full path of the declarative file, or null.</summary>
    public string? DeclarativeConfig { get; }

    public string? DeclarativeConfigString { get; }

    /// <summary>host:port of the control plane (used by data planes).</summary>
    public string ClusterControlPlane { get; }

    /// <summary>The name a data plane checks in the control plane's certificate in pki modes; empty: the host of <see cref="ClusterControlPlane"/>.</summary>
    public string ClusterServerName { get; }

    /// <summary>How long a control plane lists a data plane that stopped reporting.</summary>
    public TimeSpan ClusterDataPlanePurgeDelay { get; }

    /// <summary>The largest message, as sent, between control and data planes.</summary>
    public int ClusterMaxPayload { get; }

    /// <summary>key:value labels a data plane reports.</summary>
    public IReadOnlyList<string> ClusterDataPlaneLabels { get; }

    /// <summary>When true, the Admin API accepts writes while this release has migrations pending.</summary>
    public bool AdminWritesDuringUpgrade { get; }

    /// <summary>How long a draining node waits for requests in flight (<c>nginx_main_worker_shutdown_timeout</c>).</summary>
    public TimeSpan WorkerShutdownTimeout { get; }

    /// <summary>
    /// The effective text of a property; an unset property with a fallback (<c>pg_ro_port</c> →
    /// <c>pg_port</c>) gives the fallback's value. Empty means unset.
    /// </summary>
    public string Get(string name)
    {
        var property = ConfProperties.Get(name);
        var value = _values[name];
        return value.Length == 0 && property.FallbackTo is { } fallback ? Get(fallback) : value;
    }

    public bool IsSet(string name) => Get(name).Length > 0;

    /// <summary>Which layer supplied the property's own value (a fallback does not change it).</summary>
    public ConfSource SourceOf(string name)
    {
        ConfProperties.Get(name);
        return _sources[name];
    }

    public bool GetBool(string name)
    {
        var value = Required(name, ConfKind.Boolean);
        ConfValues.TryParseBoolean(value, out var result);
        return result;
    }

    public int GetInt(string name) =>
        int.Parse(Required(name, ConfKind.Integer), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    public double GetDouble(string name)
    {
        var property = ConfProperties.Get(name);
        var value = property.Kind == ConfKind.Integer ? Required(name, ConfKind.Integer) : Required(name, ConfKind.Number);
        ConfValues.TryParseNumber(value, out var result);
        return result;
    }

    /// <summary>The comma-separated entries, trimmed; empty when unset.</summary>
    public IReadOnlyList<string> GetList(string name)
    {
        ConfProperties.Get(name);
        return ConfValues.SplitList(Get(name));
    }

    /// <summary>
    /// A path property as a full path, relative values resolved under <see cref="Prefix"/>;
    /// null when unset or <c>off</c>.
    /// </summary>
    public string? GetPath(string name)
    {
        var property = ConfProperties.Get(name);
        if (property.Kind != ConfKind.Path)
        {
            throw new InvalidOperationException($"{name} is a {property.Kind} property, not a path");
        }
        var value = Get(name);
        if (value.Length == 0 || (property.AllowsOff && value == "off"))
        {
            return null;
        }
        // SQLite's in-memory database is a name, not a file.
        if (value == ":memory:")
        {
            return value;
        }
        // Prefix itself is resolved against the working directory, not against itself.
        return name == "prefix" ? System.IO.Path.GetFullPath(value) : System.IO.Path.GetFullPath(value, Prefix);
    }

    /// <summary>Every property and its effective value, in registry order, with secrets replaced by <see cref="Redacted"/>.</summary>
    public IReadOnlyDictionary<string, string> ToRedactedDictionary()
    {
        var result = new Dictionary<string, string>(ConfProperties.All.Count, StringComparer.Ordinal);
        foreach (var property in ConfProperties.All)
        {
            var value = Get(property.Name);
            result[property.Name] = property.Secret && value.Length > 0 ? Redacted : value;
        }
        return result;
    }

    private string Required(string name, ConfKind kind)
    {
        var property = ConfProperties.Get(name);
        if (property.Kind != kind)
        {
            throw new InvalidOperationException($"{name} is a {property.Kind} property, not {kind}");
        }
        var value = Get(name);
        return value.Length > 0 ? value : throw new InvalidOperationException($"{name} is not set");
    }

    private int? OptionalInt(string name) => IsSet(name) ? GetInt(name) : null;

    private TimeSpan Seconds(string name) => TimeSpan.FromSeconds(GetDouble(name));

    private T ParseEnum<T>(string name) where T : struct, Enum =>
        Enum.Parse<T>(Get(name).Replace("_", ""), ignoreCase: true);

    private PostgresSettings BuildPostgres(string p) => new()
    {
        Host = Get(p + "host"),
        Port = GetInt(p + "port"),
        Timeout = TimeSpan.FromMilliseconds(GetInt(p + "timeout")),
        User = Get(p + "user"),
        Password = IsSet(p + "password") ? Get(p + "password") : null,
        Database = Get(p + "database"),
        Schema = IsSet(p + "schema") ? Get(p + "schema") : null,
        Ssl = GetBool(p + "ssl"),
        SslRequired = GetBool(p + "ssl_required"),
        SslVerify = GetBool(p + "ssl_verify"),
        SslVersion = Get(p + "ssl_version"),
        MaxConcurrentQueries = GetInt(p + "max_concurrent_queries"),
        SemaphoreTimeout = TimeSpan.FromMilliseconds(GetInt(p + "semaphore_timeout")),
        KeepaliveTimeout = OptionalInt(p + "keepalive_timeout") is { } keepalive ? TimeSpan.FromMilliseconds(keepalive) : null,
        PoolSize = OptionalInt(p + "pool_size"),
        Backlog = OptionalInt(p + "backlog"),
    };
}
