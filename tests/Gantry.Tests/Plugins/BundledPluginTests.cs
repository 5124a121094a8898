using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gantry.Tests.Proxy;
using Gantry.Tests.Support;

namespace Gantry.Tests.Plugins;

/// <summary>
/// key-auth, rate-limiting, cors and correlation-id running in a node's proxy, configured through the
/// Admin API, in front of a real loopback upstream; on both stores.
/// </summary>
public abstract partial class BundledPluginTests(AdminNode node) : ProxyPluginTests(node)
{
    private async Task<(JsonObject Consumer, string Key, JsonObject Credential)> ConsumerAsync(string name, string? customId = null)
    {
        var consumer = await Node.CreateAsync("/consumers", customId is null ? new { username = Prefix + "-" + name } : new { username = Prefix + "-" + name, custom_id = customId });
        var credential = await Node.CreateAsync($"/consumers/{Prefix}-{name}/key-auth", new { key = $"{Prefix}-{name}-key" });
        return (consumer, $"{Prefix}-{name}-key", credential);
    }

    [Fact]
    public async Task Key_auth_refuses_without_a_valid_key_and_sends_the_consumer_upstream()
    {
        var path = await RouteAsync("keys");
        var (alice, key, credential) = await ConsumerAsync("alice", customId: Prefix + "-c1");
        await Node.CreateAsync($"/routes/{Prefix}-keys/plugins", new { name = "key-auth", config = new { hide_credentials = true } });

        var missing = await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.Unauthorized);
        Assert.Equal("No API key found in request", await Message(missing));
        Assert.Equal("Key", Header(missing, "WWW-Authenticate"));

        var wrong = await GetAsync(path, ("apikey", "not-a-key"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("Unauthorized", await Message(wrong));

        var ok = await GetAsync(path + "/x", ("apikey", key));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var upstream = await EchoedHeaders(ok);
        Assert.Equal(alice["id"]!.GetValue<string>(), upstream["x-consumer-id"]!.GetValue<string>());
        Assert.Equal(Prefix + "-alice", upstream["x-consumer-username"]!.GetValue<string>());
        Assert.Equal(Prefix + "-c1", upstream["x-consumer-custom-id"]!.GetValue<string>());
        Assert.Equal(credential["id"]!.GetValue<string>(), upstream["x-credential-identifier"]!.GetValue<string>());
        Assert.Null(upstream["apikey"]);
        Assert.Null(upstream["x-anonymous-consumer"]);

        // In the query string, hidden from the upstream while the other arguments stay.
        var query = await GetAsync($"{path}/q?a=1&apikey={key}&b=2");
        Assert.Equal(HttpStatusCode.OK, query.StatusCode);
        var echoedPath = JsonNode.Parse(await query.Content.ReadAsStringAsync())!["path"]!.GetValue<string>();
        Assert.Equal("/q?a=1&b=2", echoedPath);

        var duplicate = await GetAsync($"{path}?apikey={key}&apikey={key}");
        Assert.Equal(HttpStatusCode.Unauthorized, duplicate.StatusCode);
        Assert.Equal("Duplicate API key found", await Message(duplicate));

        // A disabled instance stops running.
        var plugin = (await Node.GetAsync($"/routes/{Prefix}-keys/plugins")).Body!["data"]![0]!["id"]!.GetValue<string>();
        Assert.Equal(200, (await Node.PatchAsync("/plugins/" + plugin, new { enabled = false })).Status);
        await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.OK);
    }

    [Fact]
    public async Task Key_auth_reads_a_key_from_a_form_or_json_body_and_can_hide_it()
    {
        var path = await RouteAsync("body");
        var (_, key, _) = await ConsumerAsync("erin");
        await Node.CreateAsync($"/routes/{Prefix}-body/plugins", new { name = "key-auth", config = new { key_in_body = true, hide_credentials = true } });
        await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.Unauthorized);

        async Task<HttpResponseMessage> PostAsync(HttpContent content) => await Client.PostAsync(Proxy + path, content);
        var form = await PostAsync(new FormUrlEncodedContent([new("a", "1"), new("apikey", key), new("b", "2")]));
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        Assert.Equal(Prefix + "-erin", (await EchoedHeaders(form))["x-consumer-username"]!.GetValue<string>());
        Assert.Equal("a=1&b=2", JsonNode.Parse(await form.Content.ReadAsStringAsync())!["body"]!.GetValue<string>());

        var json = await PostAsync(JsonContent.Create(new { apikey = key, keep = true }));
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Equal("{\"keep\":true}", JsonNode.Parse(await json.Content.ReadAsStringAsync())!["body"]!.GetValue<string>());

        var wrong = await PostAsync(JsonContent.Create(new { apikey = "nope" }));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    [Fact]
    public async Task A_chunked_body_past_the_plugins_read_limit_is_not_searched_and_reaches_the_upstream_whole()
    {
        var path = await RouteAsync("bigbody");
        await Node.CreateAsync("/consumers", new { username = Prefix + "-bigguest" });
        await Node.CreateAsync($"/routes/{Prefix}-bigbody/plugins", new { name = "key-auth", config = new { key_in_body = true, anonymous = Prefix + "-bigguest" } });
        await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.OK && r.Content.ReadAsStringAsync().Result.Contains("x-anonymous-consumer"));

        // 3 MiB of JSON without a length: read only up to the 1 MiB limit, then rewound and forwarded as sent.
        var body = "{\"apikey\":\"none\",\"pad\":\"" + new string('x', 3 << 20) + "\"}";
        var content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(body)));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var response = await Client.PostAsync(Proxy + path, content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echoed = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("true", echoed["headers"]!["x-anonymous-consumer"]!.GetValue<string>());
        Assert.Equal(body.Length, echoed["body"]!.GetValue<string>().Length);
        Assert.Equal(body, echoed["body"]!.GetValue<string>());
    }

    [Fact]
    public async Task Key_auth_with_an_anonymous_consumer_lets_unauthenticated_requests_through_as_that_consumer()
    {
        var path = await RouteAsync("anon");
        var (_, key, _) = await ConsumerAsync("bob");
        await Node.CreateAsync($"/routes/{Prefix}-anon/plugins", new { name = "key-auth", config = new { anonymous = Prefix + "-guest" } });

        // The anonymous consumer is named but does not exist yet: Kong's answer is a 500.
        await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.InternalServerError);

        var guest = await Node.CreateAsync("/consumers", new { username = Prefix + "-guest" });
        var anonymous = await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.OK);
        var headers = await EchoedHeaders(anonymous);
        Assert.Equal("true", headers["x-anonymous-consumer"]!.GetValue<string>());
        Assert.Equal(guest["id"]!.GetValue<string>(), headers["x-consumer-id"]!.GetValue<string>());
        Assert.Null(headers["x-credential-identifier"]);

        // A wrong key is also anonymous; a right one is the consumer itself, and the key is passed on.
        Assert.Equal("true", (await EchoedHeaders(await GetAsync(path, ("apikey", "wrong"))))["x-anonymous-consumer"]!.GetValue<string>());
        var known = await EchoedHeaders(await GetAsync(path, ("apikey", key)));
        Assert.Equal(Prefix + "-bob", known["x-consumer-username"]!.GetValue<string>());
        Assert.Null(known["x-anonymous-consumer"]);
        Assert.Equal(key, known["apikey"]!.GetValue<string>());
    }

    [Fact]
    public async Task Rate_limiting_counts_per_window_and_answers_429_with_kongs_headers_and_body()
    {
        var path = await RouteAsync("limited");
        // A day window: a test cannot straddle its boundary except at midnight UTC.
        await Node.CreateAsync($"/routes/{Prefix}-limited/plugins", new { name = "rate-limiting", config = new { day = 3, limit_by = "ip" } });
        var first = await UntilAsync(() => GetAsync(path), r => Header(r, "X-RateLimit-Limit-Day") == "3");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("2", Header(first, "X-RateLimit-Remaining-Day"));
        Assert.Equal("3", Header(first, "RateLimit-Limit"));
        Assert.Equal("2", Header(first, "RateLimit-Remaining"));
        var reset = int.Parse(Header(first, "RateLimit-Reset"));
        Assert.InRange(reset, 1, 86400);

        Assert.Equal("1", Header(await GetAsync(path), "X-RateLimit-Remaining-Day"));
        var last = await GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, last.StatusCode);
        Assert.Equal("0", Header(last, "X-RateLimit-Remaining-Day"));

        var refused = await GetAsync(path);
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.Equal("API rate limit exceeded", await Message(refused));
        Assert.Equal("0", Header(refused, "X-RateLimit-Remaining-Day"));
        Assert.InRange(int.Parse(Header(refused, "Retry-After")), 1, 86400);
        Assert.Equal("", Header(refused, "X-Upstream"));
    }

    [Fact]
    public async Task The_most_specific_instance_of_a_plugin_applies_route_service_consumer_and_global()
    {
        var r1a = await RouteAsync("r1a", service: Prefix + "-s1");
        var r1b = await RouteAsync("r1b", service: Prefix + "-s1");
        var r2 = await RouteAsync("r2", service: Prefix + "-s2");
        var (alice, aliceKey, _) = await ConsumerAsync("alice");
        var (_, bobKey, _) = await ConsumerAsync("bob");
        var auth = new { name = "key-auth" };
        await Node.CreateAsync($"/services/{Prefix}-s1/plugins", auth);
        await Node.CreateAsync($"/services/{Prefix}-s2/plugins", auth);
        // Each instance's limit names it in X-RateLimit-Limit-Day.
        object Limit(int day) => new { name = "rate-limiting", config = new { day } };
        var global = await Node.CreateAsync("/plugins", Limit(9000001));
        try
        {
            await Node.CreateAsync($"/services/{Prefix}-s1/plugins", Limit(9000007));
            await Node.CreateAsync($"/routes/{Prefix}-r1b/plugins", Limit(9000006));
            await Node.CreateAsync("/plugins", new { name = "rate-limiting", config = new { day = 9000005 }, consumer = new { id = alice["id"]!.GetValue<string>() } });
            await Node.CreateAsync("/plugins", new { name = "rate-limiting", config = new { day = 9000003 },
                consumer = new { id = alice["id"]!.GetValue<string>() }, service = new { id = (await Node.GetAsync($"/services/{Prefix}-s1")).Body!["id"]!.GetValue<string>() } });

            // The instance created last serving means every earlier one is in the snapshot too.
            await UntilAsync(() => GetAsync(r1a, ("apikey", aliceKey)), r => Header(r, "X-RateLimit-Limit-Day") == "9000003");
            async Task<string> LimitFor(string path, string key) => Header(await GetAsync(path, ("apikey", key)), "X-RateLimit-Limit-Day");

            Assert.Equal("9000007", await LimitFor(r1a, bobKey));   // service
            Assert.Equal("9000006", await LimitFor(r1b, bobKey));   // route beats service
            Assert.Equal("9000003", await LimitFor(r1b, aliceKey)); // service + consumer beats route
            Assert.Equal("9000005", await LimitFor(r2, aliceKey));  // consumer beats global
            Assert.Equal("9000001", await LimitFor(r2, bobKey));    // global
        }
        finally
        {
            await Node.DeleteAsync("/plugins/" + global["id"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Cors_answers_preflights_itself_and_adds_headers_for_allowed_origins_only()
    {
        var path = await RouteAsync("cors");
        await Node.CreateAsync($"/routes/{Prefix}-cors/plugins", new
        {
            name = "cors",
            config = new
            {
                origins = new[] { "http://good.example", @"https://[a-z]+\.trusted\.example" },
                methods = new[] { "GET", "POST" },
                max_age = 600,
                credentials = true,
                exposed_headers = new[] { "X-Upstream" },
            },
        });
        var preflight = await UntilAsync(
            () => SendAsync(HttpMethod.Options, path, ("Origin", "http://good.example"), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "X-Custom")),
            r => Header(r, "Access-Control-Allow-Methods") != "");
        Assert.Equal(HttpStatusCode.OK, preflight.StatusCode);
        Assert.Equal("http://good.example", Header(preflight, "Access-Control-Allow-Origin"));
        Assert.Equal("GET,POST", Header(preflight, "Access-Control-Allow-Methods"));
        Assert.Equal("X-Custom", Header(preflight, "Access-Control-Allow-Headers"));
        Assert.Equal("600", Header(preflight, "Access-Control-Max-Age"));
        Assert.Equal("true", Header(preflight, "Access-Control-Allow-Credentials"));
        Assert.Contains("Origin", Header(preflight, "Vary"));
        Assert.Equal("", Header(preflight, "X-Upstream")); // answered by Gantry, not forwarded
        Assert.Equal("", await preflight.Content.ReadAsStringAsync());

        var allowed = await GetAsync(path, ("Origin", "https://api.trusted.example"));
        Assert.Equal("echo", Header(allowed, "X-Upstream"));
        Assert.Equal("https://api.trusted.example", Header(allowed, "Access-Control-Allow-Origin"));
        Assert.Equal("X-Upstream", Header(allowed, "Access-Control-Expose-Headers"));
        Assert.Contains("Origin", Header(allowed, "Vary"));

        var refused = await GetAsync(path, ("Origin", "https://evil.example"));
        Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
        Assert.Equal("", Header(refused, "Access-Control-Allow-Origin"));
        // The regex matches the whole origin, not a part of it.
        Assert.Equal("", Header(await GetAsync(path, ("Origin", "https://api.trusted.example.evil.example")), "Access-Control-Allow-Origin"));
    }

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}#[0-9]+$")]
    private static partial Regex UuidCounter();

    [Fact]
    public async Task Correlation_id_sends_an_id_upstream_keeps_the_clients_and_echoes_it()
    {
        var path = await RouteAsync("corr");
        await Node.CreateAsync($"/routes/{Prefix}-corr/plugins", new { name = "correlation-id", config = new { echo_downstream = true } });
        var first = await UntilAsync(() => GetAsync(path), r => Header(r, "Kong-Request-ID") != "");
        var sent = (await EchoedHeaders(first))["kong-request-id"]!.GetValue<string>();
        Assert.Matches(UuidCounter(), sent);
        Assert.Equal(sent, Header(first, "Kong-Request-ID"));
        var second = (await EchoedHeaders(await GetAsync(path)))["kong-request-id"]!.GetValue<string>();
        Assert.NotEqual(sent, second);

        var kept = await GetAsync(path, ("Kong-Request-ID", "from-the-client"));
        Assert.Equal("from-the-client", (await EchoedHeaders(kept))["kong-request-id"]!.GetValue<string>());
        Assert.Equal("from-the-client", Header(kept, "Kong-Request-ID"));
    }

    [Fact]
    public async Task Basic_auth_and_acl_let_only_the_allowed_groups_consumers_through()
    {
        var path = await RouteAsync("groups");
        foreach (var (name, group) in new[] { ("carol", "gold"), ("dave", "silver") })
        {
            await Node.CreateAsync("/consumers", new { username = $"{Prefix}-{name}" });
            await Node.CreateAsync($"/consumers/{Prefix}-{name}/basic-auth", new { username = $"{Prefix}-{name}", password = "pw-" + name });
            await Node.CreateAsync($"/consumers/{Prefix}-{name}/acls", new { group });
        }
        await Node.CreateAsync($"/routes/{Prefix}-groups/plugins", new { name = "basic-auth", config = new { hide_credentials = true } });
        await Node.CreateAsync($"/routes/{Prefix}-groups/plugins", new { name = "acl", config = new { allow = new[] { "gold" } } });
        (string, string) Basic(string user, string password) => ("Authorization", "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{password}")));

        // acl (priority 950) runs after basic-auth (1100), which identified the consumer; dave's group is not allowed.
        var dave = await UntilAsync(() => GetAsync(path, Basic($"{Prefix}-dave", "pw-dave")), r => r.StatusCode == HttpStatusCode.Forbidden);
        Assert.Equal("You cannot consume this service", await Message(dave));
        var carol = await GetAsync(path, Basic($"{Prefix}-carol", "pw-carol"));
        Assert.Equal(HttpStatusCode.OK, carol.StatusCode);
        var upstream = await EchoedHeaders(carol);
        Assert.Equal("gold", upstream["x-consumer-groups"]!.GetValue<string>());
        Assert.Equal($"{Prefix}-carol", upstream["x-consumer-username"]!.GetValue<string>());
        Assert.Null(upstream["authorization"]);

        var wrong = await GetAsync(path, Basic($"{Prefix}-carol", "pw-dave"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("Basic realm=\"service\"", Header(wrong, "WWW-Authenticate"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task Ip_restriction_refuses_denied_addresses_and_those_outside_allow()
    {
        var path = await RouteAsync("ips");
        var plugin = await Node.CreateAsync($"/routes/{Prefix}-ips/plugins", new { name = "ip-restriction", config = new { deny = new[] { "127.0.0.1" } } });
        var denied = await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.Forbidden);
        Assert.Equal("IP address not allowed: 127.0.0.1", await Message(denied));
        var id = plugin["id"]!.GetValue<string>();
        Assert.Equal(200, (await Node.PatchAsync("/plugins/" + id, new { config = new { deny = (string[]?)null, allow = new[] { "127.0.0.0/8" } } })).Status);
        await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal(200, (await Node.PatchAsync("/plugins/" + id, new { config = new { allow = new[] { "10.0.0.0/8" }, status = 451, message = "not from here" } })).Status);
        var outside = await UntilAsync(() => GetAsync(path), r => (int)r.StatusCode == 451);
        Assert.Equal("not from here", await Message(outside));
    }

    [Fact]
    public async Task An_instance_runs_only_on_the_protocols_it_lists()
    {
        var path = await RouteAsync("https-only");
        await Node.CreateAsync($"/routes/{Prefix}-https-only/plugins", new { name = "key-auth", protocols = new[] { "https" } });
        await Node.CreateAsync($"/routes/{Prefix}-https-only/plugins", new { name = "correlation-id", config = new { echo_downstream = true } });
        // Once correlation-id runs, the key-auth instance is in the snapshot too, yet plain HTTP passes.
        var response = await UntilAsync(() => GetAsync(path), r => Header(r, "Kong-Request-ID") != "");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class SqliteBundledPluginTests(SqliteProxyNode node) : BundledPluginTests(node), IClassFixture<SqliteProxyNode>;

[Collection(AdminApiCollection.Name)]
public sealed class PostgresBundledPluginTests(PostgresProxyNode node) : BundledPluginTests(node), IClassFixture<PostgresProxyNode>;

public sealed class SqliteProxyNode() : AdminNode("sqlite")
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["GANTRY_DB_UPDATE_FREQUENCY"] = "0.2" };
}

public sealed class PostgresProxyNode() : AdminNode("postgres")
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["GANTRY_DB_UPDATE_FREQUENCY"] = "0.2" };
}
