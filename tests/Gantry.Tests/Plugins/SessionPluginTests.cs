using System.Net;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;

namespace Gantry.Tests.Plugins;

/// <summary>
/// The session plugin in a node's proxy in front of a real loopback upstream: key-auth (with an anonymous
/// consumer, as Kong's session setup has it) authenticates once, the cookie then authenticates alone, is
/// refused when tampered with, expired or presented by another client, and logout clears it; on both stores.
/// </summary>
public abstract class SessionPluginTests(AdminNode node) : ProxyPluginTests(node)
{
    /// <summary>A route behind key-auth with an anonymous consumer and the session plugin; returns the path.</summary>
    private async Task<string> GuardedRouteAsync(string name, object session)
    {
        var path = await RouteAsync(name);
        var anonymous = await Node.CreateAsync("/consumers", new { username = $"{Prefix}-{name}-anonymous" });
        await Node.CreateAsync("/consumers", new { username = $"{Prefix}-{name}-alice" });
        await Node.CreateAsync($"/consumers/{Prefix}-{name}-alice/key-auth", new { key = $"{Prefix}-{name}-key" });
        await Node.CreateAsync($"/routes/{Prefix}-{name}/plugins", new { name = "key-auth", config = new { anonymous = anonymous["id"]!.GetValue<string>() } });
        await Node.CreateAsync($"/routes/{Prefix}-{name}/plugins", new { name = "session", config = session });
        return path;
    }

    private static string CookieOf(HttpResponseMessage response, string name = "session")
    {
        var header = response.Headers.TryGetValues("Set-Cookie", out var values) ? values.SingleOrDefault(v => v.StartsWith(name + "=")) : null;
        Assert.True(header is not null, $"no {name} cookie was set");
        return header![..header.IndexOf(';')];
    }

    private static async Task<string?> ConsumerSeen(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var headers = await EchoedHeaders(response);
        return headers["x-anonymous-consumer"] is not null ? null : headers["x-consumer-username"]?.GetValue<string>();
    }

    [Fact]
    public async Task A_key_authenticated_request_gets_a_cookie_that_alone_authenticates_later_requests_until_logout()
    {
        var path = await GuardedRouteAsync("login", new { response_headers = new[] { "id", "timeout" }, request_headers = new[] { "subject" } });
        var first = await UntilAsync(() => GetAsync(path, ("apikey", $"{Prefix}-login-key")), r => r.Headers.Contains("Set-Cookie"));
        Assert.Equal($"{Prefix}-login-alice", await ConsumerSeen(first));
        var setCookie = first.Headers.GetValues("Set-Cookie").Single();
        Assert.EndsWith("; Path=/; SameSite=Strict; HttpOnly; Secure", setCookie);
        Assert.NotEqual("", Header(first, "Session-Id"));
        Assert.InRange(int.Parse(Header(first, "Session-Timeout")), 890, 900);
        var cookie = CookieOf(first);

        // The cookie alone: the session plugin authenticates, key-auth (anonymous set) lets it pass.
        var again = await GetAsync(path, ("Cookie", cookie));
        Assert.Equal($"{Prefix}-login-alice", await ConsumerSeen(again));
        var alice = await Node.GetAsync($"/consumers/{Prefix}-login-alice");
        Assert.Equal(alice.Body!["id"]!.GetValue<string>(), (await EchoedHeaders(again))["session-subject"]!.GetValue<string>());
        Assert.Equal(Header(first, "Session-Id"), Header(again, "Session-Id"));

        // Without it, or with a cookie altered by one character, the request is the anonymous consumer's.
        Assert.Null(await ConsumerSeen(await GetAsync(path)));
        var value = cookie["session=".Length..];
        var altered = "session=" + value[..10] + (value[10] == 'A' ? 'B' : 'A') + value[11..];
        Assert.Null(await ConsumerSeen(await GetAsync(path, ("Cookie", altered))));
        Assert.Null(await ConsumerSeen(await GetAsync(path, ("Cookie", "session=%%%not-base64"))));

        // A POST without the logout argument goes upstream; DELETE with it ends the session without the upstream.
        var post = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, Proxy + path) { Headers = { { "Cookie", cookie } }, Content = new StringContent("x") });
        Assert.Equal($"{Prefix}-login-alice", await ConsumerSeen(post));
        var logout = await SendAsync(HttpMethod.Delete, path + "?session_logout=true", ("Cookie", cookie));
        Assert.Equal(HttpStatusCode.OK, logout.StatusCode);
        Assert.Equal("", await logout.Content.ReadAsStringAsync());
        Assert.Equal("", Header(logout, "X-Upstream"));
        Assert.Contains("session=; Path=/", logout.Headers.GetValues("Set-Cookie").Single());
        Assert.Contains("Max-Age=0", logout.Headers.GetValues("Set-Cookie").Single());
    }

    [Fact]
    public async Task A_cookie_expires_when_idle_and_opens_only_for_the_client_it_is_bound_to()
    {
        var path = await GuardedRouteAsync("idle", new { idling_timeout = 2, bind = new[] { "ip", "user-agent" }, cookie_same_site = "Lax", cookie_secure = false });
        var first = await UntilAsync(() => GetAsync(path, ("apikey", $"{Prefix}-idle-key"), ("User-Agent", "tester/1")), r => r.Headers.Contains("Set-Cookie"));
        Assert.EndsWith("; Path=/; SameSite=Lax; HttpOnly", first.Headers.GetValues("Set-Cookie").Single());
        var cookie = CookieOf(first);
        Assert.Equal($"{Prefix}-idle-alice", await ConsumerSeen(await GetAsync(path, ("Cookie", cookie), ("User-Agent", "tester/1"))));
        Assert.Null(await ConsumerSeen(await GetAsync(path, ("Cookie", cookie), ("User-Agent", "other/2"))));

        await Task.Delay(TimeSpan.FromSeconds(3.2));
        Assert.Null(await ConsumerSeen(await GetAsync(path, ("Cookie", cookie), ("User-Agent", "tester/1"))));
    }

    [Fact]
    public async Task A_secret_is_generated_per_instance_and_server_side_storage_is_refused_with_a_schema_violation()
    {
        await RouteAsync("schema");
        var one = await Node.CreateAsync($"/routes/{Prefix}-schema/plugins", new { name = "session" });
        var secret = one["config"]!["secret"]!.GetValue<string>();
        Assert.Equal(32, secret.Length);
        Assert.Equal("cookie", one["config"]!["storage"]!.GetValue<string>());
        Assert.Equal(new[] { "POST", "DELETE" }, one["config"]!["logout_methods"]!.AsArray().Select(v => v!.GetValue<string>()));
        await Node.DeleteAsync("/plugins/" + one["id"]!.GetValue<string>());
        var two = await Node.CreateAsync($"/routes/{Prefix}-schema/plugins", new { name = "session" });
        Assert.NotEqual(secret, two["config"]!["secret"]!.GetValue<string>());
        await Node.DeleteAsync("/plugins/" + two["id"]!.GetValue<string>());

        var (status, error) = await Node.PostJsonAsync($"/routes/{Prefix}-schema/plugins", new JsonObject { ["name"] = "session", ["config"] = new JsonObject { ["storage"] = "kong" } });
        Assert.Equal(400, status);
        Assert.Equal("'kong' storage is not supported by Gantry: sessions are kept in the cookie (use 'cookie')", error!["fields"]!["config"]!["storage"]!.GetValue<string>());
        (status, error) = await Node.PostJsonAsync($"/routes/{Prefix}-schema/plugins", new JsonObject { ["name"] = "session", ["config"] = new JsonObject { ["cookie_same_site"] = "Sometimes" } });
        Assert.Equal(400, status);
        Assert.Equal("expected one of: Strict, Lax, None, Default", error!["fields"]!["config"]!["cookie_same_site"]!.GetValue<string>());
    }

    [Fact]
    public async Task Kongs_older_cookie_names_are_stored_under_the_current_fields()
    {
        await RouteAsync("old-names");
        var (status, plugin) = await Node.PostJsonAsync($"/routes/{Prefix}-old-names/plugins", new JsonObject
        {
            ["name"] = "session",
            ["config"] = new JsonObject
            {
                ["cookie_lifetime"] = 60, ["cookie_idletime"] = null, ["cookie_renew"] = 30, ["cookie_discard"] = 5,
                ["cookie_samesite"] = "off", ["cookie_httponly"] = false, ["cookie_persistent"] = true,
            },
        });
        Assert.Equal(201, status);
        var config = plugin!["config"]!.AsObject();
        Assert.Equal(60, config["rolling_timeout"]!.GetValue<double>());
        Assert.Equal(0, config["idling_timeout"]!.GetValue<double>());
        Assert.Equal(5, config["stale_ttl"]!.GetValue<double>());
        Assert.Equal("Lax", config["cookie_same_site"]!.GetValue<string>());
        Assert.False(config["cookie_http_only"]!.GetValue<bool>());
        Assert.True(config["remember"]!.GetValue<bool>());
        Assert.DoesNotContain(config, field => field.Key is "cookie_lifetime" or "cookie_idletime" or "cookie_renew" or "cookie_discard" or "cookie_samesite" or "cookie_httponly" or "cookie_persistent");
        await Node.DeleteAsync("/plugins/" + plugin["id"]!.GetValue<string>());
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class SqliteSessionPluginTests(SqliteProxyNode node) : SessionPluginTests(node), IClassFixture<SqliteProxyNode>;

[Collection(AdminApiCollection.Name)]
public sealed class PostgresSessionPluginTests(PostgresProxyNode node) : SessionPluginTests(node), IClassFixture<PostgresProxyNode>;
