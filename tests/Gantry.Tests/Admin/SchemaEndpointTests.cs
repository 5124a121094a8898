using Gantry.Tests.Support;
using System.Text.Json.Nodes;

namespace Gantry.Tests.Admin;

/// <summary>
/// The schema endpoints as Kong Manager and decK read them: fields as a list of one-key objects in Kong 3.9's
/// vocabulary (<c>type</c>, <c>default</c>, <c>one_of</c>, <c>between</c>, <c>len_min</c>, <c>elements</c>,
/// <c>fields</c>, <c>reference</c>, <c>eq</c>), and validation that answers as a create would.
/// </summary>
public abstract class SchemaEndpointTests(AdminNode node)
{
    [Fact]
    public async Task Routes_schema_names_its_keys_and_lists_fields_as_one_key_objects()
    {
        var schema = await GetAsync("/schemas/routes");
        Assert.Equal("routes", schema["name"]!.GetValue<string>());
        Assert.Equal("name", schema["endpoint_key"]!.GetValue<string>());
        Assert.Equal("protocols", schema["subschema_key"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonArray("id"), schema["primary_key"]));
        Assert.All(schema["fields"]!.AsArray(), entry => Assert.Single(entry!.AsObject()));

        var redirect = FieldOf(schema, "https_redirect_status_code");
        Assert.Equal("integer", redirect["type"]!.GetValue<string>());
        Assert.Equal(426, redirect["default"]!.GetValue<long>());
        Assert.True(JsonNode.DeepEquals(new JsonArray(426, 301, 302, 307, 308), redirect["one_of"]), redirect.ToJsonString());

        var protocols = FieldOf(schema, "protocols");
        Assert.Equal("set", protocols["type"]!.GetValue<string>());
        Assert.Equal(1, protocols["len_min"]!.GetValue<int>());
        Assert.True(JsonNode.DeepEquals(new JsonArray("http", "https"), protocols["default"]));
        Assert.Contains("tls_passthrough", protocols["elements"]!["one_of"]!.AsArray().Select(p => p!.GetValue<string>()));

        var service = FieldOf(schema, "service");
        Assert.Equal("foreign", service["type"]!.GetValue<string>());
        Assert.Equal("services", service["reference"]!.GetValue<string>());

        var sources = FieldOf(schema, "sources");
        Assert.Equal("record", sources["elements"]!["type"]!.GetValue<string>());
        var port = sources["elements"]!["fields"]!.AsArray().Single(f => f!.AsObject().ContainsKey("port"))!["port"]!;
        Assert.True(JsonNode.DeepEquals(new JsonArray(0, 65535), port["between"]), port.ToJsonString());

        var headers = FieldOf(schema, "headers");
        Assert.Equal("map", headers["type"]!.GetValue<string>());
        Assert.Equal("string", headers["keys"]!["type"]!.GetValue<string>());
        Assert.Equal("array", headers["values"]!["type"]!.GetValue<string>());

        var pathHandling = FieldOf(schema, "path_handling");
        Assert.True(JsonNode.DeepEquals(new JsonArray("v0", "v1"), pathHandling["one_of"]));
        Assert.Equal("v0", pathHandling["default"]!.GetValue<string>());

        var id = FieldOf(schema, "id");
        Assert.True(id["uuid"]!.GetValue<bool>() && id["auto"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Upstreams_schema_describes_healthchecks_bounds_in_full()
    {
        var schema = await GetAsync("/schemas/upstreams");
        var healthchecks = FieldOf(schema, "healthchecks");
        var active = Nested(healthchecks, "active");
        Assert.True(JsonNode.DeepEquals(new JsonArray(1, 2147483648), Nested(active, "concurrency")["between"]));
        Assert.Equal("number", Nested(active, "timeout")["type"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonArray(0, 65535), Nested(active, "timeout")["between"]));
        Assert.True(JsonNode.DeepEquals(new JsonArray("tcp", "http", "https", "grpc", "grpcs"), Nested(active, "type")["one_of"]));
        var statuses = Nested(Nested(active, "healthy"), "http_statuses");
        Assert.Equal("array", statuses["type"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonArray(100, 999), statuses["elements"]!["between"]));
        Assert.True(JsonNode.DeepEquals(new JsonArray(0, 255), Nested(Nested(Nested(healthchecks, "passive"), "unhealthy"), "tcp_failures")["between"]));
        Assert.True(JsonNode.DeepEquals(new JsonArray(0, 100), Nested(healthchecks, "threshold")["between"]));
    }

    [Fact]
    public async Task Targets_and_consumers_schemas_carry_bounds_and_uniqueness()
    {
        var targets = await GetAsync("/schemas/targets");
        var weight = FieldOf(targets, "weight");
        Assert.True(JsonNode.DeepEquals(new JsonArray(0, 65535), weight["between"]));
        Assert.Equal(100, weight["default"]!.GetValue<long>());
        Assert.True(FieldOf(targets, "target")["required"]!.GetValue<bool>());

        var consumers = await GetAsync("/schemas/consumers");
        Assert.True(FieldOf(consumers, "username")["unique"]!.GetValue<bool>());
        Assert.True(FieldOf(consumers, "custom_id")["unique"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Plugin_schema_describes_config_protocols_and_consumer_scoping()
    {
        var cors = await GetAsync("/schemas/plugins/cors");
        var consumer = FieldOf(cors, "consumer");
        Assert.Equal("foreign", consumer["type"]!.GetValue<string>());
        Assert.True(consumer.ContainsKey("eq") && consumer["eq"] is null, consumer.ToJsonString());
        var protocols = FieldOf(cors, "protocols");
        Assert.True(JsonNode.DeepEquals(new JsonArray("grpc", "grpcs", "http", "https"), protocols["default"]));
        Assert.True(JsonNode.DeepEquals(new JsonArray("grpc", "grpcs", "http", "https"), protocols["elements"]!["one_of"]));
        var config = FieldOf(cors, "config");
        Assert.Equal("record", config["type"]!.GetValue<string>());
        Assert.Contains(config["fields"]!.AsArray(), f => f!.AsObject().ContainsKey("origins"));

        var ipRestriction = await GetAsync("/schemas/plugins/ip-restriction");
        Assert.Contains("tcp", FieldOf(ipRestriction, "protocols")["elements"]!["one_of"]!.AsArray().Select(p => p!.GetValue<string>()));
    }

    public static TheoryData<string, string> KongFieldOrders => new()
    {
        { "routes", "id created_at updated_at name protocols https_redirect_status_code strip_path preserve_host request_buffering response_buffering tags service snis sources destinations methods hosts paths headers regex_priority path_handling" },
        { "services", "id created_at updated_at name retries protocol host port path connect_timeout write_timeout read_timeout tags client_certificate tls_verify tls_verify_depth ca_certificates enabled" },
        { "upstreams", "id created_at name updated_at algorithm hash_on hash_fallback hash_on_header hash_fallback_header hash_on_cookie hash_on_cookie_path hash_on_query_arg hash_fallback_query_arg hash_on_uri_capture hash_fallback_uri_capture slots healthchecks tags host_header client_certificate use_srv_name" },
        { "targets", "id created_at updated_at upstream target weight tags" },
        { "consumers", "id created_at updated_at username custom_id tags" },
        // Gantry's plugins also take Kong Enterprise's ordering, after Kong's fields.
        { "plugins", "id name instance_name created_at updated_at route service consumer config protocols enabled tags ordering" },
    };

    [Theory]
    [MemberData(nameof(KongFieldOrders))]
    public async Task Core_entities_list_their_fields_in_Kongs_order(string entity, string order)
    {
        var schema = await GetAsync("/schemas/" + entity);
        Assert.Equal(order, string.Join(' ', schema["fields"]!.AsArray().Select(f => f!.AsObject().Single().Key)));
    }

    [Fact]
    public async Task Required_is_shown_where_Kongs_schema_says_so_not_for_every_default()
    {
        var routes = await GetAsync("/schemas/routes");
        foreach (var name in (string[])["protocols", "https_redirect_status_code", "strip_path", "preserve_host", "request_buffering", "response_buffering"])
            Assert.True(FieldOf(routes, name)["required"]?.GetValue<bool>() == true, name);
        foreach (var name in (string[])["regex_priority", "path_handling", "name", "paths"])
            Assert.False(FieldOf(routes, name).ContainsKey("required"), name);
        Assert.Equal(0, FieldOf(routes, "regex_priority")["default"]!.GetValue<long>());

        var services = await GetAsync("/schemas/services");
        foreach (var name in (string[])["protocol", "host", "port", "enabled"])
            Assert.True(FieldOf(services, name)["required"]?.GetValue<bool>() == true, name);
        foreach (var name in (string[])["retries", "connect_timeout", "write_timeout", "read_timeout"])
            Assert.False(FieldOf(services, name).ContainsKey("required"), name);

        var upstreams = await GetAsync("/schemas/upstreams");
        foreach (var name in (string[])["algorithm", "hash_on", "hash_fallback", "hash_on_cookie_path", "slots", "healthchecks", "use_srv_name"])
            Assert.False(FieldOf(upstreams, name).ContainsKey("required"), name);
        var active = Nested(FieldOf(upstreams, "healthchecks"), "active");
        Assert.False(active.ContainsKey("required"));
        // Kong's records carry their defaults whole; a field without a default (https_sni) is left out.
        var defaults = FieldOf(upstreams, "healthchecks")["default"]!;
        Assert.Equal(0, defaults["threshold"]!.GetValue<double>());
        Assert.Equal(10, defaults["active"]!["concurrency"]!.GetValue<long>());
        Assert.Equal(0, defaults["passive"]!["unhealthy"]!["tcp_failures"]!.GetValue<long>());
        Assert.False(defaults["active"]!.AsObject().ContainsKey("https_sni"));
        Assert.Equal(1, active["default"]!["timeout"]!.GetValue<double>());
        Assert.True(Nested(active, "https_verify_certificate")["required"]!.GetValue<bool>());
        Assert.False(Nested(active, "timeout").ContainsKey("required"));

        Assert.False(FieldOf(await GetAsync("/schemas/targets"), "weight").ContainsKey("required"));
        var plugins = await GetAsync("/schemas/plugins");
        Assert.True(FieldOf(plugins, "enabled")["required"]!.GetValue<bool>());
        Assert.True(FieldOf(plugins, "protocols")["required"]!.GetValue<bool>());

        // What is described changed, not what is accepted: an absent defaulted field still takes its default.
        var (status, route) = await node.PostAsync("/routes", new { paths = new[] { "/described-" + Guid.NewGuid().ToString("N")[..8] } });
        Assert.Equal(201, status);
        Assert.Equal(0, route!["regex_priority"]!.GetValue<long>());
        Assert.Equal("v0", route["path_handling"]!.GetValue<string>());
        Assert.True(route["strip_path"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Unknown_schemas_answer_404_with_Kongs_messages()
    {
        var (status, body) = await node.GetAsync("/schemas/nope");
        Assert.Equal(404, status);
        Assert.Equal("No entity named 'nope'", body!["message"]!.GetValue<string>());
        (status, body) = await node.GetAsync("/schemas/plugins/nope");
        Assert.Equal(404, status);
        Assert.Equal("No plugin named 'nope'", body!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Validate_endpoints_answer_as_a_create_would_without_writing()
    {
        var (status, body) = await node.PostAsync("/schemas/routes/validate", """{"protocols": ["tcp"], "methods": ["GET"], "destinations": [{"port": 9}]}""");
        Assert.Equal(400, status);
        Assert.Equal("schema violation (methods: cannot set 'methods' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp')", body!["message"]!.GetValue<string>());

        (status, body) = await node.PostAsync("/schemas/routes/validate", """{"name": "validated-only", "paths": ["/v"]}""");
        Assert.Equal(200, status);
        Assert.Equal("schema validation successful", body!["message"]!.GetValue<string>());
        Assert.Equal(404, (await node.GetAsync("/routes/validated-only")).Status);

        (status, body) = await node.PostAsync("/schemas/plugins/validate", """{"name": "cors", "config": {"foo": 1}}""");
        Assert.Equal(400, status);
        Assert.Equal("schema violation (config.foo: unknown field)", body!["message"]!.GetValue<string>());
    }

    private async Task<JsonObject> GetAsync(string path)
    {
        var (status, body) = await node.GetAsync(path);
        Assert.True(status == 200, $"{path}: {status} {body?.ToJsonString()}");
        return body!;
    }

    private static JsonObject FieldOf(JsonObject schema, string name) =>
        schema["fields"]!.AsArray().Select(f => f!.AsObject()).Single(f => f.ContainsKey(name))[name]!.AsObject();

    private static JsonObject Nested(JsonObject record, string name) => FieldOf(record, name);
}

[Collection(AdminApiCollection.Name)]
public sealed class SqliteSchemaEndpointTests(SqliteAdminNode node) : SchemaEndpointTests(node), IClassFixture<SqliteAdminNode>;

[Collection(AdminApiCollection.Name)]
public sealed class PostgresSchemaEndpointTests(PostgresAdminNode node) : SchemaEndpointTests(node), IClassFixture<PostgresAdminNode>;
