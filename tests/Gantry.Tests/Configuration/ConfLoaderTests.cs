using Gantry.Configuration;

namespace Gantry.Tests.Configuration;

public sealed class ConfLoaderTests
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    private static GantryConfig LoadValid(string text, Dictionary<string, string>? environment = null, string? prefix = null)
    {
        var result = ConfLoader.LoadText(text, environment, prefix);
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return result.Config!;
    }

    private static List<string> ErrorsOf(string text, Dictionary<string, string>? environment = null) =>
        ConfLoader.LoadText(text, environment).Errors.Select(e => e.ToString()).ToList();

    [Fact]
    public void Defaults_apply_when_nothing_is_configured()
    {
        var config = LoadValid("");

        Assert.Equal("/usr/local/gantry", config.Prefix);
        Assert.Equal(DatabaseKind.Sqlite, config.Database);
        Assert.Equal("/usr/local/gantry/gantry.db", config.SqlitePath);
        Assert.Equal(TimeSpan.FromSeconds(5), config.SqliteBusyTimeout);
        Assert.Equal("notice", config.LogLevel);
        Assert.Equal(NodeRole.Traditional, config.Role);
        Assert.Equal(RouterFlavor.TraditionalCompatible, config.RouterFlavor);
        Assert.Equal(TimeSpan.FromSeconds(5), config.DbUpdateFrequency);
        Assert.True(config.LoadBundledPlugins);
        Assert.Empty(config.Plugins);
        Assert.Equal(["0.0.0.0:8000", "0.0.0.0:8443 ssl http2"], config.ProxyListen.Select(l => l.ToString()));
        Assert.Equal(["127.0.0.1:8001", "127.0.0.1:8444 ssl http2"], config.AdminListen.Select(l => l.ToString()));
        Assert.Equal(["127.0.0.1:8007"], config.StatusListen.Select(l => l.ToString()));
        Assert.Equal("127.0.0.1", config.Postgres.Host);
        Assert.Equal(5432, config.Postgres.Port);
        Assert.Equal("gantry", config.Postgres.User);
        Assert.Equal("gantry", config.Postgres.Database);
        Assert.Null(config.Postgres.Password);
        Assert.Null(config.Postgres.Schema);
        Assert.Null(config.PostgresReadOnly);
        Assert.Null(config.StatusAccessLog);
        Assert.Equal("/usr/local/gantry/logs/access.log", config.ProxyAccessLog);
        Assert.Equal(ConfSource.Default, config.SourceOf("pg_port"));
        Assert.Null(config.FilePath);
    }

    [Fact]
    public void Each_layer_overrides_the_one_below()
    {
        using var file = new TempConfFile("""
            prefix = /from/file
            pg_host = file-host
            pg_port = 5001
            log_level = debug
            """);
        var environment = new Dictionary<string, string>
        {
            ["GANTRY_PREFIX"] = "/from/env",
            ["GANTRY_PG_PORT"] = "5002",
            ["GANTRY_LOG_LEVEL"] = "warn",
        };

        var result = ConfLoader.Load(file.Path, environment, prefixOverride: "/from/cli");
        Assert.Empty(result.Errors);
        var config = result.Config!;

        Assert.Equal("/from/cli", config.Prefix);
        Assert.Equal(ConfSource.CommandLine, config.SourceOf("prefix"));
        Assert.Equal(5002, config.Postgres.Port);
        Assert.Equal(ConfSource.Environment, config.SourceOf("pg_port"));
        Assert.Equal("file-host", config.Postgres.Host);
        Assert.Equal(ConfSource.File, config.SourceOf("pg_host"));
        Assert.Equal("gantry", config.Postgres.User);
        Assert.Equal(ConfSource.Default, config.SourceOf("pg_user"));
        Assert.Equal("warn", config.LogLevel);
        Assert.Equal(file.Path, config.FilePath);
        Assert.Equal(file.Path, result.FilePath);
    }

    [Fact]
    public void Environment_overrides_default_when_there_is_no_file()
    {
        using var dir = new TempConfFile("");
        var result = ConfLoader.Load(null, new Dictionary<string, string> { ["GANTRY_DATABASE"] = "postgres" }, null, dir.Missing);

        Assert.Equal(DatabaseKind.Postgres, result.Config!.Database);
        Assert.Equal(ConfSource.Environment, result.Config.SourceOf("database"));
        Assert.Null(result.FilePath);
    }

    [Fact]
    public void Default_file_is_read_when_no_explicit_path_is_given()
    {
        using var file = new TempConfFile("pg_user = from_default_file");

        var result = ConfLoader.Load(null, NoEnvironment, null, file.Path);

        Assert.Equal("from_default_file", result.Config!.Postgres.User);
        Assert.Equal(file.Path, result.FilePath);
    }

    [Fact]
    public void Missing_explicit_file_is_an_error_that_names_it()
    {
        using var dir = new TempConfFile("");

        var result = ConfLoader.Load(dir.Missing, NoEnvironment);

        Assert.Null(result.Config);
        var error = Assert.Single(result.Errors);
        Assert.Contains(dir.Missing, error.ToString());
        Assert.Contains("does not exist", error.ToString());
    }

    [Fact]
    public void Directory_given_as_file_is_an_error()
    {
        using var dir = new TempConfFile("");

        var result = ConfLoader.Load(dir.Directory, NoEnvironment);

        Assert.Contains("is a directory", Assert.Single(result.Errors).Message);
    }

    [Fact]
    public void Errors_in_file_carry_path_and_line()
    {
        using var file = new TempConfFile("# header\n\npg_port = abc\n");

        var result = ConfLoader.Load(file.Path, NoEnvironment);

        var error = Assert.Single(result.Errors);
        Assert.Equal("pg_port", error.Property);
        Assert.Equal($"pg_port: expected an integer between 1 and 65535, got 'abc' ({file.Path} line 3)", error.ToString());
    }

    [Fact]
    public void Comments_blank_lines_and_escaped_hashes()
    {
        var config = LoadValid("""
            # full-line comment

               pg_password = se\#cret   # trailing comment
            pg_user=alice#no space before the comment
            pg_database =   spaced   
            """);

        Assert.Equal("se#cret", config.Postgres.Password);
        Assert.Equal("alice", config.Postgres.User);
        Assert.Equal("spaced", config.Postgres.Database);
    }

    [Fact]
    public void Hash_in_environment_value_is_literal()
    {
        var config = LoadValid("", new Dictionary<string, string> { ["GANTRY_PG_PASSWORD"] = "a#b" });

        Assert.Equal("a#b", config.Postgres.Password);
    }

    [Fact]
    public void Booleans_accept_on_off_true_false()
    {
        Assert.True(LoadValid("pg_ssl = on").Postgres.Ssl);
        Assert.True(LoadValid("pg_ssl = true").Postgres.Ssl);
        Assert.False(LoadValid("pg_ssl = off").Postgres.Ssl);
        Assert.False(LoadValid("pg_ssl = false").Postgres.Ssl);
    }

    [Fact]
    public void Unknown_property_in_file_is_an_error_with_a_suggestion()
    {
        var errors = ErrorsOf("pg_prot = 5432\nnginx_worker_processes = auto");

        Assert.Equal(2, errors.Count);
        Assert.Equal("pg_prot: unknown property (did you mean 'pg_port'?) (configuration text line 1)", errors[0]);
        Assert.StartsWith("nginx_worker_processes: unknown property (configuration text line 2)", errors[1]);
    }

    [Fact]
    public void Unknown_gantry_environment_variables_are_ignored()
    {
        var config = LoadValid("", new Dictionary<string, string> { ["GANTRY_NOT_A_PROPERTY"] = "x", ["GANTRY_TEST_MODE"] = "1" });

        Assert.Equal(DatabaseKind.Sqlite, config.Database);
    }

    [Fact]
    public void Line_without_equals_sign_is_an_error()
    {
        var errors = ErrorsOf("pg_host 127.0.0.1");

        Assert.Equal(["expected 'name = value', got 'pg_host 127.0.0.1' (configuration text line 1)"], errors);
    }

    [Fact]
    public void Property_set_twice_warns_and_keeps_the_last_value()
    {
        var result = ConfLoader.LoadText("pg_host = a\npg_host = b");

        Assert.Equal("b", result.Config!.Postgres.Host);
        var warning = Assert.Single(result.Warnings);
        Assert.Equal("pg_host", warning.Property);
        Assert.Contains("line 1", warning.Message);
    }

    [Theory]
    [InlineData("pg_port = abc", "pg_port: expected an integer between 1 and 65535, got 'abc'")]
    [InlineData("pg_port = 0", "pg_port: expected an integer between 1 and 65535, got '0'")]
    [InlineData("pg_port = 65536", "pg_port: expected an integer between 1 and 65535, got '65536'")]
    [InlineData("pg_port = 54.32", "pg_port: expected an integer between 1 and 65535, got '54.32'")]
    [InlineData("pg_timeout = 99999999999", "pg_timeout: expected an integer >= 1, got '99999999999'")]
    [InlineData("pg_ssl = yes", "pg_ssl: expected on, off, true or false, got 'yes'")]
    [InlineData("database = mysql", "database: expected one of postgres, sqlite, off, got 'mysql'")]
    [InlineData("log_level = verbose", "log_level: expected one of debug, info, notice, warn, error, crit, alert, emerg, got 'verbose'")]
    [InlineData("db_update_frequency = 0", "db_update_frequency: expected a number > 0, got '0'")]
    [InlineData("db_update_frequency = fast", "db_update_frequency: expected a number > 0, got 'fast'")]
    [InlineData("db_cache_ttl = -1", "db_cache_ttl: expected a number >= 0, got '-1'")]
    [InlineData("db_cache_ttl = NaN", "db_cache_ttl: expected a number >= 0, got 'NaN'")]
    [InlineData("pg_ro_port = 70000", "pg_ro_port: expected an integer between 1 and 65535, got '70000'")]
    [InlineData("pg_pool_size = 0", "pg_pool_size: expected an integer >= 1, got '0'")]
    [InlineData("pg_port =", "pg_port: must not be empty (remove the setting to use the default '5432')")]
    [InlineData("admin_listen = 127.0.0.1:99999", "admin_listen: invalid listen address '127.0.0.1:99999': port must be between 1 and 65535")]
    [InlineData("proxy_listen = off, 0.0.0.0:8000", "proxy_listen: 'off' must be the only value, got 'off, 0.0.0.0:8000'")]
    [InlineData("plugins = bundled, Bad Plugin", "plugins: invalid plugin name 'Bad Plugin'")]
    [InlineData("plugins = off, cors", "plugins: 'off' must be the only value, got 'off, cors'")]
    [InlineData("headers = server_tokens, X-Powered-By", "headers: unknown value 'X-Powered-By'")]
    [InlineData("trusted_ips = 10.0.0.0/33, 1.2", "trusted_ips: expected IP addresses or CIDR blocks, got '10.0.0.0/33', '1.2'")]
    [InlineData("real_ip_header = X Real IP", "real_ip_header: expected an HTTP header name or proxy_protocol, got 'X Real IP'")]
    [InlineData("cluster_control_plane = cp.example:8005 ssl", "cluster_control_plane: expected host:port, got 'cp.example:8005 ssl'")]
    [InlineData("admin_gui_url = ftp://gui.example", "admin_gui_url: expected http:// or https:// URLs, got 'ftp://gui.example'")]
    [InlineData("admin_gui_path = manager", "admin_gui_path: must start with a slash ('/')")]
    [InlineData("admin_gui_path = /manager/", "admin_gui_path: must not end with a slash ('/')")]
    [InlineData("admin_gui_path = /man.ager", "admin_gui_path: can only contain letters, digits, hyphens ('-'), underscores ('_'), and slashes ('/')")]
    [InlineData("admin_gui_path = /a//b", "admin_gui_path: must not contain continuous slashes ('/')")]
    [InlineData("admin_gui_api_url = localhost:8001", "admin_gui_api_url: expected http:// or https:// URLs, got 'localhost:8001'")]
    [InlineData("router_flavor = fancy", "router_flavor: expected one of traditional_compatible, traditional, expressions, got 'fancy'")]
    [InlineData("error_default_type = text/csv", "error_default_type: expected one of text/plain, text/html, application/json, application/xml, got 'text/csv'")]
    [InlineData("upstream_keepalive_pool_size = -5", "upstream_keepalive_pool_size: expected an integer >= 0, got '-5'")]
    public void Bad_values_are_rejected_naming_property_and_value(string line, string expectedPrefix)
    {
        var errors = ErrorsOf(line);

        var error = Assert.Single(errors);
        Assert.StartsWith(expectedPrefix, error);
    }

    [Fact]
    public void Bad_value_from_environment_names_the_variable()
    {
        var errors = ErrorsOf("", new Dictionary<string, string> { ["GANTRY_PG_PORT"] = "abc" });

        Assert.Equal(["pg_port: expected an integer between 1 and 65535, got 'abc' (environment variable GANTRY_PG_PORT)"], errors);
    }

    [Fact]
    public void All_errors_are_reported_not_only_the_first()
    {
        var errors = ErrorsOf("""
            pg_port = abc
            nonsense_property = 1
            database = mysql
            admin_listen = 127.0.0.1:99999, localhost
            line without equals
            """);

        Assert.Equal(6, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("expected 'name = value'"));
        Assert.Contains(errors, e => e.StartsWith("nonsense_property: unknown property"));
        Assert.Contains(errors, e => e.StartsWith("pg_port:"));
        Assert.Contains(errors, e => e.StartsWith("database:"));
        Assert.Contains(errors, e => e.StartsWith("admin_listen: invalid listen address '127.0.0.1:99999'"));
        Assert.Contains(errors, e => e.StartsWith("admin_listen: invalid listen address 'localhost': missing port"));
    }

    [Fact]
    public void Value_masked_by_a_higher_layer_is_not_validated()
    {
        var config = LoadValid("pg_port = abc", new Dictionary<string, string> { ["GANTRY_PG_PORT"] = "6000" });

        Assert.Equal(6000, config.Postgres.Port);
    }

    [Theory]
    [InlineData("ssl_cert = /c.pem", "ssl_cert: is set but ssl_cert_key is not")]
    [InlineData("admin_ssl_cert_key = /k.pem", "admin_ssl_cert_key: is set but admin_ssl_cert is not")]
    [InlineData("status_ssl_cert = /a.pem, /b.pem\nstatus_ssl_cert_key = /a.key", "status_ssl_cert_key: lists 1 key(s) but status_ssl_cert lists 2 certificate(s)")]
    [InlineData("role = control_plane\ncluster_cert = c", "cluster_cert: is set but cluster_cert_key is not")]
    [InlineData("real_ip_header = proxy_protocol", "real_ip_header: is proxy_protocol but no proxy_listen entry")]
    [InlineData("admin_listen = 0.0.0.0:8000", "admin_listen: '0.0.0.0:8000' uses the same port as '0.0.0.0:8000' in proxy_listen")]
    [InlineData("status_listen = 127.0.0.1:8001", "status_listen: '127.0.0.1:8001' uses the same port as '127.0.0.1:8001' in admin_listen")]
    public void Cross_property_rules(string text, string expectedPrefix)
    {
        var errors = ErrorsOf(text);

        Assert.True(errors.Count == 1, string.Join(Environment.NewLine, errors));
        Assert.StartsWith(expectedPrefix, errors[0]);
    }

    [Theory]
    [InlineData("admin_listen = [::]:8000", false)]
    [InlineData("admin_listen = 127.0.0.1:8000", false)]
    [InlineData("admin_listen = localhost:8000", false)]
    [InlineData("admin_listen = [::1]:8000", true)]
    [InlineData("proxy_listen = 127.0.0.1:8000\nadmin_listen = 127.0.0.2:8000", true)]
    public void Listener_port_overlap_follows_address_families(string text, bool valid)
    {
        Assert.Equal(valid, ConfLoader.LoadText(text).IsValid);
    }

    [Fact]
    public void Cross_rule_is_skipped_when_a_property_is_already_invalid()
    {
        // Were the hybrid rule applied to the bad role, it would also demand cluster certificates.
        var errors = ErrorsOf("role = boss\ndatabase = off");

        Assert.Equal(["role: expected one of traditional, control_plane, data_plane, got 'boss' (configuration text line 1)"], errors);
    }

    [Fact]
    public void Sqlite_path_is_resolved_under_the_prefix_unless_absolute()
    {
        Assert.Equal("/srv/gantry/data/g.db", LoadValid("sqlite_path = data/g.db", prefix: "/srv/gantry").SqlitePath);
        Assert.Equal("/var/lib/g.db", LoadValid("sqlite_path = /var/lib/g.db", prefix: "/srv/gantry").SqlitePath);
        Assert.Equal(":memory:", LoadValid("sqlite_path = :memory:").SqlitePath);
    }

    [Fact]
    public void Read_replica_is_off_until_pg_ro_host_and_then_inherits_the_primary()
    {
        var config = LoadValid("""
            pg_host = primary
            pg_port = 5433
            pg_user = app
            pg_password = primary-secret
            pg_ro_host = replica
            pg_ro_user = reader
            """);

        var replica = config.PostgresReadOnly!;
        Assert.Equal("replica", replica.Host);
        Assert.Equal(5433, replica.Port);
        Assert.Equal("reader", replica.User);
        Assert.Equal("primary-secret", replica.Password);
        Assert.Equal("5433", config.Get("pg_ro_port"));
        Assert.Equal(ConfSource.Default, config.SourceOf("pg_ro_port"));
    }

    [Fact]
    public void Replica_setting_without_host_warns()
    {
        var result = ConfLoader.LoadText("pg_ro_port = 6000");

        Assert.True(result.IsValid);
        Assert.Null(result.Config!.PostgresReadOnly);
        Assert.Equal("pg_ro_port", Assert.Single(result.Warnings).Property);
    }

    [Fact]
    public void Negative_cache_ttl_falls_back_to_cache_ttl()
    {
        Assert.Equal(TimeSpan.FromSeconds(42), LoadValid("db_cache_ttl = 42").DbCacheNegTtl);
        Assert.Equal(TimeSpan.FromSeconds(1.5), LoadValid("db_cache_ttl = 42\ndb_cache_neg_ttl = 1.5").DbCacheNegTtl);
    }

    [Fact]
    public void Plugins_list_separates_bundled_keyword_from_names()
    {
        var config = LoadValid("plugins = bundled, my-plugin, other_plugin");
        Assert.True(config.LoadBundledPlugins);
        Assert.Equal(["my-plugin", "other_plugin"], config.Plugins);

        var off = LoadValid("plugins = off");
        Assert.False(off.LoadBundledPlugins);
        Assert.Empty(off.Plugins);
    }

    [Fact]
    public void Listeners_can_be_turned_off()
    {
        var config = LoadValid("admin_listen = off\nstatus_listen = off");

        Assert.Empty(config.AdminListen);
        Assert.Empty(config.StatusListen);
    }

    [Fact]
    public void Secrets_are_redacted_when_set_and_left_empty_when_not()
    {
        var config = LoadValid("pg_password = hunter2\nssl_cert = /c.pem\nssl_cert_key = -----BEGIN PRIVATE KEY-----");

        var printed = config.ToRedactedDictionary();

        Assert.Equal(GantryConfig.Redacted, printed["pg_password"]);
        Assert.Equal(GantryConfig.Redacted, printed["ssl_cert_key"]);
        Assert.Equal("", printed["pg_ro_host"]);
        Assert.Equal(GantryConfig.Redacted, printed["pg_ro_password"]);
        Assert.Equal("/c.pem", printed["ssl_cert"]);
        Assert.Equal(ConfProperties.All.Select(p => p.Name), printed.Keys);
        Assert.DoesNotContain("hunter2", string.Join(" ", printed.Values));
        Assert.DoesNotContain("hunter2", config.Postgres.ToString());
    }

    [Fact]
    public void Typed_getters_parse_values_and_refuse_the_wrong_kind()
    {
        var config = LoadValid("pg_ssl = true\ndb_update_frequency = 0.5\ntrusted_ips = 10.0.0.0/8, ::1");

        Assert.True(config.GetBool("pg_ssl"));
        Assert.Equal(0.5, config.GetDouble("db_update_frequency"));
        Assert.Equal(5432.0, config.GetDouble("pg_port"));
        Assert.Equal(["10.0.0.0/8", "::1"], config.GetList("trusted_ips"));
        Assert.Throws<InvalidOperationException>(() => config.GetInt("pg_host"));
        Assert.Throws<InvalidOperationException>(() => config.GetInt("pg_pool_size"));
        Assert.Throws<ArgumentException>(() => config.Get("no_such_property"));
    }

    [Fact]
    public void Environment_variable_name_is_prefix_plus_upper_case_name()
    {
        Assert.Equal("GANTRY_PG_RO_SSL_VERIFY", ConfLoader.EnvironmentVariableFor("pg_ro_ssl_verify"));
    }
}
