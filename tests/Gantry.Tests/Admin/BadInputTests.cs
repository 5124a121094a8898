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
    public async Task An_oversized_body_is_a_413()
    {
        // 11 MiB of a valid-looking JSON string: refused on its Content-Length, before it is read.
        var big = "{\"host\": \"example.test\", \"name\": \"" + new string('a', 11 * 1024 * 1024) + "\"}";
        var body = await RefusedAsync(Send(HttpMethod.Post, "/services", Json(big)), 413);
        Assert.Equal("Request size limit exceeded", body!["message"]!.GetValue<string>());
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
        Assert.Contains("length must be at most 1024", body!["message"]!.GetValue<string>());
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

public sealed class SqliteBadInputTests(SqliteAdminNode node) : BadInputTests<SqliteAdminNode>(node), IClassFixture<SqliteAdminNode>;

public sealed class PostgresBadInputTests(PostgresAdminNode node) : BadInputTests<PostgresAdminNode>(node), IClassFixture<PostgresAdminNode>;
