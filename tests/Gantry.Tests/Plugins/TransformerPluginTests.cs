using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;

namespace Gantry.Tests.Plugins;

/// <summary>
/// request-transformer and response-transformer in a node's proxy, configured through the Admin API, in front of a real loopback
/// upstream that echoes what it received.
/// </summary>
public abstract class TransformerPluginTests(AdminNode node) : ProxyPluginTests(node)
{
    /// <summary>Every part of the request changed at once, in Kong's order of remove, rename, replace, add, append.</summary>
    protected async Task Request_transformer_changes_method_headers_query_json_body_and_path()
    {
        var path = await RouteAsync("rt");
        // The client's Host goes upstream unless a rule names Host; the upstream serves only its own address.
        Assert.Equal(200, (await Node.PatchAsync($"/routes/{Prefix}-rt", new { preserve_host = true })).Status);
        await Node.CreateAsync($"/routes/{Prefix}-rt/plugins", new
        {
            name = "request-transformer",
            config = new
            {
                http_method = "POST",
                remove = new { headers = new[] { "x-drop" }, querystring = new[] { "q1" }, body = new[] { "secret" } },
                rename = new { headers = new[] { "x-old:x-new" }, querystring = new[] { "old:new" }, body = new[] { "from:to" } },
                replace = new
                {
                    headers = new[] { "x-keep:replaced", "x-absent:never", $"host:127.0.0.1:{Upstream.Port}" },
                    querystring = new[] { "r:2" },
                    body = new[] { "kind:changed", "absent:never" },
                    uri = "/rewritten/a b",
                },
                add = new { headers = new[] { "x-keep:not-added", "x-added:yes" }, querystring = new[] { "added:1" }, body = new[] { "kind:not-added", "added:yes" } },
                append = new { headers = new[] { "x-multi:two" }, querystring = new[] { "r:3" }, body = new[] { "list:b" } },
            },
        });

        async Task<HttpResponseMessage> Send()
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, $"{Proxy}{path}/ignored?q1=1&old=o&r=1&z=9")
            {
                Content = new StringContent("""{"secret":"s","from":1,"kind":"k","list":"a","other":{"n":1}}""", Encoding.UTF8, "application/json"),
            };
            foreach (var (name, value) in new[] { ("x-drop", "1"), ("x-old", "o"), ("x-keep", "k"), ("x-multi", "one") })
                request.Headers.TryAddWithoutValidation(name, value);
            return await Client.SendAsync(request);
        }

        var response = await UntilAsync(Send, r => r.StatusCode == HttpStatusCode.OK && r.Content.ReadAsStringAsync().Result.Contains("\"POST\""));
        var echoed = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("POST", echoed["method"]!.GetValue<string>());
        Assert.Equal("/rewritten/a%20b?new=o&r=2&r=3&z=9&added=1", echoed["path"]!.GetValue<string>());
        var headers = (JsonObject)echoed["headers"]!;
        Assert.Null(headers["x-drop"]);
        Assert.Null(headers["x-old"]);
        Assert.Equal("o", headers["x-new"]!.GetValue<string>());
        Assert.Equal("replaced", headers["x-keep"]!.GetValue<string>());
        Assert.Null(headers["x-absent"]);
        Assert.Equal("yes", headers["x-added"]!.GetValue<string>());
        Assert.Matches("^one, ?two$", headers["x-multi"]!.GetValue<string>());
        Assert.Equal($"127.0.0.1:{Upstream.Port}", headers["host"]!.GetValue<string>());
        var body = JsonNode.Parse(echoed["body"]!.GetValue<string>())!.AsObject();
        Assert.Equal(["added", "kind", "list", "other", "to"], body.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(1, body["to"]!.GetValue<int>());
        Assert.Equal("changed", body["kind"]!.GetValue<string>());
        Assert.Equal("""["a","b"]""", body["list"]!.ToJsonString());
        Assert.Equal("""{"n":1}""", body["other"]!.ToJsonString());
        Assert.Equal("yes", body["added"]!.GetValue<string>());
        Assert.Equal(Encoding.UTF8.GetByteCount(echoed["body"]!.GetValue<string>()).ToString(), headers["content-length"]!.GetValue<string>());
    }

    /// <summary>Headers and JSON keys changed in Kong's order, typed by json_types, the body sent with its new length.</summary>
    protected async Task Response_transformer_changes_headers_and_json_body_in_kongs_order()
    {
        var path = await RouteAsync("resp");
        await Node.CreateAsync($"/routes/{Prefix}-resp/plugins", new
        {
            name = "response-transformer",
            config = new
            {
                remove = new { json = new[] { "headers" }, headers = new[] { "x-absent" } },
                rename = new { json = new[] { "path:where" }, headers = new[] { "x-upstream:x-origin" } },
                replace = new { json = new[] { "method:PATCHED", "absent:never" }, headers = new[] { "x-origin:replaced" } },
                add = new { json = new[] { "count:3", "flag:true", "method:not-added" }, json_types = new[] { "number", "boolean", "string" }, headers = new[] { "x-added:1" } },
                append = new { json = new[] { "body:more" }, headers = new[] { "x-added:2" } },
            },
        });
        var response = await UntilAsync(() => GetAsync(path), r => Header(r, "x-added") != "");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("", Header(response, "x-upstream"));
        Assert.Equal("replaced", Header(response, "x-origin"));
        Assert.Equal("1, 2", Header(response, "x-added"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(Encoding.UTF8.GetByteCount(text), response.Content.Headers.ContentLength);
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(["body", "count", "flag", "method", "where"], body.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal("PATCHED", body["method"]!.GetValue<string>());
        Assert.Equal("/", body["where"]!.GetValue<string>());
        Assert.Equal(3, body["count"]!.GetValue<long>());
        Assert.True(body["flag"]!.GetValue<bool>());
        Assert.Equal("""["","more"]""", body["body"]!.ToJsonString());
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class SqliteTransformerPluginTests(SqliteProxyNode node) : TransformerPluginTests(node), IClassFixture<SqliteProxyNode>
{
    [Fact]
    public Task Request_transformer_changes_every_part_of_the_request() => Request_transformer_changes_method_headers_query_json_body_and_path();

    [Fact]
    public async Task Request_transformer_forwards_what_its_rules_did_not_change_exactly_as_received()
    {
        var path = await RouteAsync("same");
        await Node.CreateAsync($"/routes/{Prefix}-same/plugins", new
        {
            name = "request-transformer",
            config = new
            {
                replace = new { headers = new[] { "x-none:1" }, querystring = new[] { "none:1" }, body = new[] { "none:1" } },
                add = new { headers = new[] { "x-seen:1" } },
            },
        });
        async Task<HttpResponseMessage> Send() => await Client.PostAsync($"{Proxy}{path}?x=%2F&y&x=%20",
            new StringContent("b=%2F&a=1&b", Encoding.ASCII, "application/x-www-form-urlencoded"));
        var response = await UntilAsync(Send, r => r.Content.ReadAsStringAsync().Result.Contains("x-seen"));
        var echoed = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("/?x=%2F&y&x=%20", echoed["path"]!.GetValue<string>());
        Assert.Equal("b=%2F&a=1&b", echoed["body"]!.GetValue<string>());
    }

    [Fact]
    public async Task Request_transformer_edits_a_form_body_and_leaves_other_bodies_alone()
    {
        var path = await RouteAsync("form");
        await Node.CreateAsync($"/routes/{Prefix}-form/plugins", new
        {
            name = "request-transformer",
            config = new { remove = new { body = new[] { "a" } }, add = new { body = new[] { "c:3 4", "b:no" } }, append = new { headers = new[] { "x-seen:1" } } },
        });
        async Task<HttpResponseMessage> Post(string body, string type) => await Client.PostAsync(Proxy + path, new StringContent(body, Encoding.UTF8, type));
        var form = await UntilAsync(() => Post("a=1&b=2", "application/x-www-form-urlencoded"),
            r => r.Content.ReadAsStringAsync().Result.Contains("x-seen"));
        Assert.Equal("b=2&c=3%204", JsonNode.Parse(await form.Content.ReadAsStringAsync())!["body"]!.GetValue<string>());

        var text = await Post("a=1&b=2", "text/plain");
        Assert.Equal("a=1&b=2", JsonNode.Parse(await text.Content.ReadAsStringAsync())!["body"]!.GetValue<string>());

        // A JSON body that is not an object is not the transformer's to edit.
        var array = await Post("[1,2]", "application/json");
        Assert.Equal("[1,2]", JsonNode.Parse(await array.Content.ReadAsStringAsync())!["body"]!.GetValue<string>());

        // An empty JSON body gets the added fields.
        var empty = await Post("", "application/json");
        Assert.Equal("""{"c":"3 4","b":"no"}""", JsonNode.Parse(await empty.Content.ReadAsStringAsync())!["body"]!.GetValue<string>());
    }

    [Fact]
    public async Task Request_transformer_header_value_with_a_line_break_is_refused_not_forwarded()
    {
        var path = await RouteAsync("crlf");
        var plugin = await Node.PostJsonAsync($"/routes/{Prefix}-crlf/plugins", JsonNode.Parse("""
            {"name":"request-transformer","config":{"add":{"headers":["x-injected:a\r\nx-evil: 1"]}}}
            """)!);
        Assert.Equal(201, plugin.Status);
        var refused = await UntilAsync(() => GetAsync(path), r => r.StatusCode == HttpStatusCode.BadRequest);
        Assert.Equal("Bad request", await Message(refused));
    }

    [Fact]
    public async Task Request_transformer_schema_errors_answer_400_in_kongs_shape()
    {
        var badMethod = await Node.PostAsync("/plugins", new { name = "request-transformer", config = new { http_method = "get!" } });
        Assert.Equal(400, badMethod.Status);
        Assert.Equal("schema violation", badMethod.Body!["name"]!.GetValue<string>());
        Assert.Equal(2, badMethod.Body["code"]!.GetValue<int>());
        Assert.Equal("invalid value: get!", badMethod.Body["fields"]!["config"]!["http_method"]!.GetValue<string>());

        var noColon = await Node.PostAsync("/plugins", new { name = "request-transformer", config = new { add = new { querystring = new[] { "ok:1", "nocolon" } } } });
        Assert.Equal(400, noColon.Status);
        Assert.Equal("key 'nocolon' has no value", noColon.Body!["fields"]!["config"]!["add"]!["querystring"]![1]!.GetValue<string>());

        var badHeader = await Node.PostAsync("/plugins", new { name = "request-transformer", config = new { rename = new { headers = new[] { "x-a:bad header" } } } });
        Assert.Equal(400, badHeader.Status);
        Assert.Equal("'bad header' is not a valid header", badHeader.Body!["fields"]!["config"]!["rename"]!["headers"]![0]!.GetValue<string>());

        var unknown = await Node.PostAsync("/plugins", new { name = "request-transformer", config = new { remove = new { cookies = new[] { "a" } } } });
        Assert.Equal(400, unknown.Status);
        Assert.Equal("unknown field", unknown.Body!["fields"]!["config"]!["remove"]!["cookies"]!.GetValue<string>());

        // Defaults: every list empty, replace.uri and http_method unset.
        var created = await Node.CreateAsync("/plugins", new { name = "request-transformer", route = new { id = (await Node.CreateAsync("/routes", new { paths = new[] { $"/{Prefix}/defaults" } }))["id"]!.GetValue<string>() } });
        var config = created["config"]!;
        Assert.Equal("[]", config["append"]!["headers"]!.ToJsonString());
        Assert.Equal("[]", config["remove"]!["body"]!.ToJsonString());
        Assert.Null(config["replace"]!["uri"]);
        Assert.Null(config["http_method"]);
    }

    [Fact]
    public Task Response_transformer_changes_headers_and_json_body() => Response_transformer_changes_headers_and_json_body_in_kongs_order();

    [Fact]
    public async Task Response_transformer_leaves_bodies_that_are_not_json_alone()
    {
        await using var raw = new RawEchoUpstream();
        await Node.CreateAsync("/services", new { name = Prefix + "-raw", url = $"http://127.0.0.1:{raw.Port}" });
        await Node.CreateAsync($"/services/{Prefix}-raw/routes", new { name = Prefix + "-raw", paths = new[] { $"/{Prefix}/raw" } });
        await Node.CreateAsync($"/routes/{Prefix}-raw/plugins", new
        {
            name = "response-transformer",
            config = new { remove = new { json = new[] { "a" } }, add = new { headers = new[] { "x-seen:1" } } },
        });
        const string Sent = """{"a":1,"b":2}""";
        var response = await UntilAsync(() => Client.PostAsync($"{Proxy}/{Prefix}/raw", new StringContent(Sent, Encoding.UTF8, "text/plain")),
            r => Header(r, "x-seen") == "1");
        // The upstream answers without a JSON content type: the body is not the transformer's, however it looks.
        Assert.Equal(Sent, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Response_transformer_schema_errors_answer_400_in_kongs_shape()
    {
        var badType = await Node.PostAsync("/plugins", new { name = "response-transformer", config = new { add = new { json = new[] { "a:1" }, json_types = new[] { "integer" } } } });
        Assert.Equal(400, badType.Status);
        Assert.Equal("schema violation", badType.Body!["name"]!.GetValue<string>());
        Assert.Contains("boolean", badType.Body["fields"]!["config"]!["add"]!["json_types"]![0]!.GetValue<string>());

        var noColon = await Node.PostAsync("/plugins", new { name = "response-transformer", config = new { replace = new { json = new[] { "nocolon" } } } });
        Assert.Equal(400, noColon.Status);
        Assert.Equal("invalid value: nocolon", noColon.Body!["fields"]!["config"]!["replace"]!["json"]![0]!.GetValue<string>());

        var querystring = await Node.PostAsync("/plugins", new { name = "response-transformer", config = new { add = new { querystring = new[] { "a:1" } } } });
        Assert.Equal(400, querystring.Status);
        Assert.Equal("unknown field", querystring.Body!["fields"]!["config"]!["add"]!["querystring"]!.GetValue<string>());
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class PostgresTransformerPluginTests(PostgresProxyNode node) : TransformerPluginTests(node), IClassFixture<PostgresProxyNode>
{
    [Fact]
    public Task Request_transformer_changes_every_part_of_the_request() => Request_transformer_changes_method_headers_query_json_body_and_path();

    [Fact]
    public Task Response_transformer_changes_headers_and_json_body() => Response_transformer_changes_headers_and_json_body_in_kongs_order();
}
