using System.Text.Json.Nodes;
using Gantry.Declarative;
using Gantry.Entities.Definitions;
using Gantry.Plugins;
using Gantry.Plugins.BasicAuth;

namespace Gantry.Tests.Declarative;

/// <summary>The declarative loader without a store: versions, nesting, references, ids, and every kind of error.</summary>
public sealed class DeclarativeLoaderTests
{
    internal static readonly Gantry.Entities.Schema.EntityRegistry Registry =
        CoreEntities.Registry(new PluginCatalog([]).Resolve(["bundled"]).Enabled);

    private static readonly DeclarativeLoader Loader = new(Registry);

    private static DeclarativeConfig Loaded(string text)
    {
        var load = Loader.Load(text);
        Assert.True(load.Errors.Count == 0, string.Join("\n", load.Errors.SelectMany(e => e.Lines())));
        return load.Config!;
    }

    private static IReadOnlyList<string> ErrorLines(string text)
    {
        var load = Loader.Load(text);
        Assert.Null(load.Config);
        return load.Errors.SelectMany(e => e.Lines()).ToList();
    }

    private static List<JsonObject> Of(DeclarativeConfig config, string type) =>
        config.Entities.Where(e => e.Schema.Name == type).Select(e => e.Entity).ToList();

    private static string Id(JsonObject entity, string reference) => entity[reference]!["id"]!.GetValue<string>();

    private const string Nested = """
        _format_version: "3.0"
        _comment: ignored
        _ignore: [anything]
        services:
        - name: svc-a
          url: http://upstream.test:8080/api
          routes:
          - name: r1
            paths: [/a]
            plugins:
            - name: cors
          plugins:
          - name: rate-limiting
            config: {minute: 5, policy: local}
        consumers:
        - username: alice
          _comment: also ignored
          keyauth_credentials:
          - key: alice-key
          basicauth_credentials:
          - username: alice
            password: secret
          acls:
          - group: admins
          plugins:
          - name: rate-limiting
            config: {second: 1}
        upstreams:
        - name: backend
          targets:
          - target: 10.0.0.1:80
          - target: 10.0.0.2
        key_sets:
        - name: set-a
          keys:
          - name: key-a
            kid: k1
            jwk: '{"kid": "k1", "kty": "oct", "k": "c2VjcmV0"}'
        """;

    [Fact]
    public void Nested_children_are_flattened_parents_first_and_point_at_their_parent()
    {
        var config = Loaded(Nested);
        var service = Of(config, "services").Single();
        Assert.Equal("upstream.test", service["host"]!.GetValue<string>());
        Assert.Equal("8080", service["port"]!.ToJsonString());
        var route = Of(config, "routes").Single();
        Assert.Equal(service["id"]!.GetValue<string>(), Id(route, "service"));
        var plugins = Of(config, "plugins");
        Assert.Equal(3, plugins.Count);
        Assert.Equal(route["id"]!.GetValue<string>(), Id(plugins.Single(p => p["name"]!.GetValue<string>() == "cors"), "route"));
        Assert.Null(plugins.Single(p => p["name"]!.GetValue<string>() == "cors")["service"]);
        var consumer = Of(config, "consumers").Single();
        Assert.Equal(consumer["id"]!.GetValue<string>(), Id(Of(config, "keyauth_credentials").Single(), "consumer"));
        Assert.Equal(consumer["id"]!.GetValue<string>(), Id(Of(config, "acls").Single(), "consumer"));
        Assert.Equal(consumer["id"]!.GetValue<string>(), Id(plugins.Single(p => p["consumer"] is not null), "consumer"));
        Assert.Equal(["10.0.0.1:80", "10.0.0.2:8000"], Of(config, "targets").Select(t => t["target"]!.GetValue<string>()).Order());
        Assert.Equal("k1", Of(config, "keys").Single()["kid"]!.GetValue<string>());

        // Every entity comes after the entities it references.
        var position = config.Entities.Select((e, i) => (e.Entity["id"]!.GetValue<string>(), i)).ToDictionary();
        foreach (var (schema, entity) in config.Entities)
        {
            foreach (var field in schema.ForeignFields)
            {
                if (entity[field.Name]?["id"]?.GetValue<string>() is { } parent)
                    Assert.True(position[parent] < position[entity["id"]!.GetValue<string>()], $"{schema.Name}.{field.Name} before its parent");
            }
        }
    }

    [Fact]
    public void Top_level_children_reference_parents_by_id_or_endpoint_key()
    {
        var config = Loaded("""
            _format_version: "3.0"
            services:
            - name: svc-a
              host: a.test
            - id: 5d0c8a3f-9a55-4f4b-9e43-0a7b9f0d2c11
              name: svc-b
              host: b.test
            routes:
            - name: by-name
              paths: [/n]
              service: svc-a
            - name: by-key-object
              paths: [/o]
              service: {name: svc-a}
            - name: by-id
              paths: [/i]
              service: {id: 5D0C8A3F-9A55-4F4B-9E43-0A7B9F0D2C11}
            - name: by-bare-id
              paths: [/b]
              service: 5d0c8a3f-9a55-4f4b-9e43-0a7b9f0d2c11
            consumers:
            - username: alice
            plugins:
            - name: rate-limiting
              consumer: alice
              config: {minute: 1}
            upstreams:
            - name: backend
            targets:
            - target: 10.0.0.1:80
              upstream: backend
            """);
        var services = Of(config, "services").ToDictionary(s => s["name"]!.GetValue<string>(), s => s["id"]!.GetValue<string>());
        var routes = Of(config, "routes").ToDictionary(r => r["name"]!.GetValue<string>(), r => Id(r, "service"));
        Assert.Equal(services["svc-a"], routes["by-name"]);
        Assert.Equal(services["svc-a"], routes["by-key-object"]);
        Assert.Equal("5d0c8a3f-9a55-4f4b-9e43-0a7b9f0d2c11", routes["by-id"]);
        Assert.Equal("5d0c8a3f-9a55-4f4b-9e43-0a7b9f0d2c11", routes["by-bare-id"]);
        Assert.Equal(Of(config, "consumers").Single()["id"]!.GetValue<string>(), Id(Of(config, "plugins").Single(), "consumer"));
        Assert.Equal(Of(config, "upstreams").Single()["id"]!.GetValue<string>(), Id(Of(config, "targets").Single(), "upstream"));
    }

    [Fact]
    public void Json_documents_load_like_yaml_ones()
    {
        var config = Loaded("""{"_format_version": "3.0", "services": [{"name": "svc", "host": "a.test", "routes": [{"paths": ["/j"]}]}]}""");
        Assert.Single(Of(config, "routes"));
    }

    [Fact]
    public void Missing_ids_are_the_same_on_every_load_and_differ_between_entities()
    {
        var first = Loaded(Nested).Entities.Select(e => $"{e.Schema.Name}:{e.Entity["id"]}").ToList();
        var second = Loaded(Nested).Entities.Select(e => $"{e.Schema.Name}:{e.Entity["id"]}").ToList();
        Assert.Equal(first, second);
        Assert.Equal(first.Count, first.Select(f => f.Split(':')[1]).Distinct().Count());
        // A name-based UUID, version 5, in a namespace of the entity type.
        var service = Of(Loaded(Nested), "services").Single()["id"]!.GetValue<string>();
        Assert.Equal(DeclarativeIds.For("services", "svc-a"), service);
        Assert.Equal('5', service[14]);
    }

    [Fact]
    public void Version5_ids_follow_rfc_9562()
    {
        // RFC 9562 appendix A.4: "www.example.com" in the DNS namespace.
        Assert.Equal("2ed6657d-e927-568b-95e1-2665a8aea6a2",
            DeclarativeIds.Version5(Guid.Parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), "www.example.com").ToString());
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.1")]
    public void Older_versions_turn_regex_paths_into_tilde_paths(string version)
    {
        var config = Loaded($"""
            _format_version: "{version}"
            services:
            - name: svc
              host: a.test
              routes:
              - paths: [/plain/path-1.2_~%20, /users/\d+, /v(1|2)/items]
            """);
        Assert.Equal(["/plain/path-1.2_~%20", @"~/users/\d+", "~/v(1|2)/items"],
            Of(config, "routes").Single()["paths"]!.AsArray().Select(p => p!.GetValue<string>()));
    }

    [Fact]
    public void Version_3_paths_are_taken_as_written()
    {
        // Without '~' a path is a plain prefix in 3.0, whatever characters it holds, as in Kong 3.x.
        var plain = Assert.Single(Of(Loaded("""
            _format_version: "3.0"
            routes:
            - name: r
              paths: [/users/\d+]
            """), "routes"));
        Assert.Equal("/users/\\d+", plain["paths"]![0]!.GetValue<string>());
        Assert.Single(Of(Loaded("""
            _format_version: 3.0
            routes:
            - paths: ["~/users/\\d+"]
            """), "routes"));
    }

    [Theory]
    [InlineData("services: []", "required field missing; expected one of: 1.1, 2.1, 3.0")]
    [InlineData("_format_version: \"4.0\"", "expected one of: 1.1, 2.1, 3.0 (got \"4.0\")")]
    public void A_missing_or_unknown_format_version_names_the_accepted_ones(string document, string message)
    {
        Assert.Equal([$"_format_version: {message}"], ErrorLines(document));
    }

    [Fact]
    public void Transform_false_keeps_a_basic_auth_password_as_its_stored_hash()
    {
        const string Document = """
            _format_version: "3.0"
            _transform: {0}
            consumers:
            - username: alice
              id: 0b4f8a1e-1111-4d2e-9a55-2b1c0e3a7d10
              basicauth_credentials:
              - username: alice
                password: already-a-hash
            """;
        var kept = Of(Loaded(string.Format(Document, "false")), "basicauth_credentials").Single();
        Assert.Equal("already-a-hash", kept["password"]!.GetValue<string>());
        var hashed = Of(Loaded(string.Format(Document, "true")), "basicauth_credentials").Single();
        Assert.Equal(BasicAuthCredentials.Hash("already-a-hash", "0b4f8a1e-1111-4d2e-9a55-2b1c0e3a7d10"), hashed["password"]!.GetValue<string>());
    }

    [Fact]
    public void Timestamps_in_the_document_are_kept_and_missing_ones_filled()
    {
        var config = Loaded("""
            _format_version: "3.0"
            services:
            - name: kept
              host: a.test
              created_at: 1700000000
              updated_at: 1700000100
            - name: filled
              host: b.test
            """);
        var services = Of(config, "services").ToDictionary(s => s["name"]!.GetValue<string>());
        Assert.Equal(1700000000, services["kept"]["created_at"]!.GetValue<long>());
        Assert.Equal(1700000100, services["kept"]["updated_at"]!.GetValue<long>());
        Assert.True(services["filled"]["created_at"]!.GetValue<long>() > 1700000000);
    }

    [Fact]
    public void Certificate_snis_nest_as_names_or_objects()
    {
        var pair = Gantry.Tests.Admin.TestCertificates.Ecdsa();
        var config = Loaded($$"""
            _format_version: "3.0"
            certificates:
            - cert: {{Yaml(pair.Cert)}}
              key: {{Yaml(pair.Key)}}
              snis: [a.example.com, {name: b.example.com}]
            """);
        var certificate = Of(config, "certificates").Single();
        var snis = Of(config, "snis");
        Assert.Equal(["a.example.com", "b.example.com"], snis.Select(s => s["name"]!.GetValue<string>()).Order());
        Assert.All(snis, s => Assert.Equal(certificate["id"]!.GetValue<string>(), Id(s, "certificate")));
    }

    private static string Yaml(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    [Fact]
    public void Every_error_of_the_document_is_reported_together()
    {
        var load = Loader.Load("""
            _format_version: "3.0"
            widgets: []
            services:
            - name: no-host
            - name: bad port
              host: a.test
              port: 70000
            routes:
            - name: orphan
              paths: [/o]
              service: missing-svc
            - name: nothing-to-match
              service: {name: no-host}
            plugins:
            - name: rate-limiting
              config: {minute: "many"}
            """);
        Assert.Null(load.Config);
        var lines = load.Errors.SelectMany(e => e.Lines()).ToList();
        Assert.Contains("widgets: unknown field", lines);
        Assert.Contains("service 'no-host': host: required field missing", lines);
        Assert.Contains(lines, l => l.StartsWith("service 'bad port': name: invalid value", StringComparison.Ordinal));
        Assert.Contains("service 'bad port': port: value should be between 0 and 65535", lines);
        Assert.Contains("route 'orphan': service: invalid reference 'service: missing-svc' (no such entry in 'services')", lines);
        Assert.Contains(lines, l => l.StartsWith("route 'nothing-to-match': must set one of", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("plugin '", StringComparison.Ordinal) && l.Contains("config.minute: expected a number", StringComparison.Ordinal));

        var route = load.Errors.Single(e => e.EntityName == "orphan");
        Assert.Equal("route", route.EntityType);
        Assert.NotNull(route.EntityId);
        Assert.Equal("field", route.Errors.Single().Type);
        Assert.Equal("service", route.Errors.Single().Field);
        Assert.Equal("entity", load.Errors.Single(e => e.EntityName == "nothing-to-match").Errors.Single().Type);
    }

    [Fact]
    public void Duplicates_are_uniqueness_violations_as_in_kong()
    {
        var lines = ErrorLines("""
            _format_version: "3.0"
            services:
            - name: x
              host: a.test
            - name: x
              host: b.test
            - id: 9f1b0b2c-3c4d-4e5f-8a9b-0c1d2e3f4a5b
              host: c.test
            - id: 9f1b0b2c-3c4d-4e5f-8a9b-0c1d2e3f4a5b
              host: d.test
            consumers:
            - username: alice
              custom_id: c1
            - username: bob
              custom_id: c1
            upstreams:
            - name: backend
              targets:
              - target: 10.0.0.1:80
              - target: 10.0.0.1:80
            """);
        Assert.Contains("service 'x': uniqueness violation: 'services' entity with name set to 'x' already declared", lines);
        Assert.Contains("service '9f1b0b2c-3c4d-4e5f-8a9b-0c1d2e3f4a5b': uniqueness violation: 'services' entity with id set to '9f1b0b2c-3c4d-4e5f-8a9b-0c1d2e3f4a5b' already declared", lines);
        Assert.Contains("consumer 'bob': custom_id: uniqueness violation: 'consumers' entity with custom_id set to 'c1' already declared", lines);
        Assert.Contains("target '10.0.0.1:80': uniqueness violation: 'targets' entity with target set to '10.0.0.1:80' already declared", lines);
        Assert.True(lines.Count == 4, string.Join("\n", lines));
    }

    [Fact]
    public void Two_plugins_of_one_name_in_one_scope_are_refused()
    {
        var lines = ErrorLines("""
            _format_version: "3.0"
            services:
            - name: s
              host: a.test
              plugins:
              - name: cors
                instance_name: first
              - name: cors
                instance_name: second
            """);
        Assert.Single(lines);
        Assert.Contains("uniqueness violation: 'plugins' entity with", lines[0]);
    }

    [Theory]
    [InlineData("services: [a: b", "failed parsing declarative configuration: line")]
    [InlineData("- just\n- a list", "expected an object")]
    [InlineData("{\"_format_version\": \"3.0\",}", "failed parsing declarative configuration")]
    public void Text_that_is_not_a_document_is_one_error(string text, string message)
    {
        var lines = ErrorLines(text);
        Assert.Single(lines);
        Assert.Contains(message, lines[0]);
    }

    [Fact]
    public void Yaml_writing_round_trips_awkward_strings()
    {
        var document = new JsonObject
        {
            ["_format_version"] = "3.0",
            ["values"] = new JsonArray("true", "123", "1.5", "null", "", "~", "- dash", "a: b", "#hash", "line1\nline2\n", " lead", "ünï", 42, 1700000000.123, false),
        };
        var yaml = DeclarativeText.ToYaml(document);
        Assert.Equal(document.ToJsonString(), DeclarativeText.Parse(yaml)!.ToJsonString());
    }

    [Fact]
    public void The_example_config_init_writes_loads()
    {
        var config = Loaded(DeclarativeExample.Text);
        Assert.Equal(["acls", "consumers", "keyauth_credentials", "plugins", "routes", "services", "targets", "upstreams"],
            config.Entities.Select(e => e.Schema.Name).Distinct().Order());
        Assert.Contains(Of(config, "routes"), r => r["paths"]![0]!.GetValue<string>() == @"~/items/\d+$");
    }

    [Fact]
    public void Yaml_anchors_and_aliases_are_copies()
    {
        var config = Loaded("""
            _format_version: "3.0"
            services:
            - name: a
              host: a.test
              plugins:
              - name: rate-limiting
                config: &limits {minute: 10, policy: local}
            - name: b
              host: b.test
              plugins:
              - name: rate-limiting
                config: *limits
            """);
        var plugins = Of(config, "plugins");
        Assert.Equal(2, plugins.Count);
        Assert.All(plugins, p => Assert.Equal(10, p["config"]!["minute"]!.GetValue<double>()));
        Assert.NotEqual(Id(plugins[0], "service"), Id(plugins[1], "service"));
    }
}
