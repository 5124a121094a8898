using Gantry.Tests.Support;
using System.Text.Json.Nodes;

namespace Gantry.Tests.Admin;

/// <summary>
/// The entity rules of the Admin API (defaults, validation in Kong's error shape, uniqueness, references),
/// against a real node on each store. Each test names its entities after itself, so the tests can share one node.
/// </summary>
public abstract class EntityRulesTests(AdminNode node)
{
    protected AdminNode Node => node;

    protected static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>A single schema violation: 400, code 2, Kong's message, and fields mirroring the input's shape.</summary>
    protected static void AssertViolation((int Status, JsonObject? Body) response, string? path, string message)
    {
        Assert.True(response.Status == 400, $"expected 400, got {response.Status}: {response.Body?.ToJsonString()}");
        var body = response.Body!;
        Assert.Equal(2, body["code"]!.GetValue<int>());
        Assert.Equal("schema violation", body["name"]!.GetValue<string>());
        Assert.Equal(path is null ? $"schema violation ({message})" : $"schema violation ({path}: {message})", body["message"]!.GetValue<string>());
        JsonNode expected;
        if (path is null)
        {
            expected = new JsonObject { ["@entity"] = new JsonArray(message) };
        }
        else
        {
            var parts = path.Split('.');
            JsonNode leaf = message;
            for (var i = parts.Length - 1; i >= 0; i--)
            {
                // A list position holds its error in a list, the positions before it null, as Kong answers.
                if (int.TryParse(parts[i], out var position))
                {
                    var list = new JsonArray();
                    for (var before = 1; before < position; before++)
                        list.Add(null);
                    list.Add(leaf);
                    leaf = list;
                }
                else
                {
                    leaf = new JsonObject { [parts[i]] = leaf };
                }
            }
            expected = leaf;
        }
        Assert.True(JsonNode.DeepEquals(expected, body["fields"]), $"fields: {body["fields"]?.ToJsonString()}, expected {expected.ToJsonString()}");
    }

    protected static void AssertStatus(int expected, (int Status, JsonObject? Body) response) =>
        Assert.True(response.Status == expected, $"expected {expected}, got {response.Status}: {response.Body?.ToJsonString()}");

    protected async Task<JsonObject> ServiceAsync(string? name = null) =>
        await node.CreateAsync("/services", new { name = name ?? Unique("svc"), host = "upstream.test" });

    // ---- services ----

    [Fact]
    public async Task Service_port_out_of_range_is_refused()
    {
        AssertViolation(await node.PostAsync("/services", new { host = "a.test", port = 70000 }), "port", "value should be between 0 and 65535");
    }

    [Fact]
    public async Task Service_without_host_is_refused()
    {
        AssertViolation(await node.PostAsync("/services", new { name = Unique("svc") }), "host", "required field missing");
    }

    [Fact]
    public async Task Service_with_routes_cannot_be_deleted_until_they_are_gone()
    {
        var service = await ServiceAsync();
        var id = service["id"]!.GetValue<string>();
        var route = await node.CreateAsync($"/services/{id}/routes", new { paths = new[] { "/restrict" } });
        var refused = await node.DeleteAsync($"/services/{id}");
        AssertStatus(400, refused);
        Assert.Equal(4, refused.Body!["code"]!.GetValue<int>());
        Assert.Equal("foreign key violation", refused.Body["name"]!.GetValue<string>());
        Assert.Equal("an existing 'routes' entity references this 'services' entity", refused.Body["message"]!.GetValue<string>());
        Assert.Equal("routes", refused.Body["fields"]!["@referenced_by"]!.GetValue<string>());

        AssertStatus(204, await node.DeleteAsync($"/routes/{route["id"]}"));
        AssertStatus(204, await node.DeleteAsync($"/services/{id}"));
        AssertStatus(404, await node.GetAsync($"/services/{id}"));
    }

    // ---- routes ----

    [Fact]
    public async Task Route_defaults_are_filled_and_unset_fields_are_null()
    {
        var route = await node.CreateAsync("/routes", new { paths = new[] { "/defaults" } });
        Assert.Equal("""["http","https"]""", route["protocols"]!.ToJsonString());
        Assert.Equal(426, route["https_redirect_status_code"]!.GetValue<int>());
        Assert.Equal(0, route["regex_priority"]!.GetValue<int>());
        Assert.True(route["strip_path"]!.GetValue<bool>());
        Assert.False(route["preserve_host"]!.GetValue<bool>());
        Assert.Equal("v0", route["path_handling"]!.GetValue<string>());
        Assert.True(route["request_buffering"]!.GetValue<bool>());
        Assert.True(route["response_buffering"]!.GetValue<bool>());
        foreach (var field in (string[])["name", "methods", "hosts", "headers", "snis", "sources", "destinations", "tags", "service"])
        {
            Assert.True(route.ContainsKey(field), field);
            Assert.Null(route[field]);
        }
    }

    [Fact]
    public async Task Route_protocols_from_two_families_are_refused()
    {
        AssertViolation(await node.PostAsync("/routes", new { protocols = new[] { "http", "tcp" }, paths = new[] { "/" } }), "protocols",
            "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp')");
    }

    [Fact]
    public async Task Route_unknown_protocol_is_refused()
    {
        AssertViolation(await node.PostAsync("/routes", new { protocols = new[] { "ftp" }, paths = new[] { "/" } }), "protocols.1",
            "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp");
    }

    [Fact]
    public async Task Http_route_needs_something_to_match()
    {
        AssertViolation(await node.PostAsync("/routes", new { protocols = new[] { "http" } }), null,
            "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'");
    }

    [Fact]
    public async Task Https_route_may_match_on_snis_alone()
    {
        var route = await node.CreateAsync("/routes", new { protocols = new[] { "https" }, snis = new[] { Unique("sni") + ".test" } });
        Assert.Equal("https", route["protocols"]![0]!.GetValue<string>());
        AssertViolation(await node.PostAsync("/routes", new { protocols = new[] { "https" } }), null,
            "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'");
    }

    [Fact]
    public async Task Grpc_route_forbids_methods()
    {
        AssertViolation(await node.PostAsync("/routes", new { protocols = new[] { "grpc" }, methods = new[] { "GET" }, paths = new[] { "/g" }, strip_path = false }),
            "methods", "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'");
    }

    [Fact]
    public async Task Grpc_route_needs_strip_path_false()
    {
        AssertViolation(await node.PostAsync("/routes", new { protocols = new[] { "grpc" }, paths = new[] { "/g" }, strip_path = true }),
            "strip_path", "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'");
        var route = await node.CreateAsync("/routes", new { protocols = new[] { "grpc" }, paths = new[] { "/g" } });
        Assert.False(route["strip_path"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Sources_are_only_for_stream_routes()
    {
        AssertViolation(await node.PostAsync("/routes", new { protocols = new[] { "http" }, paths = new[] { "/s" }, sources = new[] { new { ip = "10.0.0.0/8" } } }),
            "sources", "cannot set 'sources' when 'protocols' is 'http' or 'https'");
        var stream = await node.CreateAsync("/routes", new { protocols = new[] { "tcp" }, sources = new[] { new { ip = "10.0.0.0/8", port = 1234 } } });
        Assert.Equal("10.0.0.0/8", stream["sources"]![0]!["ip"]!.GetValue<string>());
    }

    [Fact]
    public async Task Stream_route_needs_sources_destinations_or_snis()
    {
        AssertViolation(await node.PostAsync("/routes", new { protocols = new[] { "tcp" } }), null,
            "must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'");
    }

    [Fact]
    public async Task Tls_passthrough_route_needs_snis()
    {
        AssertViolation(await node.PostAsync("/routes", new { protocols = new[] { "tls_passthrough" }, destinations = new[] { new { port = 443 } } }), null,
            "must set snis when 'protocols' is 'tls_passthrough'");
    }

    [Fact]
    public async Task Host_header_is_refused_in_headers()
    {
        AssertViolation(await node.PostAsync("/routes", new { headers = new Dictionary<string, string[]> { ["Host"] = ["a.test"] } }),
            "headers", "cannot contain 'host' header, which must be specified in the 'hosts' attribute");
    }

    [Fact]
    public async Task Hosts_allow_one_wildcard_at_either_end_and_a_port()
    {
        var route = await node.CreateAsync("/routes", new { hosts = new[] { "*.example.test", "example.*", "a.test:8080", "[::1]:8080" } });
        Assert.Equal(4, route["hosts"]!.AsArray().Count);
        AssertViolation(await node.PostAsync("/routes", new { hosts = new[] { "a.test:99999" } }), "hosts.1", "invalid port number");
        AssertViolation(await node.PostAsync("/routes", new { hosts = new[] { "*.example.*" } }), "hosts.1", "invalid wildcard: must have at most one wildcard");
        AssertViolation(await node.PostAsync("/routes", new { hosts = new[] { "a.*.test" } }), "hosts.1", "invalid wildcard: must be placed at leftmost or rightmost label");
    }

    [Fact]
    public async Task Paths_start_with_a_slash_or_a_tilde_slash()
    {
        AssertViolation(await node.PostAsync("/routes", new { paths = new[] { "relative" } }), "paths.1", "should start with: / (fixed path) or ~/ (regex path)");
        var route = await node.CreateAsync("/routes", new { paths = new[] { "/prefix", @"~/items/\d+$" } });
        Assert.Equal(@"~/items/\d+$", route["paths"]![1]!.GetValue<string>());
    }

    [Fact]
    public async Task Regex_paths_must_compile()
    {
        var response = await node.PostAsync("/routes", new { paths = new[] { "~/([" } });
        AssertStatus(400, response);
        Assert.StartsWith("invalid regex: '/(['", response.Body!["fields"]!["paths"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task Redirect_status_code_is_one_of_the_redirects()
    {
        AssertViolation(await node.PostAsync("/routes", new { paths = new[] { "/r" }, https_redirect_status_code = 200 }),
            "https_redirect_status_code", "expected one of: 426, 301, 302, 307, 308");
    }

    [Fact]
    public async Task Route_pointing_at_a_missing_service_is_a_foreign_key_violation()
    {
        var missing = Guid.NewGuid().ToString();
        var response = await node.PostAsync("/routes", new { paths = new[] { "/fk" }, service = new { id = missing } });
        AssertStatus(400, response);
        Assert.Equal(4, response.Body!["code"]!.GetValue<int>());
        Assert.Equal($"the foreign key '{{id=\"{missing}\"}}' does not reference an existing 'services' entity.", response.Body["message"]!.GetValue<string>());
        Assert.Equal(missing, response.Body["fields"]!["service"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task References_name_the_parent_by_its_endpoint_key_in_json_and_forms()
    {
        var service = Unique("ek-svc");
        var serviceId = (await node.CreateAsync("/services", new { name = service, host = "example.test" }))["id"]!.GetValue<string>();
        var route = await node.CreateAsync("/routes", new { name = Unique("ek-route"), paths = new[] { "/ek" }, service = new { name = service } });
        Assert.Equal(serviceId, route["service"]!["id"]!.GetValue<string>());
        var formRoute = await node.SendAsync(HttpMethod.Post, "/routes",
            new FormUrlEncodedContent([new("paths[]", "/ek-form"), new("service.name", service)]));
        AssertStatus(201, formRoute);
        Assert.Equal(serviceId, formRoute.Body!["service"]!["id"]!.GetValue<string>());

        var consumer = Unique("ek-user");
        var consumerId = (await node.CreateAsync("/consumers", new { username = consumer }))["id"]!.GetValue<string>();
        var plugin = await node.CreateAsync("/plugins", new { name = "key-auth", route = new { name = route["name"]!.GetValue<string>() } });
        Assert.Equal(route["id"]!.GetValue<string>(), plugin["route"]!["id"]!.GetValue<string>());
        var scoped = await node.CreateAsync("/plugins", new { name = "rate-limiting", consumer = new { username = consumer }, config = new { minute = 5 } });
        Assert.Equal(consumerId, scoped["consumer"]!["id"]!.GetValue<string>());

        // A name nothing has is Kong's foreign key violation, naming the key it was looked up by; nothing is written.
        var before = await node.CountAsync("routes");
        var missing = Unique("nobody");
        var response = await node.PostAsync("/routes", new { paths = new[] { "/ek-missing" }, service = new { name = missing } });
        AssertStatus(400, response);
        Assert.Equal(4, response.Body!["code"]!.GetValue<int>());
        Assert.Equal($"the foreign key '{{name=\"{missing}\"}}' does not reference an existing 'services' entity.", response.Body["message"]!.GetValue<string>());
        Assert.Equal(missing, response.Body["fields"]!["service"]!["name"]!.GetValue<string>());
        Assert.Equal(before, await node.CountAsync("routes"));
    }

    [Fact]
    public async Task Route_name_is_unique()
    {
        var name = Unique("route");
        await node.CreateAsync("/routes", new { name, paths = new[] { "/u" } });
        var clash = await node.PostAsync("/routes", new { name, paths = new[] { "/u2" } });
        AssertStatus(409, clash);
        Assert.Equal(5, clash.Body!["code"]!.GetValue<int>());
        Assert.Equal("unique constraint violation", clash.Body["name"]!.GetValue<string>());
        Assert.Equal($"UNIQUE violation detected on '{{name=\"{name}\"}}'", clash.Body["message"]!.GetValue<string>());
        Assert.Equal(name, clash.Body["fields"]!["name"]!.GetValue<string>());
    }

    // ---- nested endpoints and PUT ----

    [Fact]
    public async Task Nested_routes_belong_to_their_service()
    {
        var one = await ServiceAsync();
        var two = await ServiceAsync();
        var route = await node.CreateAsync($"/services/{one["name"]}/routes", new { paths = new[] { "/nested" } });
        Assert.Equal(one["id"]!.GetValue<string>(), route["service"]!["id"]!.GetValue<string>());

        var listed = await node.GetAsync($"/services/{one["id"]}/routes");
        Assert.Equal(route["id"]!.GetValue<string>(), Assert.Single(listed.Body!["data"]!.AsArray())!["id"]!.GetValue<string>());
        Assert.Empty((await node.GetAsync($"/services/{two["id"]}/routes")).Body!["data"]!.AsArray());
        AssertStatus(200, await node.GetAsync($"/services/{one["id"]}/routes/{route["id"]}"));
        AssertStatus(404, await node.GetAsync($"/services/{two["id"]}/routes/{route["id"]}"));

        var parent = await node.GetAsync($"/routes/{route["id"]}/service");
        AssertStatus(200, parent);
        Assert.Equal(one["name"]!.GetValue<string>(), parent.Body!["name"]!.GetValue<string>());
        AssertStatus(405, await node.DeleteAsync($"/routes/{route["id"]}/service"));
    }

    [Fact]
    public async Task Put_by_id_creates_then_replaces_with_defaults_for_omitted_fields()
    {
        var id = Guid.NewGuid().ToString();
        var created = await node.PutAsync($"/routes/{id}", new { paths = new[] { "/put" }, strip_path = false, tags = new[] { "x" } });
        AssertStatus(200, created);
        Assert.Equal(id, created.Body!["id"]!.GetValue<string>());
        Assert.False(created.Body["strip_path"]!.GetValue<bool>());

        var replaced = await node.PutAsync($"/routes/{id}", new { hosts = new[] { "put.test" } });
        AssertStatus(200, replaced);
        Assert.True(replaced.Body!["strip_path"]!.GetValue<bool>());
        Assert.Null(replaced.Body["paths"]);
        Assert.Null(replaced.Body["tags"]);
        Assert.Equal(created.Body["created_at"]!.GetValue<long>(), replaced.Body["created_at"]!.GetValue<long>());
    }

    [Fact]
    public async Task Put_by_name_writes_the_name_onto_the_entity()
    {
        var name = Unique("put");
        var created = await node.PutAsync($"/consumers/{name}", new { custom_id = name + "-c" });
        AssertStatus(200, created);
        Assert.Equal(name, created.Body!["username"]!.GetValue<string>());
        var replaced = await node.PutAsync($"/consumers/{name}", new { tags = new[] { "t" } });
        AssertStatus(200, replaced);
        Assert.Equal(created.Body["id"]!.GetValue<string>(), replaced.Body!["id"]!.GetValue<string>());
        Assert.Null(replaced.Body["custom_id"]);
    }

    [Fact]
    public async Task Patch_changes_only_the_given_fields()
    {
        var route = await node.CreateAsync("/routes", new { paths = new[] { "/patch" }, methods = new[] { "GET" } });
        var patched = await node.PatchAsync($"/routes/{route["id"]}", new { preserve_host = true });
        AssertStatus(200, patched);
        Assert.True(patched.Body!["preserve_host"]!.GetValue<bool>());
        Assert.Equal("GET", patched.Body["methods"]![0]!.GetValue<string>());
        AssertStatus(404, await node.PatchAsync($"/routes/{Guid.NewGuid()}", new { preserve_host = true }));
    }

    // ---- consumers ----

    [Fact]
    public async Task Consumer_needs_username_or_custom_id()
    {
        AssertViolation(await node.PostAsync("/consumers", new { tags = new[] { "a" } }), null,
            "at least one of these fields must be non-empty: 'custom_id', 'username'");
    }

    [Fact]
    public async Task Consumer_username_and_custom_id_are_unique()
    {
        var name = Unique("user");
        await node.CreateAsync("/consumers", new { username = name, custom_id = name });
        var byName = await node.PostAsync("/consumers", new { username = name });
        AssertStatus(409, byName);
        Assert.Equal($"UNIQUE violation detected on '{{username=\"{name}\"}}'", byName.Body!["message"]!.GetValue<string>());
        var byCustomId = await node.PostAsync("/consumers", new { custom_id = name });
        AssertStatus(409, byCustomId);
        Assert.Equal(name, byCustomId.Body!["fields"]!["custom_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Consumers_are_looked_up_by_exact_custom_id()
    {
        var customId = Unique("cid");
        var consumer = await node.CreateAsync("/consumers", new { custom_id = customId });
        await node.CreateAsync("/consumers", new { custom_id = customId + "x" });
        var found = await node.GetAsync($"/consumers?custom_id={customId}");
        AssertStatus(200, found);
        Assert.Equal(consumer["id"]!.GetValue<string>(), Assert.Single(found.Body!["data"]!.AsArray())!["id"]!.GetValue<string>());
        Assert.Empty((await node.GetAsync($"/consumers?custom_id={customId[..^1]}")).Body!["data"]!.AsArray());
        // By username in the path.
        AssertStatus(404, await node.GetAsync($"/consumers/{customId}"));
    }

    [Fact]
    public async Task Consumer_usernames_ignore_case_for_lookups_and_uniqueness()
    {
        var name = "Case-" + Guid.NewGuid().ToString("N")[..10].ToUpperInvariant();
        var consumer = await node.CreateAsync("/consumers", new { username = name });
        var id = consumer["id"]!.GetValue<string>();
        Assert.False(consumer.ContainsKey("username_lower"));
        var lower = await node.GetAsync($"/consumers/{name.ToLowerInvariant()}");
        AssertStatus(200, lower);
        Assert.Equal(id, lower.Body!["id"]!.GetValue<string>());
        Assert.Equal(name, lower.Body["username"]!.GetValue<string>());
        var filtered = await node.GetAsync($"/consumers?username={name.ToLowerInvariant()}");
        Assert.Equal(id, Assert.Single(filtered.Body!["data"]!.AsArray())!["id"]!.GetValue<string>());
        // References by username ignore case too.
        var scoped = await node.CreateAsync("/plugins", new { name = "rate-limiting", consumer = new { username = name.ToUpperInvariant() }, config = new { minute = 5 } });
        Assert.Equal(id, scoped["consumer"]!["id"]!.GetValue<string>());

        var clash = await node.PostAsync("/consumers", new { username = name.ToLowerInvariant() });
        AssertStatus(409, clash);
        Assert.Equal($"UNIQUE violation detected on '{{username=\"{name.ToLowerInvariant()}\"}}'", clash.Body!["message"]!.GetValue<string>());
        var other = await node.CreateAsync("/consumers", new { username = name + "-2" });
        AssertStatus(409, await node.PatchAsync($"/consumers/{other["id"]}", new { username = name.ToUpperInvariant() }));
        // Renaming a consumer to another casing of its own name is no clash, and the old casing still finds it.
        AssertStatus(200, await node.PatchAsync($"/consumers/{id}", new { username = name.ToUpperInvariant() }));
        Assert.Equal(name.ToUpperInvariant(), (await node.GetAsync($"/consumers/{name}")).Body!["username"]!.GetValue<string>());
        // Only ASCII letters fold, as the database's lower() under the C collation does.
        var accented = "É" + name;
        await node.CreateAsync("/consumers", new { username = accented });
        AssertStatus(201, await node.PostAsync("/consumers", new { username = "é" + name }));
    }

    // ---- upstreams and targets ----

    [Fact]
    public async Task Upstream_defaults_include_the_health_checks()
    {
        var upstream = await node.CreateAsync("/upstreams", new { name = Unique("up") + ".test" });
        Assert.Equal("round-robin", upstream["algorithm"]!.GetValue<string>());
        Assert.Equal("none", upstream["hash_on"]!.GetValue<string>());
        Assert.Equal("none", upstream["hash_fallback"]!.GetValue<string>());
        Assert.Equal("/", upstream["hash_on_cookie_path"]!.GetValue<string>());
        Assert.Equal(10000, upstream["slots"]!.GetValue<int>());
        Assert.False(upstream["use_srv_name"]!.GetValue<bool>());
        var checks = upstream["healthchecks"]!;
        Assert.Equal("http", checks["active"]!["type"]!.GetValue<string>());
        Assert.Equal(10, checks["active"]!["concurrency"]!.GetValue<int>());
        Assert.Equal("/", checks["active"]!["http_path"]!.GetValue<string>());
        Assert.Equal("[200,302]", checks["active"]!["healthy"]!["http_statuses"]!.ToJsonString());
        Assert.Equal("[429,404,500,501,502,503,504,505]", checks["active"]!["unhealthy"]!["http_statuses"]!.ToJsonString());
        Assert.Equal("[429,500,503]", checks["passive"]!["unhealthy"]!["http_statuses"]!.ToJsonString());
        Assert.Equal(0, checks["threshold"]!.GetValue<double>());
    }

    [Fact]
    public async Task Upstream_name_is_a_hostname_without_ip_or_port()
    {
        AssertViolation(await node.PostAsync("/upstreams", new { name = "10.0.0.1" }), "name", "Invalid name ('10.0.0.1'); no ip addresses allowed");
        AssertViolation(await node.PostAsync("/upstreams", new { name = "up.test:80" }), "name", "Invalid name ('up.test:80'); no port allowed");
    }

    [Fact]
    public async Task Upstream_slots_are_bounded()
    {
        AssertViolation(await node.PostAsync("/upstreams", new { name = Unique("up"), slots = 5 }), "slots", "value should be between 10 and 65536");
    }

    [Fact]
    public async Task Algorithm_follows_hash_on()
    {
        var hashed = await node.CreateAsync("/upstreams", new { name = Unique("up"), hash_on = "ip" });
        Assert.Equal("consistent-hashing", hashed["algorithm"]!.GetValue<string>());
        var unhashed = await node.PatchAsync($"/upstreams/{hashed["id"]}", new { hash_on = "none" });
        Assert.Equal("round-robin", unhashed.Body!["algorithm"]!.GetValue<string>());
        var latency = await node.CreateAsync("/upstreams", new { name = Unique("up"), algorithm = "latency", hash_on = "ip" });
        Assert.Equal("latency", latency["algorithm"]!.GetValue<string>());
        Assert.Equal("none", latency["hash_on"]!.GetValue<string>());
    }

    [Fact]
    public async Task Targets_default_their_port_and_bracket_ipv6()
    {
        var upstream = await node.CreateAsync("/upstreams", new { name = Unique("up") });
        var path = $"/upstreams/{upstream["id"]}/targets";
        var named = await node.CreateAsync(path, new { target = "backend.test" });
        Assert.Equal("backend.test:8000", named["target"]!.GetValue<string>());
        Assert.Equal(100, named["weight"]!.GetValue<int>());
        Assert.Equal(upstream["id"]!.GetValue<string>(), named["upstream"]!["id"]!.GetValue<string>());
        Assert.Equal(System.Text.Json.JsonValueKind.Number, named["created_at"]!.GetValueKind());
        Assert.Equal("[::1]:8000", (await node.CreateAsync(path, new { target = "::1" }))["target"]!.GetValue<string>());
        Assert.Equal("[::2]:81", (await node.CreateAsync(path, new { target = "[::2]:81" }))["target"]!.GetValue<string>());
        AssertViolation(await node.PostAsync(path, new { target = "bad host" }), "target", "Invalid target; not a valid hostname or ip address");
        AssertViolation(await node.PostAsync(path, new { target = "a.test", weight = 70000 }), "weight", "value should be between 0 and 65535");
    }

    [Fact]
    public async Task Target_is_unique_within_its_upstream()
    {
        var one = await node.CreateAsync("/upstreams", new { name = Unique("up") });
        var two = await node.CreateAsync("/upstreams", new { name = Unique("up") });
        await node.CreateAsync($"/upstreams/{one["id"]}/targets", new { target = "10.0.0.1:80" });
        var clash = await node.PostAsync($"/upstreams/{one["name"]}/targets", new { target = "10.0.0.1:80" });
        AssertStatus(409, clash);
        Assert.Equal(5, clash.Body!["code"]!.GetValue<int>());
        Assert.Equal($"UNIQUE violation detected on '{{upstream={{id=\"{one["id"]}\"}},target=\"10.0.0.1:80\"}}'", clash.Body["message"]!.GetValue<string>());

        // The same address under another upstream is another target, found under its own upstream.
        var other = await node.CreateAsync($"/upstreams/{two["id"]}/targets", new { target = "10.0.0.1:80" });
        var found = await node.GetAsync($"/upstreams/{two["id"]}/targets/10.0.0.1:80");
        AssertStatus(200, found);
        Assert.Equal(other["id"]!.GetValue<string>(), found.Body!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Targets_exist_only_under_their_upstream_and_go_with_it()
    {
        var upstream = await node.CreateAsync("/upstreams", new { name = Unique("up") });
        var target = await node.CreateAsync($"/upstreams/{upstream["id"]}/targets", new { target = "a.test:1" });
        Assert.Equal(new JsonObject { ["message"] = "Not found" }.ToJsonString(), (await node.GetAsync("/targets")).Body!.ToJsonString());
        AssertStatus(404, await node.GetAsync($"/targets/{target["id"]}"));
        AssertStatus(404, await node.PostAsync("/targets", new { target = "a.test", upstream = new { id = upstream["id"]!.GetValue<string>() } }));

        AssertStatus(204, await node.DeleteAsync($"/upstreams/{upstream["id"]}"));
        Assert.Equal(0, await node.Installation.CountAsync($"SELECT count(*) FROM targets WHERE id = '{target["id"]}'"));
    }

    // ---- certificates, SNIs, CA certificates ----

    [Fact]
    public async Task Certificate_snis_are_created_listed_and_address_the_certificate()
    {
        var pair = TestCertificates.Rsa();
        var a = Unique("a") + ".test";
        var b = Unique("b") + ".test";
        var certificate = await node.CreateAsync("/certificates", new { cert = pair.Cert, key = pair.Key, snis = new[] { b, a } });
        Assert.Equal(new JsonArray(a, b).ToJsonString(), certificate["snis"]!.ToJsonString());

        var byName = await node.GetAsync($"/certificates/{a}");
        AssertStatus(200, byName);
        Assert.Equal(certificate["id"]!.GetValue<string>(), byName.Body!["id"]!.GetValue<string>());
        var sni = await node.GetAsync($"/snis/{b}");
        Assert.Equal(certificate["id"]!.GetValue<string>(), sni.Body!["certificate"]!["id"]!.GetValue<string>());

        // Replacing the list replaces the SNI entities.
        var c = Unique("c") + ".test";
        var replaced = await node.PatchAsync($"/certificates/{certificate["id"]}", new { snis = new[] { c } });
        AssertStatus(200, replaced);
        Assert.Equal(new JsonArray(c).ToJsonString(), replaced.Body!["snis"]!.ToJsonString());
        AssertStatus(404, await node.GetAsync($"/snis/{a}"));

        // A name held by another certificate is refused.
        var other = TestCertificates.Ecdsa();
        AssertViolation(await node.PostAsync("/certificates", new { cert = other.Cert, key = other.Key, snis = new[] { c } }),
            "snis", $"{c} already associated with existing certificate '{certificate["id"]}'");

        // Deleting the certificate deletes its SNIs.
        AssertStatus(204, await node.DeleteAsync($"/certificates/{certificate["id"]}"));
        AssertStatus(404, await node.GetAsync($"/snis/{c}"));
    }

    [Fact]
    public async Task Certificate_key_must_match()
    {
        var one = TestCertificates.Rsa();
        var two = TestCertificates.Rsa();
        AssertViolation(await node.PostAsync("/certificates", new { cert = one.Cert, key = two.Key }), null, "certificate does not match key");
    }

    [Fact]
    public async Task Certificate_must_parse()
    {
        var response = await node.PostAsync("/certificates", new { cert = "not a certificate", key = TestCertificates.Rsa().Key });
        AssertStatus(400, response);
        Assert.StartsWith("invalid certificate", response.Body!["fields"]!["cert"]!.GetValue<string>());
    }

    [Fact]
    public async Task Alternative_certificate_comes_with_its_key_and_another_key_type()
    {
        var rsa = TestCertificates.Rsa();
        var ec = TestCertificates.Ecdsa();
        AssertViolation(await node.PostAsync("/certificates", new { cert = rsa.Cert, key = rsa.Key, cert_alt = ec.Cert }), null,
            "all or none of these fields must be set: 'cert_alt', 'key_alt'");
        var rsa2 = TestCertificates.Rsa();
        AssertViolation(await node.PostAsync("/certificates", new { cert = rsa.Cert, key = rsa.Key, cert_alt = rsa2.Cert, key_alt = rsa2.Key }), null,
            "certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type");
        var both = await node.CreateAsync("/certificates", new { cert = rsa.Cert, key = rsa.Key, cert_alt = ec.Cert, key_alt = ec.Key });
        Assert.Equal(ec.Cert, both["cert_alt"]!.GetValue<string>());
        Assert.Equal("[]", both["snis"]!.ToJsonString());
    }

    [Fact]
    public async Task Sni_names_are_globally_unique()
    {
        var pair = TestCertificates.Ecdsa();
        var certificate = await node.CreateAsync("/certificates", new { cert = pair.Cert, key = pair.Key });
        var name = Unique("sni") + ".test";
        await node.CreateAsync("/snis", new { name, certificate = new { id = certificate["id"]!.GetValue<string>() } });
        var clash = await node.PostAsync($"/certificates/{certificate["id"]}/snis", new { name });
        AssertStatus(409, clash);
        Assert.Equal($"UNIQUE violation detected on '{{name=\"{name}\"}}'", clash.Body!["message"]!.GetValue<string>());
        AssertViolation(await node.PostAsync("/snis", new { name = "a.*.test", certificate = new { id = certificate["id"]!.GetValue<string>() } }),
            "name", "wildcard must be leftmost or rightmost character");
    }

    [Fact]
    public async Task Ca_certificate_digest_is_computed_and_unique()
    {
        var ca = TestCertificates.Ca(subject: "CN=" + Unique("ca"));
        var created = await node.CreateAsync("/ca_certificates", new { cert = ca.Cert });
        Assert.Equal(TestCertificates.Sha256Hex(ca.Cert), created["cert_digest"]!.GetValue<string>());
        var clash = await node.PostAsync("/ca_certificates", new { cert = ca.Cert });
        AssertStatus(409, clash);
        Assert.Equal(created["cert_digest"]!.GetValue<string>(), clash.Body!["fields"]!["cert_digest"]!.GetValue<string>());
    }

    [Fact]
    public async Task Ca_certificate_used_by_a_service_cannot_be_deleted()
    {
        var ca = await node.CreateAsync("/ca_certificates", new { cert = TestCertificates.Ca(subject: "CN=" + Unique("ca")).Cert });
        var caId = ca["id"]!.GetValue<string>();
        var service = await node.CreateAsync("/services", new { host = "a.test", protocol = "https", ca_certificates = new[] { caId } });
        var refused = await node.DeleteAsync($"/ca_certificates/{caId}");
        AssertStatus(400, refused);
        Assert.Equal(19, refused.Body!["code"]!.GetValue<int>());
        Assert.Equal("referenced by others", refused.Body["name"]!.GetValue<string>());
        Assert.Equal($"ca certificate {caId} is still referenced by services (id = {service["id"]})", refused.Body["message"]!.GetValue<string>());

        AssertStatus(200, await node.PatchAsync($"/services/{service["id"]}", new { ca_certificates = Array.Empty<string>() }));
        AssertStatus(204, await node.DeleteAsync($"/ca_certificates/{caId}"));
        AssertStatus(404, await node.GetAsync($"/ca_certificates/{caId}"));
    }

    // ---- keys and key sets ----

    [Fact]
    public async Task Key_has_exactly_one_of_jwk_and_pem()
    {
        AssertViolation(await node.PostAsync("/keys", new { kid = "k" }), null, "at least one of these fields must be non-empty: 'jwk', 'pem'");
        var publicKey = System.Security.Cryptography.ECDsa.Create().ExportSubjectPublicKeyInfoPem();
        AssertViolation(await node.PostAsync("/keys", new { kid = "k", jwk = """{"kid":"k"}""", pem = new { public_key = publicKey } }), null,
            "only one or none of these fields must be set: 'jwk', 'pem'");
        var key = await node.CreateAsync("/keys", new { kid = Unique("k"), pem = new { public_key = publicKey } });
        Assert.Equal(publicKey, key["pem"]!["public_key"]!.GetValue<string>());
    }

    [Fact]
    public async Task Jwk_kid_must_equal_the_key_kid()
    {
        AssertViolation(await node.PostAsync("/keys", new { kid = "one", jwk = """{"kid":"two","kty":"oct"}""" }), null, "kid in jwk.kid must be equal to keys.kid");
    }

    [Fact]
    public async Task Keys_live_in_key_sets_unique_by_kid_and_go_with_the_set()
    {
        var set = await node.CreateAsync("/key-sets", new { name = Unique("set") });
        var kid = Unique("kid");
        var key = await node.CreateAsync($"/key-sets/{set["name"]}/keys", new { kid, jwk = $$"""{"kid":"{{kid}}","kty":"oct","k":"c2VjcmV0"}""" });
        Assert.Equal(set["id"]!.GetValue<string>(), key["set"]!["id"]!.GetValue<string>());
        var clash = await node.PostAsync($"/key-sets/{set["id"]}/keys", new { kid, jwk = $$"""{"kid":"{{kid}}","kty":"oct"}""" });
        AssertStatus(409, clash);
        Assert.Single((await node.GetAsync($"/key-sets/{set["id"]}/keys")).Body!["data"]!.AsArray());

        AssertStatus(204, await node.DeleteAsync($"/key-sets/{set["id"]}"));
        AssertStatus(404, await node.GetAsync($"/keys/{key["id"]}"));
    }

    // ---- vaults ----

    [Fact]
    public async Task Vault_prefix_may_not_be_a_vault_type()
    {
        AssertViolation(await node.PostAsync("/vaults", new { name = "env", prefix = "env" }), "prefix", "must not be one of: env");
    }

    [Fact]
    public async Task Vault_prefix_is_lowercase_with_hyphens()
    {
        AssertViolation(await node.PostAsync("/vaults", new { name = "env", prefix = "My_Env" }), "prefix", "invalid value: My_Env");
        var prefix = Unique("my-env");
        var vault = await node.CreateAsync("/vaults", new { name = "env", prefix, config = new { prefix = "GANTRY_" } });
        Assert.Equal("GANTRY_", vault["config"]!["prefix"]!.GetValue<string>());
        AssertStatus(200, await node.GetAsync($"/vaults/{prefix}"));
        AssertStatus(409, await node.PostAsync("/vaults", new { name = "env", prefix }));
    }

    [Fact]
    public async Task Vault_type_must_be_installed()
    {
        AssertViolation(await node.PostAsync("/vaults", new { name = "aws", prefix = Unique("v") }), "name", "vault 'aws' is not installed");
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class SqliteEntityRulesTests(SqliteAdminNode node) : EntityRulesTests(node), IClassFixture<SqliteAdminNode>;

[Collection(AdminApiCollection.Name)]
public sealed class PostgresEntityRulesTests(PostgresAdminNode node) : EntityRulesTests(node), IClassFixture<PostgresAdminNode>;
