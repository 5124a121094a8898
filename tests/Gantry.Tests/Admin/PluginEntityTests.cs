using System.Text.Json.Nodes;

namespace Gantry.Tests.Admin;

/// <summary>The plugins entity on a node with every bundled plugin enabled: scopes, config schemas, uniqueness, cascades.</summary>
public abstract class PluginEntityTests(PluginNode node)
{
    private async Task<(string Id, string Name)> CreateServiceAsync()
    {
        var name = PluginNode.Unique("svc");
        var service = await node.CreateAsync("/services", new { name, host = "upstream.test" });
        return (service["id"]!.GetValue<string>(), name);
    }

    private async Task<string> CreateConsumerAsync()
    {
        var consumer = await node.CreateAsync("/consumers", new { username = PluginNode.Unique("user") });
        return consumer["id"]!.GetValue<string>();
    }

    [Fact]
    public async Task A_global_plugin_gets_its_config_defaults_and_the_default_protocols()
    {
        // Global plugins are one per name, and other tests of this class must not collide with it.
        var created = await node.CreateAsync("/plugins", new { name = "correlation-id", tags = new[] { "global-test" } });
        Assert.Null(created["service"]);
        Assert.Null(created["route"]);
        Assert.Null(created["consumer"]);
        Assert.True(created["enabled"]!.GetValue<bool>());
        Assert.Equal("""["grpc","grpcs","http","https"]""", created["protocols"]!.ToJsonString());
        var config = created["config"]!;
        Assert.Equal("Kong-Request-ID", config["header_name"]!.GetValue<string>());
        Assert.Equal("uuid#counter", config["generator"]!.GetValue<string>());
        Assert.False(config["echo_downstream"]!.GetValue<bool>());
        Assert.Null(created["cache_key"]);

        var (status, fetched) = await node.GetAsync($"/plugins/{created["id"]}");
        Assert.Equal(200, status);
        // PostgreSQL's jsonb orders keys its own way; the values are what must survive.
        Assert.True(JsonNode.DeepEquals(config, fetched!["config"]), fetched["config"]!.ToJsonString());
    }

    [Fact]
    public async Task A_plugin_on_a_service_is_listed_under_it_with_defaults_and_given_values()
    {
        var (serviceId, serviceName) = await CreateServiceAsync();
        var created = await node.CreateAsync($"/services/{serviceName}/plugins", new { name = "rate-limiting", config = new { minute = 20 } });
        Assert.Equal(serviceId, created["service"]!["id"]!.GetValue<string>());
        var config = created["config"]!;
        Assert.Equal(20, config["minute"]!.GetValue<double>());
        Assert.Null(config["second"]);
        Assert.Equal("local", config["policy"]!.GetValue<string>());
        Assert.Equal("consumer", config["limit_by"]!.GetValue<string>());
        Assert.True(config["fault_tolerant"]!.GetValue<bool>());
        Assert.Equal(6379, config["redis"]!["port"]!.GetValue<double>());
        Assert.Equal(-1, config["sync_rate"]!.GetValue<double>());

        var (status, list) = await node.GetAsync($"/services/{serviceId}/plugins");
        Assert.Equal(200, status);
        var only = Assert.Single(list!["data"]!.AsArray());
        Assert.Equal(created["id"]!.GetValue<string>(), only!["id"]!.GetValue<string>());

        // PATCH merges into the stored config: the limit set before stays.
        var (patched, updated) = await node.SendAsync(HttpMethod.Patch, $"/plugins/{created["id"]}", new { config = new { hour = 500 } });
        Assert.Equal(200, patched);
        Assert.Equal(20, updated!["config"]!["minute"]!.GetValue<double>());
        Assert.Equal(500, updated["config"]!["hour"]!.GetValue<double>());
    }

    [Fact]
    public async Task Ip_restriction_gets_kongs_default_protocols_with_the_stream_ones()
    {
        var (_, serviceName) = await CreateServiceAsync();
        var created = await node.CreateAsync($"/services/{serviceName}/plugins", new { name = "ip-restriction", config = new { deny = new[] { "10.0.0.1" } } });
        Assert.Equal("""["http","https","tcp","tls","grpc","grpcs"]""", created["protocols"]!.ToJsonString());

        var (_, schema) = await node.GetAsync("/schemas/plugins/ip-restriction");
        var protocols = schema!["fields"]!.AsArray().Select(f => f!["protocols"]).Single(p => p is not null)!;
        Assert.Equal("""["http","https","tcp","tls","grpc","grpcs"]""", protocols["default"]!.ToJsonString());
        // Other plugins keep the HTTP protocols.
        var keyAuth = await node.CreateAsync($"/services/{serviceName}/plugins", new { name = "key-auth" });
        Assert.Equal("""["grpc","grpcs","http","https"]""", keyAuth["protocols"]!.ToJsonString());
    }

    [Fact]
    public async Task A_plugin_on_a_consumer_is_allowed_unless_the_plugin_authenticates()
    {
        var consumerId = await CreateConsumerAsync();
        var created = await node.CreateAsync($"/consumers/{consumerId}/plugins", new { name = "rate-limiting", config = new { second = 2 } });
        Assert.Equal(consumerId, created["consumer"]!["id"]!.GetValue<string>());
        var (_, list) = await node.GetAsync($"/consumers/{consumerId}/plugins");
        Assert.Single(list!["data"]!.AsArray());

        // An authentication plugin identifies the consumer, so it cannot apply to one.
        var (status, error) = await node.PostAsync($"/consumers/{consumerId}/plugins", new { name = "key-auth" });
        Assert.Equal(400, status);
        Assert.Equal("value must be null", error!["fields"]!["consumer"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_config_field_and_a_wrong_type_are_refused_under_config()
    {
        var (_, serviceName) = await CreateServiceAsync();
        var (status, error) = await node.PostAsync($"/services/{serviceName}/plugins",
            new { name = "key-auth", config = new { key_names = "apikey", colour = "blue" } });
        Assert.Equal(400, status);
        Assert.Equal(2, error!["code"]!.GetValue<int>());
        Assert.Equal("schema violation", error["name"]!.GetValue<string>());
        Assert.Equal("expected an array", error["fields"]!["config"]!["key_names"]!.GetValue<string>());
        Assert.Equal("unknown field", error["fields"]!["config"]!["colour"]!.GetValue<string>());
        Assert.Equal("2 schema violations (config.colour: unknown field; config.key_names: expected an array)", error["message"]!.GetValue<string>());

        // A rule across config fields of the plugin (Kong's plugin entity_checks) is reported at its @entity.
        var (ruleStatus, rule) = await node.PostAsync($"/services/{serviceName}/plugins", new { name = "acl", config = new { allow = new[] { "a" }, deny = new[] { "b" } } });
        Assert.Equal(400, ruleStatus);
        Assert.Equal("only one of these fields must be non-empty: 'config.allow', 'config.deny'",
            rule!["fields"]!["@entity"]![0]!.GetValue<string>());
        Assert.Empty((await node.GetAsync($"/services/{serviceName}/plugins")).Body!["data"]!.AsArray());
    }

    [Fact]
    public async Task A_plugin_this_build_does_not_have_is_refused_with_kongs_message()
    {
        var (status, error) = await node.PostAsync("/plugins", new { name = "request-transformer-x" });
        Assert.Equal(400, status);
        Assert.Equal("plugin 'request-transformer-x' not enabled; add it to the 'plugins' configuration property", error!["fields"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_same_plugin_twice_on_one_scope_is_a_409_naming_the_scope()
    {
        var (serviceId, serviceName) = await CreateServiceAsync();
        await node.CreateAsync($"/services/{serviceName}/plugins", new { name = "cors" });
        var (status, error) = await node.PostAsync("/plugins", new { name = "cors", service = new { id = serviceId } });
        Assert.Equal(409, status);
        Assert.Equal(5, error!["code"]!.GetValue<int>());
        Assert.Equal($"UNIQUE violation detected on '{{consumer=null,name=\"cors\",route=null,service={{id=\"{serviceId}\"}}}}'", error["message"]!.GetValue<string>());
        Assert.Equal("cors", error["fields"]!["name"]!.GetValue<string>());

        // Another scope, or another plugin on the same scope, is fine.
        var (otherId, _) = await CreateServiceAsync();
        await node.CreateAsync("/plugins", new { name = "cors", service = new { id = otherId } });
        await node.CreateAsync($"/services/{serviceName}/plugins", new { name = "correlation-id" });
    }

    [Fact]
    public async Task Deleting_a_service_deletes_its_plugins()
    {
        var (serviceId, serviceName) = await CreateServiceAsync();
        var plugin = await node.CreateAsync($"/services/{serviceName}/plugins", new { name = "ip-restriction", config = new { allow = new[] { "10.0.0.0/8" } } });
        var (deleted, _) = await node.SendAsync(HttpMethod.Delete, $"/services/{serviceId}");
        Assert.Equal(204, deleted);
        Assert.Equal(404, (await node.GetAsync($"/plugins/{plugin["id"]}")).Status);
        Assert.Equal(0, await node.Installation.CountAsync($"SELECT count(*) FROM plugins WHERE id = '{plugin["id"]}'"));
    }

    [Fact]
    public async Task The_plugins_of_the_burst_fixture_are_accepted_as_written()
    {
        // As declarative/burst.yml writes them: ip-restriction with an explicit null deny, prometheus without config.
        var (_, serviceName) = await CreateServiceAsync();
        var ip = JsonNode.Parse("""{"name":"ip-restriction","config":{"deny":null,"allow":["0.0.0.0/0"]},"enabled":true,"protocols":["grpc","grpcs","http","https"]}""")!;
        var created = await node.CreateAsync($"/services/{serviceName}/plugins", ip);
        Assert.Equal("""["0.0.0.0/0"]""", created["config"]!["allow"]!.ToJsonString());
        var prometheus = JsonNode.Parse("""{"name":"prometheus","enabled":true,"protocols":["grpc","grpcs","http","https"]}""")!;
        var (status, validated) = await node.PostAsync("/schemas/plugins/validate", prometheus);
        Assert.Equal(200, status);
        Assert.Equal("schema validation successful", validated!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Enabled_plugins_and_their_schemas_are_served()
    {
        var (status, enabled) = await node.GetAsync("/plugins/enabled");
        Assert.Equal(200, status);
        var names = enabled!["enabled_plugins"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Equal(["acl", "basic-auth", "bot-detection", "correlation-id", "cors", "file-log", "hmac-auth", "http-log", "ip-restriction", "jwt", "key-auth", "oauth2", "prometheus", "proxy-cache", "rate-limiting", "request-size-limiting", "request-termination", "request-transformer", "response-ratelimiting", "response-transformer", "session", "tcp-log", "udp-log"], names);

        var (schemaStatus, schema) = await node.GetAsync("/schemas/plugins/key-auth");
        Assert.Equal(200, schemaStatus);
        var config = schema!["fields"]!.AsArray().Select(f => f!["config"]).Single(c => c is not null)!;
        var keyNames = config["fields"]!.AsArray().Select(f => f!["key_names"]).Single(f => f is not null)!;
        Assert.Equal("array", keyNames["type"]!.GetValue<string>());
        Assert.Equal("""["apikey"]""", keyNames["default"]!.ToJsonString());
        Assert.Equal(404, (await node.GetAsync("/schemas/plugins/no-such-plugin")).Status);

        var (invalid, error) = await node.PostAsync("/schemas/plugins/validate", new { name = "rate-limiting", config = new { } });
        Assert.Equal(400, invalid);
        Assert.StartsWith("at least one of these fields must be non-empty", error!["fields"]!["@entity"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task Migrations_list_shows_each_plugin_subsystem()
    {
        var list = await node.Installation.RunAsync("migrations", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        foreach (var line in new[] { "key-auth: 000_base_key_auth", "basic-auth: 000_base_basic_auth", "acl: 000_base_acl", "jwt: 000_base_jwt",
                     "hmac-auth: 000_base_hmac_auth", "oauth2: 000_base_oauth2", "rate-limiting: 000_base_rate_limiting",
                     "response-ratelimiting: 000_base_response_rate_limiting" })
            Assert.Contains(line, list.Stdout);
        Assert.True(await node.Installation.TableExistsAsync("oauth2_authorization_codes"));
        Assert.True(await node.Installation.TableExistsAsync("ratelimiting_metrics"));
        Assert.True(await node.Installation.TableExistsAsync("response_ratelimiting_metrics"));
    }
}

public sealed class PluginEntityTestsSqlite(SqliteBundledNode node) : PluginEntityTests(node), IClassFixture<SqliteBundledNode>;

public sealed class PluginEntityTestsPostgres(PostgresBundledNode node) : PluginEntityTests(node), IClassFixture<PostgresBundledNode>;
