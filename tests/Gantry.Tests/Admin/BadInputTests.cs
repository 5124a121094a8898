using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;

namespace Gantry.Tests.Admin;

/// <summary>
/// Hostile and broken requests to the Admin API: each gets Kong's error shape and status, the node keeps
/// serving (GET / is still 200), and nothing is written (the services table counts the same before and after).
/// </summary>
public abstract class BadInputTests<TNode>(TNode node) where TNode : AdminNode
{
    private const string SqlInjection = "'; DROP TABLE services; --";

    /// <summary>Sends, checks the answer's status and body, then that the node is up and wrote nothing.</summary>
    private async Task<JsonObject?> RefusedAsync(Func<Task<(int Status, string Body)>> send, int status, int? code = null)
    {
        var before = await RowsAsync();
        var (actual, text) = await send();
        Assert.True(actual == status, $"expected {status}, got {actual}: {text}");
        JsonObject? body = null;
        if (text.Length > 0)
        {
            body = JsonNode.Parse(text) as JsonObject;
            Assert.NotNull(body);
            Assert.False(string.IsNullOrEmpty(body["message"]?.GetValue<string>()), text);
            Assert.DoesNotContain("   at ", text);
            if (code is { } expected)
            {
                Assert.Equal(expected, body["code"]!.GetValue<int>());
                Assert.False(string.IsNullOrEmpty(body["name"]?.GetValue<string>()));
                Assert.IsType<JsonObject>(body["fields"]);
            }
        }
        Assert.False(node.Process.HasExited, "the node died");
        Assert.Equal(200, (await node.SendAsync(HttpMethod.Get, "/")).Status);
        Assert.Equal(before, await RowsAsync());
        return body;
    }

    // Services and the tags index in one query: one connection per check keeps the PostgreSQL run short.
    private async Task<string?> RowsAsync() =>
        (await node.Installation.ScalarAsync("SELECT CAST((SELECT count(*) FROM services) AS TEXT) || ',' || CAST((SELECT count(*) FROM tags) AS TEXT)"))?.ToString();

    private Func<Task<(int, string)>> Send(HttpMethod method, string path, HttpContent? content = null) => async () =>
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await node.Http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    };

    private Func<Task<(int, string)>> Raw(string method, string target, string? json = null) =>
        () => RawHttp.SendAsync(node.Installation.AdminUrl, method, target, json);

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    /// <summary>Bytes as given, under a Content-Type header sent as given (none when null).</summary>
    private static ByteArrayContent Bytes(byte[] body, string? contentType)
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null)
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return content;
    }

    private static ByteArrayContent Bytes(string body, string? contentType) => Bytes(Encoding.UTF8.GetBytes(body), contentType);

    private static byte[] Concat(params object[] parts) =>
        parts.SelectMany(p => p is string s ? Encoding.UTF8.GetBytes(s) : (byte[])p).ToArray();

    [Fact]
    public async Task Malformed_json_is_a_400()
    {
        var body = await RefusedAsync(Send(HttpMethod.Post, "/services", Json("{\"host\": ")), 400);
        Assert.Equal("Cannot parse JSON body", body!["message"]!.GetValue<string>());
        await RefusedAsync(Send(HttpMethod.Post, "/services", Json("[\"host\", \"example.test\"]")), 400);
        await RefusedAsync(Send(HttpMethod.Post, "/services", Json("\"just a string\"")), 400);
        await RefusedAsync(Send(HttpMethod.Patch, "/services/anything", Json("{{{{")), 404);
        await RefusedAsync(Send(HttpMethod.Post, "/services", Json(new string('[', 5000) + new string(']', 5000))), 400);
        await RefusedAsync(Send(HttpMethod.Post, "/schemas/services/validate", Json("{\"host\": ")), 400);
    }

    [Fact]
    public async Task Wrong_content_types_are_a_415()
    {
        foreach (var type in new[] { "text/plain", "application/xml", "application/octet-stream", "image/png" })
        {
            var content = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"host\": \"example.test\"}"));
            content.Headers.ContentType = new MediaTypeHeaderValue(type);
            var body = await RefusedAsync(Send(HttpMethod.Post, "/services", content), 415);
            Assert.Equal("Unsupported Media Type", body!["message"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Unknown_fields_and_wrong_types_are_schema_violations()
    {
        var body = await RefusedAsync(Send(HttpMethod.Post, "/services", Json("""{"host": "example.test", "bogus": 1, "also_bogus": {"x": 1}}""")), 400, code: 2);
        Assert.Equal("unknown field", body!["fields"]!["bogus"]!.GetValue<string>());
        Assert.Equal("unknown field", body["fields"]!["also_bogus"]!.GetValue<string>());

        body = await RefusedAsync(Send(HttpMethod.Post, "/services",
            Json("""{"host": 5, "port": "eighty", "retries": 1.5, "enabled": "yes", "tags": "not-a-list", "protocol": ["http"]}""")), 400, code: 2);
        var fields = body!["fields"]!.AsObject();
        foreach (var field in new[] { "host", "port", "retries", "enabled", "tags", "protocol" })
            Assert.True(fields.ContainsKey(field), $"no error for {field}: {body.ToJsonString()}");

        await RefusedAsync(Send(HttpMethod.Post, "/services", Json("""{"host": "example.test", "port": 99999999999999999999}""")), 400, code: 2);
        await RefusedAsync(Send(HttpMethod.Post, "/services", new FormUrlEncodedContent([new("host", "example.test"), new("port", "not-a-number")])), 400, code: 2);
        await RefusedAsync(Send(HttpMethod.Post, "/schemas/services/validate", Json("""{"host": 5}""")), 400, code: 2);
    }

    [Fact]
    public async Task Json_that_dotnet_cannot_read_as_text_is_a_400()
    {
        foreach (var body in new[]
        {
            Concat("{\"host\": \"a", new byte[] { 0xff }, ".test\"}"),
            Concat("{\"host\": \"example.test\", \"tags\": [\"", new byte[] { 0xed, 0xa0, 0x80 }, "\"]}"),
            Concat("{\"host\": \"example.test\", \"name\": \"", new byte[] { 0xc0, 0x80 }, "\"}"),
            Concat("{\"host\": \"example.test\", \"name\": \"a", new byte[] { 0x00 }, "\"}"),
            Concat("{\"host\": \"a\\ud800.test\"}"),
            Concat("{\"host\": \"example.test\", \"tags\": [\"\\udc00\\ud800\"]}"),
            Concat("{\"host\": \"example.test\", \"\\ud800\": 1}"),
            Concat("{\"host\": \"example.test\", \"port\": NaN}"),
        })
        {
            var refused = await RefusedAsync(Send(HttpMethod.Post, "/services", Bytes(body, "application/json")), 400);
            Assert.Equal("Cannot parse JSON body", refused!["message"]!.GetValue<string>());
        }
        // As Kong answers an empty body declared as JSON.
        var empty = await RefusedAsync(Send(HttpMethod.Post, "/services", Bytes([], "application/json")), 400);
        Assert.Equal("Cannot parse JSON body", empty!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Values_no_store_can_hold_are_schema_violations_at_their_field()
    {
        var body = await RefusedAsync(Send(HttpMethod.Post, "/services", Json("""{"host": "example.test", "port": 1e400, "tags": ["a", -1e400]}""")), 400, code: 2);
        Assert.Equal("number out of range", body!["fields"]!["port"]!.GetValue<string>());
        Assert.Equal("number out of range", body["fields"]!["tags"]![1]!.GetValue<string>());
        // NUL in any string or key, even where the field's own rules would take it: PostgreSQL cannot store it.
        body = await RefusedAsync(Send(HttpMethod.Post, "/plugins", Json("""{"name": "cors", "config": {"origins": ["http://a\u0000.test"]}}""")), 400, code: 2);
        Assert.Equal("must not contain a NUL character", body!["fields"]!["config"]!["origins"]![0]!.GetValue<string>());
        await RefusedAsync(Send(HttpMethod.Post, "/vaults", new FormUrlEncodedContent([new("name", "env"), new("prefix", "nul-vault"), new("description", "a\0b")])), 400, code: 2);
        await RefusedAsync(Send(HttpMethod.Post, "/services", Json("""{"host": "example.test", "a\u0000": 1}""")), 400, code: 2);
    }

    [Fact]
    public async Task A_repeated_json_key_keeps_its_last_value_as_in_kong()
    {
        var name = "dup-" + Guid.NewGuid().ToString("N")[..8];
        var (status, created) = await node.SendAsync(HttpMethod.Post, "/services", Bytes($$"""{"host": "first.test", "name": "{{name}}", "host": "last.test"}""", "application/json"));
        Assert.Equal(201, status);
        Assert.Equal("last.test", created!["host"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_patch_to_null_restores_the_default_as_put_does()
    {
        var name = "null-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(201, (await node.SendAsync(HttpMethod.Post, "/services", new { name, host = "example.test", retries = 2, enabled = false })).Status);
        var (status, patched) = await node.SendAsync(HttpMethod.Patch, $"/services/{name}", """{"enabled": null, "retries": null}""");
        Assert.True(status == 200, patched?.ToJsonString());
        Assert.True(patched!["enabled"]!.GetValue<bool>());
        Assert.Equal(5, patched["retries"]!.GetValue<int>());
    }

    [Fact]
    public async Task Broken_multipart_bodies_are_a_400()
    {
        const string part = "--XX\r\nContent-Disposition: form-data; name=\"host\"\r\n\r\nexample.test\r\n";
        foreach (var (body, contentType) in new (byte[], string)[]
        {
            (Concat(part, "--XX--\r\n"), "multipart/form-data"),
            (Concat(part, "--XX--\r\n"), "multipart/form-data; boundary=YY"),
            (Concat(part), "multipart/form-data; boundary=XX"),
            (Concat("--XX\r\nbroken\r\n\r\nexample.test\r\n--XX--\r\n"), "multipart/form-data; boundary=XX"),
            (Concat("--XX\r\nContent-Type: text/plain\r\n\r\nexample.test\r\n--XX--\r\n"), "multipart/form-data; boundary=XX"),
            (Concat("--XX\r\nContent-Disposition: form-data; name=\"host\"\r\n\r\na", new byte[] { 0xff }, "\r\n--XX--\r\n"), "multipart/form-data; boundary=XX"),
            (Concat(part, "--XX--\r\n"), "multipart/form-data; boundary=" + new string('X', 71)),
            (Concat("{\"host\": \"example.test\"}"), "multipart/form-data; boundary=XX"),
        })
        {
            var refused = await RefusedAsync(Send(HttpMethod.Post, "/services", Bytes(body, contentType)), 400);
            Assert.Equal("Cannot parse multipart/form-data body", refused!["message"]!.GetValue<string>());
        }
        // No body at all is an empty entity, as Kong answers: the schema says what is missing.
        var empty = await RefusedAsync(Send(HttpMethod.Post, "/services", Bytes([], "multipart/form-data")), 400, code: 2);
        Assert.Equal("required field missing", empty!["fields"]!["host"]!.GetValue<string>());
        await RefusedAsync(Send(HttpMethod.Post, "/services", Bytes([], null)), 400, code: 2);
    }

    [Fact]
    public async Task Broken_and_conflicting_form_bodies_are_a_400()
    {
        const string form = "application/x-www-form-urlencoded";
        var body = await RefusedAsync(Send(HttpMethod.Post, "/plugins", Bytes("name=cors&config=1&config.origins=http://a.test", form)), 400, code: 2);
        Assert.Equal("given both as a value and as nested fields", body!["fields"]!["config"]!.GetValue<string>());
        body = await RefusedAsync(Send(HttpMethod.Post, "/services", Bytes("host=example.test&tags.a=1&tags=b", form)), 400, code: 2);
        Assert.Equal("given both as a value and as nested fields", body!["fields"]!["tags"]!.GetValue<string>());
        await RefusedAsync(Send(HttpMethod.Post, "/services", Bytes("host=example.test&tags[1]=a&tags[]=b", form)), 400, code: 2);
        // Raw bytes that are not UTF-8, and keys nested deeper than any entity.
        body = await RefusedAsync(Send(HttpMethod.Post, "/services", Bytes(Concat("host=a", new byte[] { 0xff }, ".test"), form)), 400);
        Assert.Equal("Cannot parse x-www-form-urlencoded body", body!["message"]!.GetValue<string>());
        await RefusedAsync(Send(HttpMethod.Post, "/services", Bytes("host=example.test&config" + string.Concat(Enumerable.Repeat(".a", 5000)) + "=1", form)), 400);
        // Broken escapes stay as written, so the field's own rule refuses them.
        body = await RefusedAsync(Send(HttpMethod.Post, "/services", Bytes("host=a%ZZ.test&name=%", form)), 400, code: 2);
        Assert.Equal("invalid value: a%ZZ.test", body!["fields"]!["host"]!.GetValue<string>());
        await RefusedAsync(Send(HttpMethod.Post, "/services", Bytes("host=example.test&name=a%00b", form)), 400, code: 2);
    }

    [Fact]
    public async Task An_oversized_body_is_a_413()
    {
        // 11 MiB of a valid-looking JSON string: refused on its Content-Length, before it is read.
        var big = "{\"host\": \"example.test\", \"name\": \"" + new string('a', 11 * 1024 * 1024) + "\"}";
        var body = await RefusedAsync(Send(HttpMethod.Post, "/services", Json(big)), 413);
        Assert.Equal("Payload too large", body!["message"]!.GetValue<string>());
        // Without a Content-Length (chunked), refused once the 10 MiB are read.
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        body = await RefusedAsync(Send(HttpMethod.Post, "/services", new ChunkedContent(chunked)), 413);
        Assert.Equal("Payload too large", body!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Two_hundred_thousand_tags_are_refused_quickly()
    {
        var tags = new JsonArray(Enumerable.Range(0, 200_000).Select(i => (JsonNode?)$"t{i}").ToArray());
        var json = new JsonObject { ["host"] = "example.test", ["tags"] = tags }.ToJsonString();
        Assert.True(json.Length > 1_500_000, $"{json.Length} bytes");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var body = await RefusedAsync(Send(HttpMethod.Post, "/services", Json(json)), 400, code: 2);
        clock.Stop();
        Assert.Equal("length must be at most 1000", body!["fields"]!["tags"]!.GetValue<string>());
        // Refused before a row is written: well under the time 200,000 rows of the tags index would take.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        await RefusedAsync(Send(HttpMethod.Post, "/services", Json(new JsonObject { ["host"] = "example.test", ["tags"] = new JsonArray(Enumerable.Range(0, 1001).Select(i => (JsonNode?)$"t{i}").ToArray()) }.ToJsonString())), 400, code: 2);
    }

    [Fact]
    public async Task Indexed_values_are_bounded_below_what_postgresql_can_index()
    {
        // PostgreSQL refuses a btree index entry over about 2.7 kB, and random CJK text (3 bytes a character)
        // does not compress below it: 512 characters are stored, more are a schema violation, never a 500.
        var random = new Random(7);
        string Text(int length) => new(Enumerable.Range(0, length).Select(_ => (char)random.Next(0x4e00, 0x9fff)).ToArray());
        string Alphanumeric(int length) => string.Concat(Enumerable.Range(0, length / 32 + 1).Select(_ => Guid.NewGuid().ToString("N")))[..length];
        var (_, consumer) = await node.SendAsync(HttpMethod.Post, "/consumers", new { username = "acl-" + Guid.NewGuid().ToString("N")[..8] });
        var cases = new (string Path, string Field, Func<int, JsonObject> Body)[]
        {
            ($"/consumers/{consumer!["id"]}/acls", "group", n => new JsonObject { ["group"] = Text(n) }),
            ("/consumers", "username", n => new JsonObject { ["username"] = Text(n) }),
            ("/consumers", "custom_id", n => new JsonObject { ["custom_id"] = Text(n) }),
            ("/key-sets", "name", n => new JsonObject { ["name"] = Text(n) }),
            ("/services", "name", n => new JsonObject { ["host"] = "example.test", ["name"] = Alphanumeric(n) }),
            ("/services", "tags", n => new JsonObject { ["host"] = "example.test", ["tags"] = new JsonArray(Text(n)) }),
        };
        foreach (var (path, field, body) in cases)
        {
            var (status, created) = await node.SendAsync(HttpMethod.Post, path, body(512).ToJsonString());
            Assert.True(status == 201, $"POST {path} with a {field} of 512 characters answered {status}: {created?.ToJsonString()}");
            var refused = await RefusedAsync(Send(HttpMethod.Post, path, Json(body(3000).ToJsonString())), 400, code: 2);
            Assert.Contains("length must be at most 512", refused!["message"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task A_thousand_tags_of_512_characters_are_accepted()
    {
        var prefix = Guid.NewGuid().ToString("N")[..8];
        var tags = Enumerable.Range(0, 1000).Select(i => $"{prefix}-{i}-".PadRight(512, 't')).ToArray();
        var (status, created) = await node.SendAsync(HttpMethod.Post, "/services", new JsonObject { ["host"] = "example.test", ["tags"] = new JsonArray(tags.Select(t => (JsonNode?)t).ToArray()) }.ToJsonString());
        Assert.True(status == 201, created?.ToJsonString());
        Assert.Equal(1000, created!["tags"]!.AsArray().Count);
        Assert.Equal(1000, await node.Installation.CountAsync($"SELECT count(*) FROM tags WHERE tag LIKE '{prefix}-%'"));
    }

    [Fact]
    public async Task Invalid_ids_names_offsets_and_sizes_in_urls()
    {
        await RefusedAsync(Send(HttpMethod.Get, "/services/not-a-uuid"), 404);
        await RefusedAsync(Send(HttpMethod.Get, "/services/00000000-0000-0000-0000-00000000000g"), 404);
        await RefusedAsync(Send(HttpMethod.Get, $"/services/{Guid.NewGuid()}"), 404);
        await RefusedAsync(Send(HttpMethod.Patch, $"/services/{Guid.NewGuid()}", Json("""{"retries": 1}""")), 404);
        await RefusedAsync(Send(HttpMethod.Put, "/services/bad%20name", Json("""{"host": "example.test"}""")), 400, code: 2);
        await RefusedAsync(Send(HttpMethod.Put, "/services/" + new string('x', 300) + "%21", Json("""{"host": "example.test"}""")), 400, code: 2);
        await RefusedAsync(Send(HttpMethod.Get, "/services?offset=not-base64!!"), 400, code: 7);
        await RefusedAsync(Send(HttpMethod.Get, "/services?offset=" + Convert.ToBase64String(Encoding.UTF8.GetBytes(SqlInjection))), 400, code: 7);
        await RefusedAsync(Send(HttpMethod.Get, "/tags?offset=bm9wZQ"), 400, code: 7);
        await RefusedAsync(Send(HttpMethod.Get, "/services?size=0"), 400, code: 9);
        await RefusedAsync(Send(HttpMethod.Get, "/services?size=-1"), 400, code: 9);
        await RefusedAsync(Send(HttpMethod.Get, "/services?size=1001"), 400, code: 9);
        await RefusedAsync(Send(HttpMethod.Get, "/tags?size=abc"), 400, code: 9);
        await RefusedAsync(Send(HttpMethod.Get, "/services?tags=a,b/c"), 400, code: 11);
        await RefusedAsync(Send(HttpMethod.Get, "/services?tags=a,b,c,d,e,f"), 400, code: 11);
        await RefusedAsync(Send(HttpMethod.Get, "/schemas/no-such-entity"), 404);
        await RefusedAsync(Send(HttpMethod.Delete, "/schemas/services"), 405);
    }

    [Fact]
    public async Task A_million_character_tag_is_a_schema_violation()
    {
        var tag = new string('t', 1_000_000);
        var body = await RefusedAsync(Send(HttpMethod.Post, "/services", Json(new JsonObject { ["host"] = "example.test", ["tags"] = new JsonArray(tag) }.ToJsonString())), 400, code: 2);
        Assert.Contains("length must be at most 512", body!["message"]!.GetValue<string>());
        // Long tags in the URL are looked up, not stored: an empty page.
        var (status, page) = await node.SendAsync(HttpMethod.Get, "/tags/" + new string('t', 4000));
        Assert.Equal(200, status);
        Assert.Empty(page!["data"]!.AsArray());
        (status, page) = await node.SendAsync(HttpMethod.Get, "/services?tags=" + new string('t', 4000));
        Assert.Equal(200, status);
        Assert.Empty(page!["data"]!.AsArray());
    }

    [Fact]
    public async Task Sql_and_path_tricks_in_names_and_ids_change_nothing()
    {
        var escaped = Uri.EscapeDataString(SqlInjection);
        await RefusedAsync(Send(HttpMethod.Get, "/services/" + escaped), 404);
        await RefusedAsync(Send(HttpMethod.Put, "/services/" + escaped, Json("""{"host": "example.test"}""")), 400, code: 2);
        await RefusedAsync(Send(HttpMethod.Patch, "/services/" + escaped, Json("""{"host": "example.test"}""")), 404);
        await RefusedAsync(Send(HttpMethod.Post, "/services", Json(new JsonObject { ["name"] = SqlInjection, ["host"] = "example.test" }.ToJsonString())), 400, code: 2);
        await RefusedAsync(Send(HttpMethod.Post, "/services", Json(new JsonObject { ["name"] = "ok", ["host"] = SqlInjection }.ToJsonString())), 400, code: 2);
        await RefusedAsync(Send(HttpMethod.Post, "/services", Json(new JsonObject { ["host"] = "example.test", ["tags"] = new JsonArray(SqlInjection) }.ToJsonString())), 400, code: 2);
        var (status, page) = await node.SendAsync(HttpMethod.Get, "/services?tags=" + escaped);
        Assert.Equal(200, status);
        Assert.Empty(page!["data"]!.AsArray());
        (status, page) = await node.SendAsync(HttpMethod.Get, "/tags/" + escaped);
        Assert.Equal(200, status);
        Assert.Empty(page!["data"]!.AsArray());

        // An encoded slash stays in its segment: a name, and an invalid one.
        await RefusedAsync(Raw("PUT", "/services/..%2F..%2Fetc%2Fpasswd", """{"host": "example.test"}"""), 400, code: 2);
        await RefusedAsync(Raw("GET", "/services/..%2F..%2Fetc%2Fpasswd"), 404);
        // Dot segments, encoded or not, resolve before routing (as nginx does): these reach '/', which only reads.
        await RefusedAsync(Raw("PUT", "/services/%2e%2e", """{"host": "example.test"}"""), 405);
        await RefusedAsync(Raw("DELETE", "/services/%2e%2e"), 405);
        await RefusedAsync(Raw("POST", "/services/../../services/%2E%2E/", """{"host": "example.test"}"""), 405);
        await RefusedAsync(Raw("GET", "/../../etc/passwd"), 404);
        await RefusedAsync(Raw("GET", "/services/%2e%2e/%2e%2e/etc/passwd"), 404);

        // NUL: in the path the HTTP server refuses it (a bare 400); in a body or a query it is Gantry's to refuse.
        await RefusedAsync(Raw("PUT", "/services/a%00b", """{"host": "example.test"}"""), 400);
        await RefusedAsync(Raw("GET", "/services/%00"), 400);
        await RefusedAsync(Send(HttpMethod.Post, "/services", Json("""{"name": "a\u0000b", "host": "example.test"}""")), 400, code: 2);
        await RefusedAsync(Send(HttpMethod.Post, "/services", Json("""{"host": "example\u0000.test"}""")), 400, code: 2);
        await RefusedAsync(Send(HttpMethod.Post, "/services", Json("""{"host": "example.test", "tags": ["a\u0000b"]}""")), 400, code: 2);
        await RefusedAsync(Send(HttpMethod.Get, "/services?tags=a%00b"), 400, code: 11);
        await RefusedAsync(Send(HttpMethod.Get, "/services?offset=%00"), 400, code: 7);
    }
}

/// <summary>Sends its content with Transfer-Encoding: chunked (no Content-Length), as a streaming client would.</summary>
internal sealed class ChunkedContent(HttpContent inner) : HttpContent
{
    protected override void SerializeToStream(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken) =>
        inner.CopyTo(stream, context, cancellationToken);

    protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => inner.CopyToAsync(stream, context);

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}

public sealed class SqliteBadInputTests(SqliteAdminNode node) : BadInputTests<SqliteAdminNode>(node), IClassFixture<SqliteAdminNode>;

public sealed class PostgresBadInputTests(PostgresAdminNode node) : BadInputTests<PostgresAdminNode>(node), IClassFixture<PostgresAdminNode>;
