using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;

namespace Gantry.Tests.Plugins;

/// <summary>
/// oauth2 end to end on a node with a plain and a TLS proxy listener, in front of a real loopback upstream:
/// each grant through /oauth2/authorize and /oauth2/token, refreshes, expiry, the HTTPS requirement,
/// provision keys, client secrets (hashed too), scopes, and the bearer check; on both stores.
/// </summary>
public abstract class OAuth2Tests(OAuth2Node node) : ProxyPluginTests(node)
{
    protected static readonly HttpClient Tls = new(new SocketsHttpHandler
    {
        UseCookies = false,
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
    }) { Timeout = TimeSpan.FromSeconds(30) };

    private string Secure => "https://" + node.TlsListen;

    /// <summary>A route with an oauth2 instance, a consumer and an application; waits until the proxy runs the instance.</summary>
    private async Task<(string Path, JsonObject Plugin)> OAuth2RouteAsync(string name, object config, object? application = null)
    {
        var path = await RouteAsync(name);
        var plugin = await Node.CreateAsync($"/routes/{Prefix}-{name}/plugins", new { name = "oauth2", config });
        await Node.CreateAsync("/consumers", new { username = $"{Prefix}-{name}-user" });
        await Node.CreateAsync($"/consumers/{Prefix}-{name}-user/oauth2", application ?? new
        {
            name = "app",
            client_id = $"{Prefix}-{name}-client",
            client_secret = "s3cret",
            redirect_uris = new[] { "https://app.example/cb" },
        });
        // Once the instance and the application are served, a made-up refresh token is the only thing wrong.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var probe = await PostAsync(Secure + path + "/oauth2/token", ("grant_type", "refresh_token"), ("client_id", $"{Prefix}-{name}-client"),
                ("client_secret", "s3cret"), ("refresh_token", "none"));
            if (probe.Body["error_description"]?.GetValue<string>() == "Invalid refresh_token")
                break;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the proxy still answers {(int)probe.Response.StatusCode}: {probe.Body.ToJsonString()}");
            await Task.Delay(50);
        }
        return (path, plugin);
    }

    private static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => KeyValuePair.Create(f.Name, f.Value)));

    private async Task<(HttpResponseMessage Response, JsonObject Body)> PostAsync(string url, params (string Name, string Value)[] fields)
    {
        var response = await (url.StartsWith("https:", StringComparison.Ordinal) ? Tls : Client).PostAsync(url, Form(fields));
        return (response, (JsonNode.Parse(await response.Content.ReadAsStringAsync()) as JsonObject)!);
    }

    private static void AssertError(HttpResponseMessage response, JsonObject body, int status, string error, string description)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(error, body["error"]!.GetValue<string>());
        Assert.Equal(description, body["error_description"]!.GetValue<string>());
    }

    private Task<HttpResponseMessage> GetWithTokenAsync(string path, string token) => GetAsync(path, ("Authorization", "Bearer " + token));

    [Fact]
    public async Task Client_credentials_need_https_the_right_secret_and_known_scopes_and_the_token_opens_the_route()
    {
        var (path, _) = await OAuth2RouteAsync("cc", new { enable_client_credentials = true, scopes = new[] { "email", "phone" } });
        var client = $"{Prefix}-cc-client";
        var token = Secure + path + "/oauth2/token";

        // Plain HTTP, even claiming TLS ended before Gantry, without accept_http_if_already_terminated.
        var plain = await PostAsync(Proxy + path + "/oauth2/token", ("grant_type", "client_credentials"), ("client_id", client), ("client_secret", "s3cret"));
        AssertError(plain.Response, plain.Body, 400, "access_denied", "You must use HTTPS");
        using (var claimed = new HttpRequestMessage(HttpMethod.Post, Proxy + path + "/oauth2/token"))
        {
            claimed.Content = Form(("grant_type", "client_credentials"), ("client_id", client), ("client_secret", "s3cret"));
            claimed.Headers.Add("X-Forwarded-Proto", "https");
            Assert.Equal(HttpStatusCode.BadRequest, (await Client.SendAsync(claimed)).StatusCode);
        }

        var wrong = await PostAsync(token, ("grant_type", "client_credentials"), ("client_id", client), ("client_secret", "nope"));
        AssertError(wrong.Response, wrong.Body, 400, "invalid_client", "Invalid client authentication");
        using (var basic = new HttpRequestMessage(HttpMethod.Post, token))
        {
            basic.Content = Form(("grant_type", "client_credentials"));
            basic.Headers.Add("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(client + ":nope")));
            var refused = await Tls.SendAsync(basic);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("Basic realm=\"OAuth2.0\"", Header(refused, "WWW-Authenticate"));
        }
        var unknownGrant = await PostAsync(token, ("grant_type", "password"), ("client_id", client), ("client_secret", "s3cret"));
        AssertError(unknownGrant.Response, unknownGrant.Body, 400, "unsupported_grant_type", "Invalid grant_type");
        var badScope = await PostAsync(token, ("grant_type", "client_credentials"), ("client_id", client), ("client_secret", "s3cret"), ("scope", "email admin"));
        AssertError(badScope.Response, badScope.Body, 400, "invalid_scope", "\"admin\" is an invalid scope");

        var issued = await PostAsync(token, ("grant_type", "client_credentials"), ("client_id", client), ("client_secret", "s3cret"), ("scope", "email"), ("state", "st"));
        Assert.Equal(HttpStatusCode.OK, issued.Response.StatusCode);
        Assert.Equal("no-store", Header(issued.Response, "Cache-Control"));
        Assert.Equal("bearer", issued.Body["token_type"]!.GetValue<string>());
        Assert.Equal(7200, issued.Body["expires_in"]!.GetValue<int>());
        Assert.Equal("st", issued.Body["state"]!.GetValue<string>());
        Assert.Null(issued.Body["refresh_token"]);
        var accessToken = issued.Body["access_token"]!.GetValue<string>();
        Assert.Equal(32, accessToken.Length);

        // The token is a row the Admin API serves.
        var (status, row) = await Node.GetAsync("/oauth2_tokens/" + accessToken);
        Assert.Equal(200, status);
        Assert.Equal("email", row!["scope"]!.GetValue<string>());

        // Plain HTTP carries tokens; only the endpoints need TLS.
        var opened = await GetAsync(path + "/x", ("Authorization", "Bearer " + accessToken), ("X-Authenticated-Userid", "spoofed"));
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
        var headers = await EchoedHeaders(opened);
        Assert.Equal($"{Prefix}-cc-user", headers["x-consumer-username"]!.GetValue<string>());
        Assert.Equal("email", headers["x-authenticated-scope"]!.GetValue<string>());
        Assert.Null(headers["x-authenticated-userid"]);
        Assert.Equal("Bearer " + accessToken, headers["authorization"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(path + "?access_token=" + accessToken)).StatusCode);
        var inForm = await Client.PostAsync(Proxy + path, Form(("access_token", accessToken), ("a", "b")));
        Assert.Equal(HttpStatusCode.OK, inForm.StatusCode);

        var missing = await GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("Bearer realm=\"service\"", Header(missing, "WWW-Authenticate"));
        var missingBody = JsonNode.Parse(await missing.Content.ReadAsStringAsync())!.AsObject();
        AssertError(missing, missingBody, 401, "invalid_request", "The access token is missing");
        var forged = await GetWithTokenAsync(path, "0123456789abcdef0123456789abcdef");
        AssertError(forged, JsonNode.Parse(await forged.Content.ReadAsStringAsync())!.AsObject(), 401, "invalid_token", "The access token is invalid or has expired");
        Assert.Equal("Bearer realm=\"service\" error=\"invalid_token\" error_description=\"The access token is invalid or has expired\"", Header(forged, "WWW-Authenticate"));

        // A token is bound to the service it was issued on.
        var (other, _) = await OAuth2RouteAsync("cc-other", new { enable_client_credentials = true });
        var elsewhere = await GetWithTokenAsync(other, accessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, elsewhere.StatusCode);
    }

    [Fact]
    public async Task Password_grant_checks_the_provision_key_and_a_hashed_secret_and_refreshes_once()
    {
        var (path, _) = await OAuth2RouteAsync("pw", new { enable_password_grant = true, provision_key = "pk-right", hide_credentials = true }, new
        {
            name = "app",
            client_id = $"{Prefix}-pw-client",
            client_secret = "s3cret",
            hash_secret = true,
        });
        var client = $"{Prefix}-pw-client";
        var stored = (await Node.GetAsync($"/consumers/{Prefix}-pw-user/oauth2/{client}")).Body!;
        Assert.StartsWith("$pbkdf2-sha512$", stored["client_secret"]!.GetValue<string>());
        var token = Secure + path + "/oauth2/token";
        var version = await ConfigurationVersionAsync();

        var badKey = await PostAsync(token, ("grant_type", "password"), ("client_id", client), ("client_secret", "s3cret"), ("provision_key", "pk-wrong"), ("authenticated_userid", "u1"));
        AssertError(badKey.Response, badKey.Body, 400, "invalid_provision_key", "Invalid provision_key");
        var noUser = await PostAsync(token, ("grant_type", "password"), ("client_id", client), ("client_secret", "s3cret"), ("provision_key", "pk-right"));
        AssertError(noUser.Response, noUser.Body, 400, "invalid_authenticated_userid", "Missing authenticated_userid parameter");
        var wrongSecret = await PostAsync(token, ("grant_type", "password"), ("client_id", client), ("client_secret", stored["client_secret"]!.GetValue<string>()),
            ("provision_key", "pk-right"), ("authenticated_userid", "u1"));
        AssertError(wrongSecret.Response, wrongSecret.Body, 400, "invalid_client", "Invalid client authentication");

        var issued = await PostAsync(token, ("grant_type", "password"), ("client_id", client), ("client_secret", "s3cret"), ("provision_key", "pk-right"), ("authenticated_userid", "u1"));
        Assert.Equal(HttpStatusCode.OK, issued.Response.StatusCode);
        var access = issued.Body["access_token"]!.GetValue<string>();
        var refresh = issued.Body["refresh_token"]!.GetValue<string>();
        var opened = await GetWithTokenAsync(path, access);
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
        var headers = await EchoedHeaders(opened);
        Assert.Equal("u1", headers["x-authenticated-userid"]!.GetValue<string>());
        // hide_credentials: the upstream never sees the token.
        Assert.Null(headers["authorization"]);

        var stolen = await PostAsync(token, ("grant_type", "refresh_token"), ("client_id", client), ("client_secret", "nope"), ("refresh_token", refresh));
        AssertError(stolen.Response, stolen.Body, 400, "invalid_client", "Invalid client authentication");
        var refreshed = await PostAsync(token, ("grant_type", "refresh_token"), ("client_id", client), ("client_secret", "s3cret"), ("refresh_token", refresh));
        Assert.Equal(HttpStatusCode.OK, refreshed.Response.StatusCode);
        var newAccess = refreshed.Body["access_token"]!.GetValue<string>();
        Assert.NotEqual(access, newAccess);
        Assert.NotEqual(refresh, refreshed.Body["refresh_token"]!.GetValue<string>());
        Assert.Equal("u1", (await EchoedHeaders(await GetWithTokenAsync(path, newAccess)))["x-authenticated-userid"]!.GetValue<string>());
        // The refreshed token and its refresh token are gone.
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetWithTokenAsync(path, access)).StatusCode);
        Assert.Equal(404, (await Node.GetAsync("/oauth2_tokens/" + access)).Status);
        var again = await PostAsync(token, ("grant_type", "refresh_token"), ("client_id", client), ("client_secret", "s3cret"), ("refresh_token", refresh));
        AssertError(again.Response, again.Body, 400, "invalid_request", "Invalid refresh_token");

        // Tokens written and deleted never rebuilt the node's configuration.
        await Task.Delay(600);
        Assert.Equal(version, await ConfigurationVersionAsync());
    }

    private async Task<long> ConfigurationVersionAsync() =>
        JsonNode.Parse(await Client.GetStringAsync("http://" + Node.Installation.Environment["GANTRY_STATUS_LISTEN"] + "/status"))!["configuration"]!["version"]!.GetValue<long>();

    [Fact]
    public async Task Authorization_code_with_pkce_and_the_implicit_grant_go_through_authorize()
    {
        var (path, _) = await OAuth2RouteAsync("code", new
        {
            enable_authorization_code = true,
            enable_implicit_grant = true,
            provision_key = "pk-code",
            scopes = new[] { "read", "write" },
            mandatory_scope = true,
            reuse_refresh_token = true,
        });
        var client = $"{Prefix}-code-client";
        var authorize = Secure + path + "/oauth2/authorize";
        var token = Secure + path + "/oauth2/token";
        var verifier = "a-verifier-long-enough-for-rfc-7636-0123456789";
        var challenge = Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        var badKey = await PostAsync(authorize, ("response_type", "code"), ("client_id", client), ("provision_key", "nope"), ("authenticated_userid", "u7"), ("scope", "read"));
        AssertError(badKey.Response, badKey.Body, 400, "invalid_provision_key", "Invalid provision_key");
        var noScope = await PostAsync(authorize, ("response_type", "code"), ("client_id", client), ("provision_key", "pk-code"), ("authenticated_userid", "u7"));
        Assert.Equal(HttpStatusCode.BadRequest, noScope.Response.StatusCode);
        Assert.StartsWith("https://app.example/cb?error=invalid_scope&error_description=You%20must%20specify%20a%20scope", noScope.Body["redirect_uri"]!.GetValue<string>());
        var elsewhere = await PostAsync(authorize, ("response_type", "code"), ("client_id", client), ("provision_key", "pk-code"), ("authenticated_userid", "u7"),
            ("scope", "read"), ("redirect_uri", "https://evil.example/cb"));
        AssertError(elsewhere.Response, elsewhere.Body, 400, "invalid_request", "Invalid redirect_uri that does not match with any redirect_uri created with the application");

        var authorized = await PostAsync(authorize, ("response_type", "code"), ("client_id", client), ("provision_key", "pk-code"), ("authenticated_userid", "u7"),
            ("scope", "read write"), ("state", "xyz"), ("code_challenge", challenge), ("code_challenge_method", "S256"));
        Assert.Equal(HttpStatusCode.OK, authorized.Response.StatusCode);
        var redirect = new Uri(authorized.Body["redirect_uri"]!.GetValue<string>());
        Assert.Equal("https://app.example/cb", redirect.GetLeftPart(UriPartial.Path));
        var query = System.Web.HttpUtility.ParseQueryString(redirect.Query);
        Assert.Equal("xyz", query["state"]);
        var code = query["code"]!;

        var noVerifier = await PostAsync(token, ("grant_type", "authorization_code"), ("client_id", client), ("client_secret", "s3cret"), ("code", code));
        AssertError(noVerifier.Response, noVerifier.Body, 400, "invalid_request", "code_verifier is required for PKCE authorization requests");
        var wrongVerifier = await PostAsync(token, ("grant_type", "authorization_code"), ("client_id", client), ("client_secret", "s3cret"), ("code", code), ("code_verifier", "other"));
        AssertError(wrongVerifier.Response, wrongVerifier.Body, 400, "invalid_grant", "code_verifier is invalid");
        var exchanged = await PostAsync(token, ("grant_type", "authorization_code"), ("client_id", client), ("client_secret", "s3cret"), ("code", code), ("code_verifier", verifier));
        Assert.Equal(HttpStatusCode.OK, exchanged.Response.StatusCode);
        var reused = await PostAsync(token, ("grant_type", "authorization_code"), ("client_id", client), ("client_secret", "s3cret"), ("code", code), ("code_verifier", verifier));
        AssertError(reused.Response, reused.Body, 400, "invalid_request", "Invalid code");
        var headers = await EchoedHeaders(await GetWithTokenAsync(path, exchanged.Body["access_token"]!.GetValue<string>()));
        Assert.Equal("read write", headers["x-authenticated-scope"]!.GetValue<string>());
        Assert.Equal("u7", headers["x-authenticated-userid"]!.GetValue<string>());

        // reuse_refresh_token: the refresh token stays the same across refreshes.
        var refresh = exchanged.Body["refresh_token"]!.GetValue<string>();
        var refreshed = await PostAsync(token, ("grant_type", "refresh_token"), ("client_id", client), ("client_secret", "s3cret"), ("refresh_token", refresh));
        Assert.Equal(HttpStatusCode.OK, refreshed.Response.StatusCode);
        Assert.Equal(refresh, refreshed.Body["refresh_token"]!.GetValue<string>());
        Assert.Equal("read write", (await EchoedHeaders(await GetWithTokenAsync(path, refreshed.Body["access_token"]!.GetValue<string>())))["x-authenticated-scope"]!.GetValue<string>());

        // The implicit grant: the token comes back in the redirect's fragment, without a refresh token.
        var implicitGrant = await PostAsync(authorize, ("response_type", "token"), ("client_id", client), ("provision_key", "pk-code"), ("authenticated_userid", "u8"),
            ("scope", "read"), ("state", "s2"));
        Assert.Equal(HttpStatusCode.OK, implicitGrant.Response.StatusCode);
        var fragment = new Uri(implicitGrant.Body["redirect_uri"]!.GetValue<string>()).Fragment.TrimStart('#');
        var parts = System.Web.HttpUtility.ParseQueryString(fragment);
        Assert.Equal("bearer", parts["token_type"]);
        Assert.Equal("s2", parts["state"]);
        Assert.Null(parts["refresh_token"]);
        Assert.Equal("u8", (await EchoedHeaders(await GetWithTokenAsync(path, parts["access_token"]!)))["x-authenticated-userid"]!.GetValue<string>());
    }

    [Fact]
    public async Task Tokens_expire_and_terminated_tls_is_believed_only_when_configured()
    {
        var (path, plugin) = await OAuth2RouteAsync("exp", new { enable_client_credentials = true, token_expiration = 1, accept_http_if_already_terminated = true });
        var client = $"{Prefix}-exp-client";
        using var claimed = new HttpRequestMessage(HttpMethod.Post, Proxy + path + "/oauth2/token");
        claimed.Content = Form(("grant_type", "client_credentials"), ("client_id", client), ("client_secret", "s3cret"));
        claimed.Headers.Add("X-Forwarded-Proto", "https");
        var issued = await Client.SendAsync(claimed);
        Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
        var body = JsonNode.Parse(await issued.Content.ReadAsStringAsync())!;
        Assert.Equal(1, body["expires_in"]!.GetValue<int>());
        var access = body["access_token"]!.GetValue<string>();
        // Without the header, plain HTTP is still refused.
        var plain = await PostAsync(Proxy + path + "/oauth2/token", ("grant_type", "client_credentials"), ("client_id", client), ("client_secret", "s3cret"));
        AssertError(plain.Response, plain.Body, 400, "access_denied", "You must use HTTPS");

        var expired = await UntilAsync(() => GetWithTokenAsync(path, access), r => r.StatusCode == HttpStatusCode.Unauthorized);
        AssertError(expired, JsonNode.Parse(await expired.Content.ReadAsStringAsync())!.AsObject(), 401, "invalid_token", "The access token is invalid or has expired");
        Assert.Contains("error=\"invalid_token\"", Header(expired, "WWW-Authenticate"));
        Assert.NotNull(plugin["config"]!["provision_key"]);
    }

    [Fact]
    public async Task An_anonymous_consumer_stands_in_for_a_request_without_a_token()
    {
        await Node.CreateAsync("/consumers", new { username = $"{Prefix}-guest" });
        var (path, _) = await OAuth2RouteAsync("anon", new { enable_client_credentials = true, anonymous = $"{Prefix}-guest" });
        var guest = await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.OK);
        var headers = await EchoedHeaders(guest);
        Assert.Equal($"{Prefix}-guest", headers["x-consumer-username"]!.GetValue<string>());
        Assert.Equal("true", headers["x-anonymous-consumer"]!.GetValue<string>());
    }
}

/// <summary>A node with a TLS proxy listener beside the plain one: the oauth2 endpoints refuse plain HTTP.</summary>
public abstract class OAuth2Node(string store) : AdminNode(store)
{
    public string TlsListen { get; } = $"127.0.0.1:{TestInstallation.FreePort()}";

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["GANTRY_DB_UPDATE_FREQUENCY"] = "0.2",
        ["GANTRY_PROXY_LISTEN"] = $"{Installation.Environment["GANTRY_PROXY_LISTEN"]}, {TlsListen} ssl",
    };
}

public sealed class SqliteOAuth2Node() : OAuth2Node("sqlite");

public sealed class PostgresOAuth2Node() : OAuth2Node("postgres");

[Collection(AdminApiCollection.Name)]
public sealed class SqliteOAuth2Tests(SqliteOAuth2Node node) : OAuth2Tests(node), IClassFixture<SqliteOAuth2Node>
{
    [Fact]
    public async Task Without_a_database_tokens_of_the_document_open_routes_but_none_are_issued()
    {
        await using var gantry = await TestInstallation.CreateAsync("off");
        var file = Path.Combine(gantry.Prefix, "kong.yml");
        await File.WriteAllTextAsync(file, $"""
            _format_version: "3.0"
            services:
            - name: echo
              id: 0d8c2f1e-7a3b-4c5d-9e6f-1a2b3c4d5e6f
              url: http://127.0.0.1:{Upstream.Port}
              routes:
              - name: api
                paths: ["/api"]
              plugins:
              - name: oauth2
                config:
                  enable_client_credentials: true
                  accept_http_if_already_terminated: true
            consumers:
            - username: alice
              oauth2_credentials:
              - name: app
                id: 5f0c7a52-3a43-4bb0-b5a4-0c5c8c8d7e11
                client_id: the-client
                client_secret: s3cret
            oauth2_tokens:
            - access_token: from-the-document-0123456789abcd
              credential: 5f0c7a52-3a43-4bb0-b5a4-0c5c8c8d7e11
              service: 0d8c2f1e-7a3b-4c5d-9e6f-1a2b3c4d5e6f
              expires_in: 0
            """);
        gantry.Environment["GANTRY_DECLARATIVE_CONFIG"] = file;
        await using var process = gantry.Start("start");
        await process.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        var proxy = ProxyNode.ProxyUrl(gantry);

        var opened = await Client.GetAsync(proxy + "/api?access_token=from-the-document-0123456789abcd");
        Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
        Assert.Equal("alice", (await EchoedHeaders(opened))["x-consumer-username"]!.GetValue<string>());
        using var request = new HttpRequestMessage(HttpMethod.Post, proxy + "/api/oauth2/token")
        {
            Content = new FormUrlEncodedContent([KeyValuePair.Create("grant_type", "client_credentials"), KeyValuePair.Create("client_id", "the-client"),
                KeyValuePair.Create("client_secret", "s3cret")]),
        };
        request.Headers.Add("X-Forwarded-Proto", "https");
        var refused = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.InternalServerError, refused.StatusCode);
        Assert.Equal("An unexpected error occurred", await Message(refused));
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class PostgresOAuth2Tests(PostgresOAuth2Node node) : OAuth2Tests(node), IClassFixture<PostgresOAuth2Node>
{
    [Fact]
    public async Task A_token_issued_by_one_node_opens_the_route_on_another_and_a_deleted_one_closes_it_on_both()
    {
        var other = ProxyNode.SecondNode(Node.Installation);
        await using var nodeB = GantryProcess.Start(other, "start");
        await nodeB.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        await RouteAsync("shared");
        await Node.CreateAsync($"/routes/{Prefix}-shared/plugins", new { name = "oauth2", config = new { enable_client_credentials = true } });
        await Node.CreateAsync("/consumers", new { username = $"{Prefix}-shared-user" });
        await Node.CreateAsync($"/consumers/{Prefix}-shared-user/oauth2", new { name = "app", client_id = $"{Prefix}-shared-client", client_secret = "s3cret" });
        var proxyB = ProxyNode.ProxyUrl(other);
        var path = $"/{Prefix}/shared";
        // Node B runs the instance once it answers 401 without a token.
        await UntilAsync(() => Client.GetAsync(proxyB + path), r => r.StatusCode == HttpStatusCode.Unauthorized);

        var issued = await UntilAsync(() => Tls.PostAsync("https://" + node.TlsListen + path + "/oauth2/token", new FormUrlEncodedContent(
            [KeyValuePair.Create("grant_type", "client_credentials"), KeyValuePair.Create("client_id", $"{Prefix}-shared-client"), KeyValuePair.Create("client_secret", "s3cret")])),
            r => r.StatusCode == HttpStatusCode.OK);
        var access = JsonNode.Parse(await issued.Content.ReadAsStringAsync())!["access_token"]!.GetValue<string>();
        // At once on node B: tokens are read from the database, not waited for in a snapshot.
        using (var request = new HttpRequestMessage(HttpMethod.Get, proxyB + path))
        {
            request.Headers.Add("Authorization", "Bearer " + access);
            var opened = await Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
            Assert.Equal($"{Prefix}-shared-user", (await EchoedHeaders(opened))["x-consumer-username"]!.GetValue<string>());
        }
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(path, ("Authorization", "Bearer " + access))).StatusCode);

        // Revoked through node B's Admin API: both nodes refuse it once their short token cache has passed.
        Assert.Equal(HttpStatusCode.NoContent, (await Client.DeleteAsync("http://" + other["GANTRY_ADMIN_LISTEN"] + "/oauth2_tokens/" + access)).StatusCode);
        await UntilAsync(() => GetAsync(path, ("Authorization", "Bearer " + access)), r => r.StatusCode == HttpStatusCode.Unauthorized);
        await UntilAsync(() => Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, proxyB + path) { Headers = { { "Authorization", "Bearer " + access } } }),
            r => r.StatusCode == HttpStatusCode.Unauthorized);
    }
}
