using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;

namespace Gantry.Tests.Plugins;

/// <summary>
/// request-termination, request-size-limiting and bot-detection in a node's proxy in front of a real loopback upstream,
/// configured through the Admin API, with their schema errors; on both stores.
/// </summary>
public abstract class TerminationPluginTests(AdminNode node) : ProxyPluginTests(node)
{
    [Fact]
    public async Task Request_termination_answers_itself_with_a_message_or_a_raw_body()
    {
        var path = await RouteAsync("stop");
        Assert.Equal("echo", Header(await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.OK), "X-Upstream"));
        var plugin = await Node.CreateAsync($"/routes/{Prefix}-stop/plugins", new { name = "request-termination" });
        Assert.Equal(503, plugin["config"]!["status_code"]!.GetValue<int>());
        Assert.False(plugin["config"]!["echo"]!.GetValue<bool>());

        var stopped = await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.ServiceUnavailable);
        Assert.Equal("Service unavailable", await Message(stopped));
        Assert.Equal("", Header(stopped, "X-Upstream"));

        var id = plugin["id"]!.GetValue<string>();
        Assert.Equal(200, (await Node.PatchAsync("/plugins/" + id, new { config = new { status_code = 403, message = "So long" } })).Status);
        var forbidden = await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.Forbidden);
        Assert.Equal("So long", await Message(forbidden));
        Assert.Equal("", Header(forbidden, "X-Upstream"));

        Assert.Equal(200, (await Node.PatchAsync("/plugins/" + id, new { config = new { status_code = 451, message = (string?)null, body = "<p>gone</p>", content_type = "text/html" } })).Status);
        var raw = await UntilAsync(() => GetAsync(path), r => (int)r.StatusCode == 451);
        Assert.Equal("<p>gone</p>", await raw.Content.ReadAsStringAsync());
        Assert.Equal("text/html", Header(raw, "Content-Type"));
        Assert.Equal("", Header(raw, "X-Upstream"));

        // A status Kong has no message for, and no message configured: an empty object.
        Assert.Equal(200, (await Node.PatchAsync("/plugins/" + id, new { config = new { status_code = 418, body = (string?)null, content_type = (string?)null } })).Status);
        var teapot = await UntilAsync(() => GetAsync(path), r => (int)r.StatusCode == 418);
        Assert.Equal("{}", await teapot.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Request_termination_with_a_trigger_stops_only_marked_requests_and_echoes_them()
    {
        var path = await RouteAsync("trigger");
        // The route serves before the instance is added, so the 404 awaited below is the plugin's, not the router's.
        await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.OK);
        await Node.CreateAsync($"/routes/{Prefix}-trigger/plugins", new { name = "request-termination", config = new { status_code = 404, echo = true, trigger = "X-Stop" } });
        var marked = await UntilAsync(() => GetAsync(path + "/a?x=1&x=2", ("X-Stop", "yes")), r => r.StatusCode == HttpStatusCode.NotFound);
        Assert.Equal("echo", Header(await GetAsync(path), "X-Upstream"));
        Assert.Equal("", Header(marked, "X-Upstream"));

        var echoed = JsonNode.Parse(await marked.Content.ReadAsStringAsync())!;
        Assert.Equal("Not found", echoed["message"]!.GetValue<string>());
        Assert.Equal("yes", echoed["request"]!["headers"]!["x-stop"]!.GetValue<string>());
        Assert.Equal(new[] { "1", "2" }, echoed["request"]!["query"]!["x"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal(path + "/a", echoed["request"]!["path"]!.GetValue<string>());
        Assert.Equal("GET", echoed["request"]!["method"]!.GetValue<string>());
        Assert.Equal(Prefix + "-trigger", echoed["matched_route"]!["name"]!.GetValue<string>());

        // The trigger as a query argument, and a body echoed as sent.
        var posted = await Client.PostAsync(Proxy + path + "?X-Stop", new StringContent("hello there", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.NotFound, posted.StatusCode);
        Assert.Equal("hello there", JsonNode.Parse(await posted.Content.ReadAsStringAsync())!["request"]!["raw_body"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("request-termination", "{\"message\":\"m\",\"body\":\"b\"}", null, "message cannot be used with content_type or body")]
    [InlineData("request-termination", "{\"content_type\":\"text/plain\"}", null, "content_type requires a body")]
    [InlineData("request-termination", "{\"echo\":true,\"body\":\"b\"}", null, "echo cannot be used with content_type and body")]
    [InlineData("request-termination", "{\"status_code\":600}", "status_code", "value should be between 100 and 599")]
    [InlineData("request-termination", "{\"trigger\":\"bad header\"}", "trigger", "bad header name 'bad header', allowed characters are A-Z, a-z, 0-9, '_', and '-'")]
    [InlineData("request-size-limiting", "{\"size_unit\":\"gigabytes\"}", "size_unit", "expected one of: megabytes, kilobytes, bytes")]
    [InlineData("request-size-limiting", "{\"allowed_payload_size\":\"big\"}", "allowed_payload_size", "expected an integer")]
    public async Task Invalid_configs_are_refused_with_kongs_schema_violation(string plugin, string config, string? field, string message)
    {
        await RouteAsync("bad");
        var (status, error) = await Node.PostJsonAsync($"/routes/{Prefix}-bad/plugins", new JsonObject { ["name"] = plugin, ["config"] = JsonNode.Parse(config) });
        Assert.Equal(400, status);
        Assert.Equal(2, error!["code"]!.GetValue<int>());
        Assert.Equal("schema violation", error["name"]!.GetValue<string>());
        var reported = field is null ? error["fields"]!["config"]! : error["fields"]!["config"]![field]!;
        Assert.Equal(message, reported.GetValue<string>());
        Assert.Equal($"schema violation ({(field is null ? "config" : "config." + field)}: {message})", error["message"]!.GetValue<string>());
        Assert.Empty((await Node.GetAsync($"/routes/{Prefix}-bad/plugins")).Body!["data"]!.AsArray());
    }

    [Fact]
    public async Task Request_size_limiting_refuses_bodies_over_the_limit_by_length_or_while_counting_chunks()
    {
        var path = await RouteAsync("size");
        var plugin = await Node.CreateAsync($"/routes/{Prefix}-size/plugins", new { name = "request-size-limiting", config = new { allowed_payload_size = 1, size_unit = "kilobytes" } });
        Assert.Equal(1, plugin["config"]!["allowed_payload_size"]!.GetValue<int>());
        Assert.False(plugin["config"]!["require_content_length"]!.GetValue<bool>());
        async Task<HttpResponseMessage> PostAsync(int size, bool chunked = false)
        {
            var bytes = Encoding.ASCII.GetBytes(new string('a', size));
            HttpContent content = chunked ? new StreamContent(new MemoryStream(bytes)) : new ByteArrayContent(bytes);
            using var request = new HttpRequestMessage(HttpMethod.Post, Proxy + path) { Content = content };
            request.Headers.TransferEncodingChunked = chunked ? true : null;
            return await Client.SendAsync(request);
        }

        var over = await UntilAsync(() => PostAsync(1025), r => r.StatusCode == HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("Request size limit exceeded", await Message(over));
        Assert.Equal("", Header(over, "X-Upstream"));
        var exact = await PostAsync(1024);
        Assert.Equal(HttpStatusCode.OK, exact.StatusCode);
        Assert.Equal(1024, JsonNode.Parse(await exact.Content.ReadAsStringAsync())!["body"]!.GetValue<string>().Length);

        // Without a length the body is counted as it streams: under the limit it arrives whole.
        var smallChunked = await PostAsync(1000, chunked: true);
        Assert.Equal(HttpStatusCode.OK, smallChunked.StatusCode);
        Assert.Equal(1000, JsonNode.Parse(await smallChunked.Content.ReadAsStringAsync())!["body"]!.GetValue<string>().Length);

        // A length can be required; a body without one is then refused before anything is forwarded.
        Assert.Equal(200, (await Node.PatchAsync("/plugins/" + plugin["id"]!.GetValue<string>(), new { config = new { require_content_length = true } })).Status);
        var noLength = await UntilAsync(() => PostAsync(10, chunked: true), r => r.StatusCode == HttpStatusCode.LengthRequired);
        Assert.Equal("A valid Content-Length header is required", await Message(noLength));
        Assert.Equal("", Header(noLength, "X-Upstream"));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(10)).StatusCode);
        Assert.Equal(200, (await Node.PatchAsync("/plugins/" + plugin["id"]!.GetValue<string>(), new { config = new { require_content_length = false } })).Status);
        smallChunked = await UntilAsync(() => PostAsync(1000, chunked: true), r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.OK, smallChunked.StatusCode);
        Assert.Equal(1000, JsonNode.Parse(await smallChunked.Content.ReadAsStringAsync())!["body"]!.GetValue<string>().Length);
        // Past the limit the body is broken off mid-stream, which ends the echo upstream's one-at-a-time loop: these come last.
        var bigChunked = await PostAsync(64 * 1024, chunked: true);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bigChunked.StatusCode);
        Assert.Equal("Request size limit exceeded", await Message(bigChunked));

        // The 413 comes while the client is still sending: the body was never held whole.
        var (status, body) = await ChunkedWithoutEndAsync(path, 4096);
        Assert.Equal(413, status);
        Assert.Contains("Request size limit exceeded", body);

        // A client that waits for 100 Continue is told its expectation failed.
        var (expectStatus, _) = await RawAsync($"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
        Assert.Equal(417, expectStatus);
    }

    [Fact]
    public async Task Bot_detection_refuses_known_bots_and_denied_agents_unless_allowed()
    {
        var path = await RouteAsync("bots");
        await Node.CreateAsync($"/routes/{Prefix}-bots/plugins", new { name = "bot-detection", config = new { allow = new[] { @"^FriendlyBot/\d" }, deny = new[] { "BadClient" } } });
        Task<HttpResponseMessage> As(string agent) => GetAsync(path, ("User-Agent", agent));
        var curl = await UntilAsync(() => As("curl/8.5.0"), r => r.StatusCode == HttpStatusCode.Forbidden);
        Assert.Equal("Forbidden", await Message(curl));
        Assert.Equal("", Header(curl, "X-Upstream"));
        Assert.Equal(HttpStatusCode.Forbidden, (await As("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await As("Mozilla/5.0 BadClient/1")).StatusCode);

        Assert.Equal("echo", Header(await As("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"), "X-Upstream"));
        Assert.Equal("echo", Header(await GetAsync(path), "X-Upstream")); // no User-Agent at all
        // allow wins over the built-in list: this one is a bot by name.
        Assert.Equal("echo", Header(await As("  FriendlyBot/3 (bot)"), "X-Upstream"));

        var (twice, body) = await RawAsync($"GET {path} HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r\nUser-Agent: b\r\nConnection: close\r\n\r\n");
        Assert.Equal(400, twice);
        Assert.Contains("Only one User-Agent header allowed", body);

        var (status, error) = await Node.PostAsync($"/routes/{Prefix}-bots/plugins", new { name = "bot-detection", config = new { deny = new[] { "ok", "(unclosed" } } });
        Assert.Equal(400, status);
        Assert.Equal("schema violation", error!["name"]!.GetValue<string>());
        // Gantry's usual shape for a bad element of an array: its 1-based position.
        Assert.Equal("not a valid regex: (unclosed", error["fields"]!["config"]!["deny"]![1]!.GetValue<string>());
    }

    /// <summary>Sends a chunked body of more than <paramref name="size"/> bytes and never its last chunk, then reads the answer.</summary>
    private async Task<(int Status, string Body)> ChunkedWithoutEndAsync(string path, int size)
    {
        var chunk = new string('b', size);
        return await RawAsync($"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{size:x}\r\n{chunk}\r\n");
    }

    /// <summary>Writes the request as given and reads the status line and what follows until the node closes or 10 s pass.</summary>
    private async Task<(int Status, string Text)> RawAsync(string request)
    {
        var proxy = new Uri(Proxy);
        using var client = new TcpClient();
        await client.ConnectAsync(proxy.Host, proxy.Port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[65536];
        var text = new StringBuilder();
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                text.Append(Encoding.UTF8.GetString(buffer, 0, read));
                if (text.ToString().Contains("\r\n\r\n") && text.ToString().Contains("message"))
                    break;
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
        }
        var all = text.ToString();
        Assert.True(all.StartsWith("HTTP/1.1 ", StringComparison.Ordinal), $"no answer within 10 s: '{all}'");
        return (int.Parse(all.Split(' ', 3)[1]), all);
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class SqliteTerminationPluginTests(SqliteProxyNode node) : TerminationPluginTests(node), IClassFixture<SqliteProxyNode>;

[Collection(AdminApiCollection.Name)]
public sealed class PostgresTerminationPluginTests(PostgresProxyNode node) : TerminationPluginTests(node), IClassFixture<PostgresProxyNode>;
