using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;

namespace Gantry.Tests.Admin;

/// <summary>A node whose admin GUI is at a known URL, with a password set so redaction can be seen.</summary>
public sealed class GuiAdminNode() : AdminNode("sqlite")
{
    public const string GuiOrigin = "https://manager.example.test:9443";

    public static readonly int GuiPort = TestInstallation.FreePort();

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["GANTRY_ADMIN_GUI_URL"] = GuiOrigin + "/manager",
        ["GANTRY_ADMIN_GUI_LISTEN"] = $"127.0.0.1:{GuiPort}",
        ["GANTRY_PG_PASSWORD"] = "hunter2",
    };
}

/// <summary>The fixed endpoints (/, /status, /endpoints, /schemas, /tags), 404/405, HEAD, OPTIONS and CORS.</summary>
public sealed class AdminRootTests(GuiAdminNode node) : IClassFixture<GuiAdminNode>
{
    [Fact]
    public async Task Root_describes_the_node_in_the_shape_clients_read()
    {
        var (status, root) = await node.SendAsync(HttpMethod.Get, "/");
        Assert.Equal(200, status);
        Assert.Equal("3.9.0", root!["version"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(root["gantry_version"]!.GetValue<string>()));
        Assert.Equal("community", root["edition"]!.GetValue<string>());
        Assert.True(Guid.TryParse(root["node_id"]!.GetValue<string>(), out _));
        Assert.False(string.IsNullOrEmpty(root["hostname"]!.GetValue<string>()));
        var configuration = root["configuration"]!;
        Assert.Equal("traditional", configuration["role"]!.GetValue<string>());
        Assert.Equal("sqlite", configuration["database"]!.GetValue<string>());
        Assert.Equal("******", configuration["pg_password"]!.GetValue<string>());
        Assert.DoesNotContain("hunter2", root.ToJsonString());
        Assert.IsType<JsonArray>(configuration["admin_listen"]);
        Assert.Equal(5432, configuration["pg_port"]!.GetValue<long>());
        Assert.IsType<JsonObject>(root["plugins"]!["available_on_server"]);
        Assert.IsType<JsonArray>(root["plugins"]!["enabled_in_cluster"]);
        Assert.Equal(node.Process.Pid, root["pids"]!["master"]!.GetValue<int>());
    }

    [Fact]
    public async Task Plugins_in_use_are_read_from_the_database()
    {
        // Written straight into the table: this branch has no plugins endpoint yet, and GET / reads rows, not endpoints.
        var id = Guid.NewGuid();
        await node.Installation.ExecuteAsync(
            $"INSERT INTO plugins (id, name, config, enabled, created_at, updated_at) VALUES ('{id}', 'x-root-test', '{{}}', 1, 0, 0)");
        try
        {
            var (_, root) = await node.SendAsync(HttpMethod.Get, "/");
            Assert.Contains("x-root-test", root!["plugins"]!["enabled_in_cluster"]!.AsArray().Select(n => n!.GetValue<string>()));
        }
        finally
        {
            await node.Installation.ExecuteAsync($"DELETE FROM plugins WHERE id = '{id}'");
        }
    }

    [Fact]
    public async Task Status_reports_the_database_and_counters()
    {
        var (status, body) = await node.SendAsync(HttpMethod.Get, "/status");
        Assert.Equal(200, status);
        Assert.True(body!["database"]!["reachable"]!.GetValue<bool>());
        Assert.True(body["server"]!["total_requests"]!.GetValue<long>() >= 1);
        Assert.True(body["server"]!["connections_active"]!.GetValue<long>() >= 1);
        Assert.EndsWith(" MiB", body["memory"]!["workers_lua_vms"]![0]!["http_allocated_gc"]!.GetValue<string>());
        (status, body) = await node.SendAsync(HttpMethod.Get, "/status?unit=k&scale=0");
        Assert.Equal(200, status);
        Assert.Matches(@"^\d+ KiB$", body!["memory"]!["resident"]!.GetValue<string>());
        (status, _) = await node.SendAsync(HttpMethod.Get, "/status?unit=parsecs");
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task Unknown_paths_are_404_and_wrong_methods_405_in_kongs_shape()
    {
        foreach (var path in new[] { "/nope", "/services/x/y/z/w", "/schemas", "/tags/a/b" })
        {
            var (status, body) = await node.SendAsync(HttpMethod.Get, path);
            Assert.Equal(404, status);
            Assert.Equal("""{"message":"Not found"}""", body!.ToJsonString());
        }
        foreach (var (method, path) in new[] { (HttpMethod.Delete, "/"), (HttpMethod.Post, "/status"), (HttpMethod.Put, "/endpoints"), (HttpMethod.Post, "/tags"), (HttpMethod.Get, "/schemas/services/validate"), (HttpMethod.Delete, "/services") })
        {
            var (status, body) = await node.SendAsync(method, path);
            Assert.Equal(405, status);
            Assert.Equal("""{"message":"Method not allowed"}""", body!.ToJsonString());
        }
    }

    [Fact]
    public async Task Endpoints_lists_fixed_and_generated_paths()
    {
        var (_, body) = await node.SendAsync(HttpMethod.Get, "/endpoints");
        var paths = body!["data"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        foreach (var expected in new[] { "/", "/status", "/endpoints", "/tags", "/tags/{tags}", "/schemas/{entity}", "/schemas/{entity}/validate", "/services", "/services/{services}" })
            Assert.Contains(expected, paths);
        Assert.Equal(paths.Order(StringComparer.Ordinal), paths);
    }

    [Fact]
    public async Task Schemas_describe_and_validate_entities()
    {
        var (status, schema) = await node.SendAsync(HttpMethod.Get, "/schemas/services");
        Assert.Equal(200, status);
        var fields = schema!["fields"]!.AsArray().Select(f => f!.AsObject().Single()).ToDictionary(p => p.Key, p => p.Value!);
        Assert.Equal("string", fields["id"]["type"]!.GetValue<string>());
        Assert.True(fields["id"]["uuid"]!.GetValue<bool>());
        Assert.Equal(80, fields["port"]["default"]!.GetValue<long>());
        Assert.Equal("[0,65535]", fields["port"]["between"]!.ToJsonString());
        Assert.True(fields["host"]["required"]!.GetValue<bool>());
        Assert.Equal("foreign", fields["client_certificate"]["type"]!.GetValue<string>());
        Assert.Equal("set", fields["tags"]["type"]!.GetValue<string>());
        Assert.Equal("name", schema["endpoint_key"]!.GetValue<string>());

        var before = await node.CountAsync("services");
        var (ok, message) = await node.PostJsonAsync("/schemas/services/validate", new JsonObject { ["url"] = "https://example.test:8443/api" });
        Assert.Equal(200, ok);
        Assert.Equal("schema validation successful", message!["message"]!.GetValue<string>());
        var (bad, error) = await node.PostJsonAsync("/schemas/services/validate", new JsonObject { ["port"] = 70000 });
        Assert.Equal(400, bad);
        Assert.Equal(2, error!["code"]!.GetValue<int>());
        Assert.Equal("required field missing", error["fields"]!["host"]!.GetValue<string>());
        Assert.Equal(before, await node.CountAsync("services"));
    }

    [Fact]
    public async Task Tags_are_listed_and_paginated()
    {
        var tag = "root-" + Guid.NewGuid().ToString("N")[..8];
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var (status, created) = await node.PostJsonAsync("/services", new JsonObject { ["host"] = "example.test", ["tags"] = new JsonArray(tag, tag + "-other") });
            Assert.Equal(201, status);
            ids.Add(created!["id"]!.GetValue<string>());
        }

        var seen = await FollowAsync($"/tags/{tag}?size=1");
        Assert.Equal(ids.Order(StringComparer.Ordinal), seen.Select(e => e["entity_id"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(seen, e => Assert.Equal("services", e["entity_name"]!.GetValue<string>()));
        Assert.All(seen, e => Assert.Equal(tag, e["tag"]!.GetValue<string>()));

        // Every pair of the index exactly once, across pages of two.
        var all = await FollowAsync("/tags?size=2");
        var pairs = all.Select(e => (e["entity_id"]!.GetValue<string>(), e["tag"]!.GetValue<string>())).ToList();
        Assert.Equal(pairs.Count, pairs.Distinct().Count());
        Assert.Equal(await node.CountAsync("tags"), pairs.Count);
        Assert.Equal(6, pairs.Count(p => ids.Contains(p.Item1)));
    }

    private async Task<List<JsonNode>> FollowAsync(string path)
    {
        var result = new List<JsonNode>();
        string? next = path;
        for (var pages = 0; next is not null; pages++)
        {
            Assert.True(pages < 1000, "pagination does not end");
            var (status, page) = await node.SendAsync(HttpMethod.Get, next);
            Assert.Equal(200, status);
            result.AddRange(page!["data"]!.AsArray().Select(n => n!.DeepClone()));
            next = page["next"]?.GetValue<string>();
            Assert.Equal(next is null, page["offset"] is null);
        }
        return result;
    }

    [Fact]
    public async Task Head_answers_like_get_without_a_body()
    {
        using var response = await node.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/services"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        using var missing = await node.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/services/{Guid.NewGuid()}"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Theory]
    [InlineData(GuiAdminNode.GuiOrigin)]
    [InlineData("http://localhost:{gui}")]
    [InlineData("http://127.0.0.1:{gui}")]
    public async Task Gui_origins_are_echoed_with_credentials(string origin)
    {
        origin = origin.Replace("{gui}", GuiAdminNode.GuiPort.ToString());
        using var request = new HttpRequestMessage(HttpMethod.Get, "/services?size=1");
        request.Headers.Add("Origin", origin);
        using var response = await node.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(origin, Header(response, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(response, "Access-Control-Allow-Credentials"));
        Assert.Contains("Origin", Header(response, "Vary"));

        // Errors carry the headers too, or the browser hides Kong's error body from the GUI.
        using var failing = new HttpRequestMessage(HttpMethod.Get, "/nope");
        failing.Headers.Add("Origin", origin);
        using var notFound = await node.Http.SendAsync(failing);
        Assert.Equal(origin, Header(notFound, "Access-Control-Allow-Origin"));

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/services/some-service");
        preflight.Headers.Add("Origin", origin);
        preflight.Headers.Add("Access-Control-Request-Method", "PATCH");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type, kong-admin-token");
        using var answer = await node.Http.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Equal(origin, Header(answer, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(answer, "Access-Control-Allow-Credentials"));
        var methods = Header(answer, "Access-Control-Allow-Methods")!.Split(", ");
        Assert.Contains("PATCH", methods);
        Assert.Contains("DELETE", methods);
        Assert.DoesNotContain("POST", methods);
        Assert.Equal("content-type, kong-admin-token", Header(answer, "Access-Control-Allow-Headers"));
    }

    [Theory]
    [InlineData("https://evil.example.test")]
    [InlineData("https://manager.example.test")]
    [InlineData("http://manager.example.test:9443")]
    [InlineData("http://localhost:1")]
    [InlineData("null")]
    public async Task Other_origins_get_no_cors_headers(string origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("Origin", origin);
        using var response = await node.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(Header(response, "Access-Control-Allow-Origin"));
        Assert.Null(Header(response, "Access-Control-Allow-Credentials"));

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/services");
        preflight.Headers.Add("Origin", origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var answer = await node.Http.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Null(Header(answer, "Access-Control-Allow-Origin"));
        Assert.Null(Header(answer, "Access-Control-Allow-Methods"));
        Assert.Equal("GET, HEAD, POST, OPTIONS", Header(answer, "Allow"));
    }

    [Fact]
    public async Task Options_on_an_unknown_path_is_404()
    {
        using var response = await node.Http.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/nope"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("""{"message":"Not found"}""", await response.Content.ReadAsStringAsync());
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;
}
