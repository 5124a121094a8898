using System.Collections;

namespace Gantry.Configuration;

/// <summary>
/// Builds a <see cref="GantryConfig"/> from four layers, each overriding the one before:
/// built-in defaults, the conf file, <c>GANTRY_*</c> environment variables, and the command-line prefix.
/// </summary>
public static class ConfLoader
{
    /// <summary>Read when no file is given explicitly, if it exists.</summary>
    public const string DefaultFilePath = "/etc/gantry/gantry.conf";

    public const string EnvironmentPrefix = "GANTRY_";

    /// <summary>Loads the configuration; see <see cref="ConfLoadResult"/> for what comes back.</summary>
    /// <param name="explicitPath">The file given on the command line; it must exist. Null reads <see cref="DefaultFilePath"/> when present.</param>
    /// <param name="environment">Environment variables, for example from <see cref="ReadProcessEnvironment"/>.</param>
    /// <param name="prefixOverride">The CLI's <c>-p/--prefix</c>, which wins over every other layer.</param>
    public static ConfLoadResult Load(string? explicitPath, IReadOnlyDictionary<string, string> environment, string? prefixOverride = null) =>
        Load(explicitPath, environment, prefixOverride, DefaultFilePath);

    /// <summary>Loads from conf text held in memory (tests, <c>config</c> commands); no file is read.</summary>
    public static ConfLoadResult LoadText(string confText, IReadOnlyDictionary<string, string>? environment = null, string? prefixOverride = null, string origin = "configuration text")
    {
        var builder = new Builder();
        builder.ApplyFileText(confText, origin);
        return builder.Finish(environment ?? new Dictionary<string, string>(), prefixOverride, filePath: null);
    }

    /// <summary>A snapshot of this process's environment variables.</summary>
    public static IReadOnlyDictionary<string, string> ReadProcessEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            result[(string)entry.Key] = entry.Value as string ?? "";
        }
        return result;
    }

    /// <summary>The environment variable that overrides a property: <c>pg_port</c> → <c>GANTRY_PG_PORT</c>.</summary>
    public static string EnvironmentVariableFor(string propertyName) => EnvironmentPrefix + propertyName.ToUpperInvariant();

    // The default file location is a parameter so tests do not depend on the machine's /etc.
    internal static ConfLoadResult Load(string? explicitPath, IReadOnlyDictionary<string, string> environment, string? prefixOverride, string defaultFilePath)
    {
        var builder = new Builder();
        string? filePath = null;
        if (explicitPath is not null)
        {
            if (File.Exists(explicitPath))
            {
                filePath = Path.GetFullPath(explicitPath);
            }
            else
            {
                var what = Directory.Exists(explicitPath) ? "is a directory, not a file" : "does not exist";
                builder.Errors.Add(new ConfError(null, $"configuration file '{explicitPath}' {what}"));
            }
        }
        else if (File.Exists(defaultFilePath))
        {
            filePath = Path.GetFullPath(defaultFilePath);
        }

        if (filePath is not null)
        {
            try
            {
                builder.ApplyFileText(File.ReadAllText(filePath), filePath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                builder.Errors.Add(new ConfError(null, $"cannot read configuration file '{filePath}': {e.Message}"));
            }
        }
        return builder.Finish(environment, prefixOverride, filePath);
    }

    private sealed class Builder
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
        private readonly Dictionary<string, ConfSource> _sources = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string?> _origins = new(StringComparer.Ordinal);

        public Builder()
        {
            foreach (var property in ConfProperties.All)
            {
                Set(property.Name, property.Default, ConfSource.Default, origin: null);
            }
        }

        public List<ConfError> Errors { get; } = [];
        public List<ConfError> Warnings { get; } = [];

        public void ApplyFileText(string text, string origin)
        {
            var firstLine = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var entry in ConfFileParser.Parse(text, origin, Errors))
            {
                var where = $"{origin} line {entry.Line}";
                if (ConfProperties.Find(entry.Name) is null)
                {
                    Errors.Add(new ConfError(entry.Name, $"unknown property{Suggest(entry.Name)}", where));
                    continue;
                }
                if (firstLine.TryGetValue(entry.Name, out var earlier))
                {
                    Warnings.Add(new ConfError(entry.Name, $"set more than once (first on line {earlier}); the last value wins", where));
                }
                else
                {
                    firstLine[entry.Name] = entry.Line;
                }
                Set(entry.Name, entry.Value, ConfSource.File, where);
            }
        }

        public ConfLoadResult Finish(IReadOnlyDictionary<string, string> environment, string? prefixOverride, string? filePath)
        {
            foreach (var property in ConfProperties.All)
            {
                var variable = EnvironmentVariableFor(property.Name);
                if (environment.TryGetValue(variable, out var value))
                {
                    Set(property.Name, value.Trim(), ConfSource.Environment, $"environment variable {variable}");
                }
            }
            if (prefixOverride is not null)
            {
                Set("prefix", prefixOverride.Trim(), ConfSource.CommandLine, "command-line option --prefix");
            }

            var invalid = ValidateEachProperty();
            new ConfRules(this, invalid).Check();

            var config = Errors.Count == 0 ? new GantryConfig(_values, _sources, filePath) : null;
            return new ConfLoadResult(config, filePath, Errors, Warnings);
        }

        /// <summary>The effective text, following fallbacks, as <see cref="GantryConfig.Get"/> does.</summary>
        public string Value(string name) =>
            _values[name] is { Length: 0 } && ConfProperties.Get(name).FallbackTo is { } fallback ? Value(fallback) : _values[name];

        /// <summary>The property's own text, without following fallbacks.</summary>
        public string OwnValue(string name) => _values[name];

        public void Error(string property, string message) => Errors.Add(new ConfError(property, message, _origins[property]));

        public void Warning(string property, string message) => Warnings.Add(new ConfError(property, message, _origins[property]));

        private HashSet<string> ValidateEachProperty()
        {
            var invalid = new HashSet<string>(StringComparer.Ordinal);
            var problems = new List<string>();
            foreach (var property in ConfProperties.All)
            {
                problems.Clear();
                property.Validate(_values[property.Name], problems);
                foreach (var problem in problems)
                {
                    Error(property.Name, problem);
                    invalid.Add(property.Name);
                }
            }
            return invalid;
        }

        private void Set(string name, string value, ConfSource source, string? origin)
        {
            _values[name] = value;
            _sources[name] = source;
            _origins[name] = origin;
        }

        private static string Suggest(string name)
        {
            var best = ConfProperties.All
                .Select(p => (p.Name, Distance: EditDistance(name.ToLowerInvariant(), p.Name)))
                .MinBy(c => c.Distance);
            return best.Distance <= 2 ? $" (did you mean '{best.Name}'?)" : "";
        }

        private static int EditDistance(string a, string b)
        {
            var previous = new int[b.Length + 1];
            var current = new int[b.Length + 1];
            for (var j = 0; j <= b.Length; j++) previous[j] = j;
            for (var i = 1; i <= a.Length; i++)
            {
                current[0] = i;
                for (var j = 1; j <= b.Length; j++)
                {
                    var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                    current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
                }
                (previous, current) = (current, previous);
            }
            return previous[b.Length];
        }
    }

    /// <summary>
    /// Rules that involve more than one property. A rule is skipped when one of its properties
    /// already failed its own validation, so one mistake is reported once.
    /// </summary>
    private sealed class ConfRules(Builder conf, HashSet<string> invalid)
    {
        public void Check()
        {
            CertificatePair("ssl_cert", "ssl_cert_key");
            CertificatePair("admin_ssl_cert", "admin_ssl_cert_key");
            CertificatePair("status_ssl_cert", "status_ssl_cert_key");
            CertificatePair("cluster_cert", "cluster_cert_key");
            HybridRole();
            ProxyProtocolSource();
            DistinctListenPorts();
            ReplicaWithoutHost();
        }

        private bool Valid(params string[] names) => !names.Any(invalid.Contains);

        private void CertificatePair(string cert, string key)
        {
            if (!Valid(cert, key))
            {
                return;
            }
            var certs = ConfValues.SplitList(conf.Value(cert)).Count;
            var keys = ConfValues.SplitList(conf.Value(key)).Count;
            if (certs > 0 && keys == 0)
            {
                conf.Error(cert, $"is set but {key} is not; give the private key of each certificate");
            }
            else if (keys > 0 && certs == 0)
            {
                conf.Error(key, $"is set but {cert} is not; give the certificate of each key");
            }
            else if (certs != keys)
            {
                conf.Error(key, $"lists {keys} key(s) but {cert} lists {certs} certificate(s); give one key per certificate, in the same order");
            }
        }

        /// <summary>
        /// What each hybrid role needs, as Kong checks it, plus what Kong only finds at run time (a key that
        /// is not the certificate's, a CA file that does not parse): a node that starts has a usable link.
        /// </summary>
        private void HybridRole()
        {
            if (!Valid("role", "database", "cluster_mtls"))
            {
                return;
            }
            var role = conf.Value("role");
            if (role == "traditional")
            {
                return;
            }
            var database = conf.Value("database");
            var controlPlane = role == "control_plane";
            if (controlPlane)
            {
                if (database == "off")
                {
                    conf.Error("database", "a control plane stores the configuration it pushes, so it needs postgres or sqlite, got 'off'");
                }
                if (Valid("cluster_listen") && ListenAddress.ParseList(conf.Value("cluster_listen")).Count == 0)
                {
                    conf.Error("cluster_listen", "must not be off on a control plane: data planes connect to it there");
                }
                if (Valid("admin_listen") && ListenAddress.ParseList(conf.Value("admin_listen")).Count == 0)
                {
                    conf.Error("admin_listen", "must not be off on a control plane: its Admin API is where the configuration is written");
                }
            }
            else
            {
                if (database != "off")
                {
                    conf.Error("database", $"a data plane receives its configuration from the control plane and must run with database = off, got '{database}'");
                }
                if (Valid("proxy_listen") && ListenAddress.ParseList(conf.Value("proxy_listen")).Count == 0)
                {
                    conf.Error("proxy_listen", "must not be off on a data plane: proxying is all a data plane does");
                }
                // declarative_config stays allowed, as in Kong: a data plane that starts without a cached
                // configuration serves it until the control plane's first one replaces it (docs/hybrid.md).
            }
            ClusterCertificate(role);
            ClusterCa(role);
        }

        /// <summary>Both halves are given, readable, parse, and belong together.</summary>
        private void ClusterCertificate(string role)
        {
            // When only one of the pair is set, CertificatePair has already said which one is missing.
            if (!Valid("cluster_cert", "cluster_cert_key"))
            {
                return;
            }
            if (conf.Value("cluster_cert").Length == 0 && conf.Value("cluster_cert_key").Length == 0)
            {
                conf.Error("cluster_cert", $"must be set when role is {role} (make a pair with 'gantry hybrid gen_cert')");
                conf.Error("cluster_cert_key", $"must be set when role is {role} (make a pair with 'gantry hybrid gen_cert')");
                return;
            }
            if (conf.Value("cluster_cert").Length == 0 || conf.Value("cluster_cert_key").Length == 0)
            {
                return;
            }
            using var certificate = ReadCertificate("cluster_cert");
            using var key = ReadKey("cluster_cert_key");
            if (certificate is not null && key is not null && !Entities.Definitions.PemMaterial.Matches(certificate, key))
            {
                conf.Error("cluster_cert_key", "is not the private key of cluster_cert; give the key made with that certificate");
            }
        }

        private void ClusterCa(string role)
        {
            if (!Valid("cluster_ca_cert"))
            {
                return;
            }
            var mode = conf.Value("cluster_mtls");
            if (mode != "shared" && conf.Value("cluster_ca_cert").Length == 0)
            {
                var side = role == "control_plane" ? "the data planes'" : "the control plane's";
                conf.Error("cluster_ca_cert", $"must be set when cluster_mtls is {mode}: it is the CA that {side} certificates are checked against");
                return;
            }
            if (conf.Value("cluster_ca_cert").Length > 0)
            {
                using var ca = ReadCertificate("cluster_ca_cert");
            }
        }

        private System.Security.Cryptography.X509Certificates.X509Certificate2? ReadCertificate(string property)
        {
            if (!PemSource.TryRead(conf.Value(property), out var pem, out var error))
            {
                conf.Error(property, error);
                return null;
            }
            var certificate = Entities.Definitions.PemMaterial.Certificate(pem, out var invalid);
            if (certificate is null)
            {
                conf.Error(property, invalid + FileOrigin(property));
            }
            return certificate;
        }

        private System.Security.Cryptography.AsymmetricAlgorithm? ReadKey(string property)
        {
            if (!PemSource.TryRead(conf.Value(property), out var pem, out var error, secret: true))
            {
                conf.Error(property, error);
                return null;
            }
            if (!pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            {
                conf.Error(property, "holds no PEM private key (-----BEGIN PRIVATE KEY----- or its RSA or EC form)" + FileOrigin(property));
                return null;
            }
            var key = Entities.Definitions.PemMaterial.Key(pem, out var invalid);
            if (key is null)
            {
                conf.Error(property, invalid + FileOrigin(property));
            }
            return key;
        }

        private string FileOrigin(string property) => File.Exists(conf.Value(property)) ? $" in '{conf.Value(property)}'" : "";

        private void ProxyProtocolSource()
        {
            if (!Valid("real_ip_header", "proxy_listen") || conf.Value("real_ip_header") != "proxy_protocol")
            {
                return;
            }
            var listeners = ListenAddress.ParseList(conf.Value("proxy_listen"));
            if (!listeners.Any(l => l.ProxyProtocol))
            {
                conf.Error("real_ip_header", "is proxy_protocol but no proxy_listen entry has the proxy_protocol option");
            }
        }

        private void DistinctListenPorts()
        {
            var names = new List<string> { "proxy_listen", "admin_listen", "status_listen" };
            if (Valid("role") && conf.Value("role") == "control_plane")
            {
                names.Add("cluster_listen");
            }
            var seen = new List<(string Property, ListenAddress Address)>();
            foreach (var name in names.Where(n => Valid(n)))
            {
                foreach (var address in ListenAddress.ParseList(conf.Value(name)))
                {
                    var clash = seen.FirstOrDefault(s => Overlap(s.Address, address));
                    if (clash.Property is not null)
                    {
                        conf.Error(name, $"'{address.Host}:{address.Port}' uses the same port as '{clash.Address.Host}:{clash.Address.Port}' in {clash.Property}");
                    }
                    seen.Add((name, address));
                }
            }
        }

        // A wildcard socket collides with addresses of its own family; an IPv6 wildcard is dual-stack and
        // collides with both. A host name may resolve to anything, so it is treated as colliding.
        private static bool Overlap(ListenAddress a, ListenAddress b)
        {
            if (a.Port != b.Port)
            {
                return false;
            }
            if (a.Host == b.Host)
            {
                return true;
            }
            if (!a.IsAnyAddress && !b.IsAnyAddress)
            {
                return false;
            }
            return a.Address is not { } ipA || b.Address is not { } ipB
                || ipA.AddressFamily == ipB.AddressFamily
                || ipA.Equals(System.Net.IPAddress.IPv6Any) || ipB.Equals(System.Net.IPAddress.IPv6Any);
        }

        private void ReplicaWithoutHost()
        {
            if (conf.Value("pg_ro_host").Length > 0)
            {
                return;
            }
            foreach (var property in ConfProperties.All.Where(p => p.FallbackTo?.StartsWith("pg_", StringComparison.Ordinal) == true))
            {
                if (conf.OwnValue(property.Name).Length > 0)
                {
                    conf.Warning(property.Name, "has no effect while pg_ro_host is unset");
                }
            }
        }
    }
}
