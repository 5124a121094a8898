using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;

namespace Gantry.Tests.Plugins;

/// <summary>
/// jwt and hmac-auth in a node's proxy, configured through the Admin API, in front of a real loopback
/// upstream; tokens and signatures are made here, the way a client would make them; on both stores.
/// </summary>
public abstract class AuthPluginTests(AdminNode node) : ProxyPluginTests(node)
{
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>A compact JWS: the header and payload as given, signed by <paramref name="sign"/> over "header.payload".</summary>
    private static string Token(string algorithm, JsonObject payload, Func<byte[], byte[]> sign)
    {
        var header = new JsonObject { ["alg"] = algorithm, ["typ"] = "JWT" };
        var signed = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        return signed + "." + Base64Url(sign(Encoding.ASCII.GetBytes(signed)));
    }

    private static string Hs256(JsonObject payload, string secret) =>
        Token("HS256", payload, data => HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), data));

    private static async Task<JsonObject> Body(HttpResponseMessage response) => JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    private async Task<JsonObject> ConsumerAsync(string name) => await Node.CreateAsync("/consumers", new { username = Prefix + "-" + name });

    [Fact]
    public async Task Jwt_accepts_a_valid_hs256_token_from_header_query_or_cookie_and_refuses_bad_ones()
    {
        var path = await RouteAsync("jwt");
        var alice = await ConsumerAsync("alice");
        var iss = Prefix + "-alice-iss";
        await Node.CreateAsync($"/consumers/{Prefix}-alice/jwt", new { key = iss, secret = "s3cret-alice", algorithm = "HS256" });
        await Node.CreateAsync($"/routes/{Prefix}-jwt/plugins", new
        {
            name = "jwt",
            config = new { claims_to_verify = new[] { "exp" }, cookie_names = new[] { "session" }, realm = "gantry" },
        });
        var valid = Hs256(new JsonObject { ["iss"] = iss, ["exp"] = Now + 600 }, "s3cret-alice");

        var missing = await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.Unauthorized);
        Assert.Equal("Unauthorized", await Message(missing));
        Assert.Equal("Bearer realm=\"gantry\"", Header(missing, "WWW-Authenticate"));

        var ok = await GetAsync(path, ("Authorization", "Bearer " + valid));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var upstream = await EchoedHeaders(ok);
        Assert.Equal(alice["id"]!.GetValue<string>(), upstream["x-consumer-id"]!.GetValue<string>());
        Assert.Equal(Prefix + "-alice", upstream["x-consumer-username"]!.GetValue<string>());
        Assert.Equal(iss, upstream["x-credential-identifier"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await GetAsync($"{path}?jwt={valid}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(path, ("Cookie", "other=1; session=" + valid))).StatusCode);
        // The same token twice is one token; two different ones are refused.
        Assert.Equal(HttpStatusCode.OK, (await GetAsync($"{path}?jwt={valid}", ("Authorization", "Bearer " + valid))).StatusCode);
        var other = Hs256(new JsonObject { ["iss"] = iss, ["exp"] = Now + 900 }, "s3cret-alice");
        var multiple = await GetAsync($"{path}?jwt={other}", ("Authorization", "Bearer " + valid));
        Assert.Equal(HttpStatusCode.Unauthorized, multiple.StatusCode);
        Assert.Equal("Multiple tokens provided", await Message(multiple));
        Assert.Equal("Bearer realm=\"gantry\" error=\"invalid_token\"", Header(multiple, "WWW-Authenticate"));

        var forged = await GetAsync(path, ("Authorization", "Bearer " + Hs256(new JsonObject { ["iss"] = iss, ["exp"] = Now + 600 }, "not-the-secret")));
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal("Invalid signature", await Message(forged));

        var expired = await GetAsync(path, ("Authorization", "Bearer " + Hs256(new JsonObject { ["iss"] = iss, ["exp"] = Now - 10 }, "s3cret-alice")));
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
        Assert.Equal("""{"exp":"token expired"}""", (await Body(expired)).ToJsonString());

        var withoutExp = await GetAsync(path, ("Authorization", "Bearer " + Hs256(new JsonObject { ["iss"] = iss }, "s3cret-alice")));
        Assert.Equal("""{"exp":"must be a number"}""", (await Body(withoutExp)).ToJsonString());

        var unknown = await GetAsync(path, ("Authorization", "Bearer " + Hs256(new JsonObject { ["iss"] = "nobody", ["exp"] = Now + 600 }, "s3cret-alice")));
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal("No credentials found for given 'iss'", await Message(unknown));

        var noIss = await GetAsync(path, ("Authorization", "Bearer " + Hs256(new JsonObject { ["exp"] = Now + 600 }, "s3cret-alice")));
        Assert.Equal("No mandatory 'iss' in claims", await Message(noIss));

        var wrongAlgorithm = Token("HS512", new JsonObject { ["iss"] = iss, ["exp"] = Now + 600 }, data => HMACSHA512.HashData(Encoding.UTF8.GetBytes("s3cret-alice"), data));
        Assert.Equal("Invalid algorithm", await Message(await GetAsync(path, ("Authorization", "Bearer " + wrongAlgorithm))));

        Assert.Equal("Bad token; invalid JSON", await Message(await GetAsync(path, ("Authorization", "Bearer not.a-token"))));
    }

    [Fact]
    public async Task Jwt_verifies_rs256_and_es256_tokens_with_the_credentials_public_key()
    {
        var path = await RouteAsync("jwt-keys");
        await ConsumerAsync("bob");
        using var rsa = RSA.Create(2048);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await Node.CreateAsync($"/consumers/{Prefix}-bob/jwt", new { key = Prefix + "-rsa", algorithm = "RS256", rsa_public_key = rsa.ExportSubjectPublicKeyInfoPem() });
        await Node.CreateAsync($"/consumers/{Prefix}-bob/jwt", new { key = Prefix + "-ec", algorithm = "ES256", rsa_public_key = ec.ExportSubjectPublicKeyInfoPem() });
        await Node.CreateAsync($"/routes/{Prefix}-jwt-keys/plugins", new { name = "jwt", config = new { maximum_expiration = 3600 } });

        string Rs256(string iss, RSA key, long exp) =>
            Token("RS256", new JsonObject { ["iss"] = iss, ["exp"] = exp }, data => key.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

        await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.Unauthorized);
        var ok = await GetAsync(path, ("Authorization", "Bearer " + Rs256(Prefix + "-rsa", rsa, Now + 60)));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(Prefix + "-bob", (await EchoedHeaders(ok))["x-consumer-username"]!.GetValue<string>());

        using var stranger = RSA.Create(2048);
        var forged = await GetAsync(path, ("Authorization", "Bearer " + Rs256(Prefix + "-rsa", stranger, Now + 60)));
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal("Invalid signature", await Message(forged));

        // JWS carries ECDSA signatures as r||s, which is what .NET's ECDsa produces by default.
        var es256 = Token("ES256", new JsonObject { ["iss"] = Prefix + "-ec", ["exp"] = Now + 60 }, data => ec.SignData(data, HashAlgorithmName.SHA256));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(path, ("Authorization", "Bearer " + es256))).StatusCode);

        // An HS256 token naming the RSA credential is refused for its algorithm, not tried as an HMAC.
        Assert.Equal("Invalid algorithm", await Message(await GetAsync(path, ("Authorization", "Bearer " + Hs256(new JsonObject { ["iss"] = Prefix + "-rsa" }, "x")))));

        var tooLong = await GetAsync(path, ("Authorization", "Bearer " + Rs256(Prefix + "-rsa", rsa, Now + 7200)));
        Assert.Equal(HttpStatusCode.Forbidden, tooLong.StatusCode);
        Assert.Equal("""{"exp":"exceeds maximum allowed expiration"}""", (await Body(tooLong)).ToJsonString());
    }

    /// <summary>Kong's signing string: each listed header as "name: value", the request line as "GET /path HTTP/1.1".</summary>
    private static string HmacAuthorization(string username, string secret, string signingString, string headers) =>
        $"hmac username=\"{username}\", algorithm=\"hmac-sha256\", headers=\"{headers}\", signature=\"" +
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(signingString))) + "\"";

    private static string HttpDate(DateTimeOffset time) => time.ToUniversalTime().ToString("r", CultureInfo.InvariantCulture);

    private async Task<HttpResponseMessage> SignedAsync(HttpMethod method, string path, string username, string secret, DateTimeOffset date,
        byte[]? body = null, string? digest = null, string? signWith = null)
    {
        using var request = new HttpRequestMessage(method, Proxy + path);
        var dateText = HttpDate(date);
        request.Headers.TryAddWithoutValidation("Date", dateText);
        var signingString = $"date: {dateText}\n{method.Method} {path} HTTP/1.1";
        request.Headers.TryAddWithoutValidation("Authorization", HmacAuthorization(username, signWith ?? secret, signingString, "date request-line"));
        if (body is not null)
            request.Content = new ByteArrayContent(body);
        if (digest is not null)
            request.Headers.TryAddWithoutValidation("Digest", digest);
        return await Client.SendAsync(request);
    }

    [Fact]
    public async Task Hmac_auth_accepts_a_correctly_signed_request_and_refuses_wrong_signatures_and_stale_dates()
    {
        var path = await RouteAsync("hmac");
        var carol = await ConsumerAsync("carol");
        var username = Prefix + "-carol";
        await Node.CreateAsync($"/consumers/{Prefix}-carol/hmac-auth", new { username, secret = "carol-secret" });
        await Node.CreateAsync($"/routes/{Prefix}-hmac/plugins", new
        {
            name = "hmac-auth",
            config = new { hide_credentials = true, enforce_headers = new[] { "date", "request-line" } },
        });

        var missing = await UntilAsync(() => GetAsync(path + "/x"), r => r.StatusCode == HttpStatusCode.Unauthorized);
        Assert.Equal("Unauthorized", await Message(missing));
        Assert.Equal("hmac", Header(missing, "WWW-Authenticate"));

        var ok = await SignedAsync(HttpMethod.Get, path + "/x?a=1", username, "carol-secret", DateTimeOffset.UtcNow);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var upstream = await EchoedHeaders(ok);
        Assert.Equal(carol["id"]!.GetValue<string>(), upstream["x-consumer-id"]!.GetValue<string>());
        Assert.Equal(username, upstream["x-credential-identifier"]!.GetValue<string>());
        Assert.Null(upstream["authorization"]);

        var wrong = await SignedAsync(HttpMethod.Get, path + "/x", username, "carol-secret", DateTimeOffset.UtcNow, signWith: "guessed");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("HMAC signature does not match", await Message(wrong));

        var stale = await SignedAsync(HttpMethod.Get, path + "/x", username, "carol-secret", DateTimeOffset.UtcNow.AddSeconds(-400));
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        Assert.Equal("HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication", await Message(stale));

        var unknown = await SignedAsync(HttpMethod.Get, path + "/x", Prefix + "-nobody", "carol-secret", DateTimeOffset.UtcNow);
        Assert.Equal("HMAC signature cannot be verified", await Message(unknown));

        // A signature that leaves out an enforced header is refused even when it is right.
        var date = HttpDate(DateTimeOffset.UtcNow);
        var dateOnly = await GetAsync(path + "/x", ("Date", date), ("Authorization", HmacAuthorization(username, "carol-secret", "date: " + date, "date")));
        Assert.Equal("HMAC signature cannot be verified", await Message(dateOnly));
    }

    [Fact]
    public async Task Hmac_auth_with_validate_request_body_checks_the_digest_and_still_forwards_the_body()
    {
        var path = await RouteAsync("hmac-body");
        await ConsumerAsync("dave");
        var username = Prefix + "-dave";
        await Node.CreateAsync($"/consumers/{Prefix}-dave/hmac-auth", new { username, secret = "dave-secret" });
        await Node.CreateAsync($"/routes/{Prefix}-hmac-body/plugins", new { name = "hmac-auth", config = new { validate_request_body = true } });
        await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.Unauthorized);

        var body = Encoding.UTF8.GetBytes("""{"amount":100}""");
        var digest = "SHA-256=" + Convert.ToBase64String(SHA256.HashData(body));
        var ok = await SignedAsync(HttpMethod.Post, path, username, "dave-secret", DateTimeOffset.UtcNow, body, digest);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(body.Length.ToString(CultureInfo.InvariantCulture), (await EchoedHeaders(ok))["content-length"]!.GetValue<string>());

        var tampered = await SignedAsync(HttpMethod.Post, path, username, "dave-secret", DateTimeOffset.UtcNow, Encoding.UTF8.GetBytes("""{"amount":999}"""), digest);
        Assert.Equal(HttpStatusCode.Unauthorized, tampered.StatusCode);
        Assert.Equal("HMAC signature does not match", await Message(tampered));

        var undigested = await SignedAsync(HttpMethod.Post, path, username, "dave-secret", DateTimeOffset.UtcNow, body);
        Assert.Equal(HttpStatusCode.Unauthorized, undigested.StatusCode);

        // Without a body there is nothing to digest.
        Assert.Equal(HttpStatusCode.OK, (await SignedAsync(HttpMethod.Get, path, username, "dave-secret", DateTimeOffset.UtcNow)).StatusCode);
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class SqliteAuthPluginTests(SqliteProxyNode node) : AuthPluginTests(node), IClassFixture<SqliteProxyNode>;

[Collection(AdminApiCollection.Name)]
public sealed class PostgresAuthPluginTests(PostgresProxyNode node) : AuthPluginTests(node), IClassFixture<PostgresProxyNode>;
