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
