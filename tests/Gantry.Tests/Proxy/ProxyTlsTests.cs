using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Proxy;

/// <summary>The proxy's TLS listeners: certificates by SNI from the store, route snis, HTTP/2.</summary>
public sealed class ProxyTlsTests
{
    /// <summary>A node whose proxy listens on plain HTTP and on HTTP/1.1 + HTTP/2 over TLS; returns the https:// URL.</summary>
    private static async Task<(GantryProcess Node, string Https)> StartWithTlsAsync(TestInstallation gantry)
    {
        var plain = gantry.Environment["GANTRY_PROXY_LISTEN"];
        var tlsPort = TestInstallation.FreePort();
        gantry.Environment["GANTRY_PROXY_LISTEN"] = $"{plain}, 127.0.0.1:{tlsPort} http2 ssl";
        return (await StartAsync(gantry), $"https://127.0.0.1:{tlsPort}");
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Tls_handshakes_take_the_stored_certificate_of_the_client_sni_and_the_default_otherwise(string store)
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await TestInstallation.CreateAsync(store);
        var (node, https) = await StartWithTlsAsync(gantry);
        await using var _ = node;
        var one = TlsClient.SelfSigned("one.test");
        var wild = TlsClient.SelfSigned("wildcard.test");
        await CreateAsync(gantry, "/certificates", new { cert = one.Cert, key = one.Key, snis = new[] { "one.test" } });
        await CreateAsync(gantry, "/certificates", new { cert = wild.Cert, key = wild.Key, snis = new[] { "*.wild.test", "prefix.*" } });
        await CreateAsync(gantry, "/services", new { name = "echo", url = $"http://127.0.0.1:{upstream.Port}" });
        await CreateAsync(gantry, "/services/echo/routes", new { name = "by-sni", protocols = new[] { "https" }, snis = new[] { "one.test" }, paths = new[] { "/sni" } });

        // The certificates serve once the node has rebuilt its configuration (every 0.2 s here).
        var (subject, response) = await UntilAsync(() => TlsClient.GetAsync(https + "/sni/x", "one.test"),
            r => r.Subject == "CN=one.test" && r.Response.StatusCode != HttpStatusCode.NotFound, TimeSpan.FromSeconds(15));
        Assert.Equal("CN=one.test", subject);
        // The route with snis matches this name over TLS...
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var echoed = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("/x", echoed.GetProperty("path").GetString());
        Assert.Equal("https", echoed.GetProperty("headers").GetProperty("x-forwarded-proto").GetString());

        // ...and no other: a client naming another server gets the wildcard certificate and no route.
        var (wildSubject, other) = await TlsClient.GetAsync(https + "/sni/x", "api.wild.test");
        Assert.Equal("CN=wildcard.test", wildSubject);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal("CN=wildcard.test", (await TlsClient.GetAsync(https + "/", "prefix.example")).Subject);
        // A wildcard covers one label, as Kong's lookup does; deeper names and unknown names get the default.
        var (deeper, _) = await TlsClient.GetAsync(https + "/", "a.b.wild.test");
        Assert.Contains("O=Gantry self-signed", deeper);
        var (unknown, _) = await TlsClient.GetAsync(https + "/", "unknown.test");
        Assert.Contains("O=Gantry self-signed", unknown);
        Assert.Contains("CN=localhost", unknown);

        // Deleting a certificate takes its names out at the next rebuild.
        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync(gantry.AdminUrl + "/snis/one.test")).StatusCode);
        var (after, _) = await UntilAsync(() => TlsClient.GetAsync(https + "/", "one.test"), r => r.Subject != "CN=one.test", TimeSpan.FromSeconds(15));
        Assert.Contains("O=Gantry self-signed", after);
    }

    [Theory]
    [InlineData("pem")]
    [InlineData("base64")]
    [InlineData("file")]
    public async Task Ssl_cert_is_the_default_certificate_in_each_form_kong_accepts(string form)
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        var (cert, key) = TlsClient.SelfSigned("configured.test");
        string Form(string pem, string name) => form switch
        {
            "pem" => pem,
            "base64" => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(pem)),
            _ => WriteFile(Path.Combine(gantry.Prefix, name), pem),
        };
        gantry.Environment["GANTRY_SSL_CERT"] = Form(cert, "cert.pem");
        gantry.Environment["GANTRY_SSL_CERT_KEY"] = Form(key, "key.pem");
        var (node, https) = await StartWithTlsAsync(gantry);
        await using var _ = node;

        var (subject, response) = await TlsClient.GetAsync(https + "/", "anything.test");
        Assert.Equal("CN=configured.test", subject);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static string WriteFile(string path, string text)
    {
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Http2_requests_over_tls_are_served_as_http2_and_forwarded()
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        var (node, https) = await StartWithTlsAsync(gantry);
        await using var _ = node;
        await ServeAsync(gantry, "echo", $"http://127.0.0.1:{upstream.Port}/base", "/h2");
        Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(ProxyUrl(gantry) + "/h2", TimeSpan.FromSeconds(15))).StatusCode);

        var (_, response) = await TlsClient.GetAsync(https + "/h2/stream?q=1", "localhost", HttpVersion.Version20);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
        var echoed = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("/base/stream?q=1", echoed.GetProperty("path").GetString());
        Assert.Equal("echo", response.Headers.GetValues("X-Upstream").Single());
    }
}
