using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Tests.Proxy;
using Gantry.Tests.Support;

namespace Gantry.Tests.DbLess;

/// <summary>
/// Nodes without a database (database = off), end to end: a document given at start or posted to
/// /config is what the proxy serves, on a real loopback upstream; the Admin API refuses writes as Kong
/// does; a refused document changes nothing; the last accepted one survives a restart; reloads drop no request.
/// </summary>
public sealed class DbLessNodeTests
{
    private static readonly HttpClient Http = ProxyNode.Http;

    /// <summary>A service on the upstream with one route per path, named after the path.</summary>
    private static string Document(int upstreamPort, params string[] paths)
    {
        var text = new StringBuilder($"""
            _format_version: "3.0"
            services:
            - name: echo
              url: http://127.0.0.1:{upstreamPort}/up
              routes:

            """);
        foreach (var path in paths)
            text.Append($"  - name: r{path.Trim('/').Replace('/', '-')}\n    paths: [\"{path}\"]\n");
        return text.ToString();
    }

    private static async Task<(TestInstallation Gantry, GantryProcess Node)> StartAsync(string? document, Action<TestInstallation>? configure = null)
    {
        var gantry = await TestInstallation.CreateAsync("off");
        if (document is not null)
        {
            var file = Path.Combine(gantry.Prefix, "kong.yml");
            await File.WriteAllTextAsync(file, document);
            gantry.Environment["GANTRY_DECLARATIVE_CONFIG"] = file;
        }
        configure?.Invoke(gantry);
        var node = gantry.Start("start");
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        return (gantry, node);
    }

    private static string Md5(string text) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text)));

    private static async Task<(int Status, JsonObject? Body)> PostConfigAsync(TestInstallation gantry, string document, string query = "", string mediaType = "text/yaml")
    {
        using var response = await Http.PostAsync(gantry.AdminUrl + "/config" + query, new StringContent(document, Encoding.UTF8, mediaType));
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject);
    }

    private static async Task<JsonObject> GetJsonAsync(string url) => (await Http.GetFromJsonAsync<JsonObject>(url))!;

    [Fact]
    public async Task A_node_started_from_a_file_proxies_to_its_upstream_and_serves_a_posted_document_instead()
    {
        await using var upstream = new EchoUpstream();
        var first = Document(upstream.Port, "/one");
        var (gantry, node) = await StartAsync(first);
        await using var _ = gantry;
        await using var __ = node;
        var proxy = ProxyNode.ProxyUrl(gantry);

        var response = await Http.GetAsync(proxy + "/one/thing");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/up/thing", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["path"]!.GetValue<string>());
        var status = await GetJsonAsync(gantry.AdminUrl + "/status");
        Assert.Equal(Md5(first), status["configuration_hash"]!.GetValue<string>());
        Assert.Null(status["database"]);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(gantry.StatusUrl + "/status/ready")).StatusCode);
        var services = await GetJsonAsync(gantry.AdminUrl + "/services");
        Assert.Equal("echo", services["data"]![0]!["name"]!.GetValue<string>());

        var second = Document(upstream.Port, "/two");
        var (created, body) = await PostConfigAsync(gantry, second);
        Assert.Equal(201, created);
        var route = Assert.Single(body!["routes"]!.AsObject());
        Assert.Equal("rtwo", route.Value!["name"]!.GetValue<string>());
        Assert.Equal(route.Key, route.Value["id"]!.GetValue<string>());
        Assert.Single(body["services"]!.AsObject());

        // Swapped before the answer: no wait for a poll.
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(proxy + "/two")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(proxy + "/one")).StatusCode);
        Assert.Equal(Md5(second), (await GetJsonAsync(gantry.StatusUrl + "/status"))["configuration_hash"]!.GetValue<string>());
        var routes = await GetJsonAsync(gantry.AdminUrl + "/routes");
        Assert.Equal("rtwo", Assert.Single(routes["data"]!.AsArray())!["name"]!.GetValue<string>());

        var exported = (await GetJsonAsync(gantry.AdminUrl + "/config"))["config"]!.GetValue<string>();
        Assert.Contains("_format_version", exported);
        Assert.Contains("/two", exported);
        Assert.DoesNotContain("/one", exported);
    }

    [Fact]
    public async Task Writes_are_refused_with_kongs_405_after_validation_and_reads_still_work()
    {
        await using var upstream = new EchoUpstream();
        var (gantry, node) = await StartAsync(Document(upstream.Port, "/one"));
        await using var _ = gantry;
        await using var __ = node;
        var admin = gantry.AdminUrl;
        var service = await GetJsonAsync(admin + "/services/echo");
        var id = service["id"]!.GetValue<string>();

        async Task AssertRefused(HttpResponseMessage response, string message)
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(12, body["code"]!.GetValue<int>());
            Assert.Equal("operation unsupported", body["name"]!.GetValue<string>());
            Assert.Equal(message, body["message"]!.GetValue<string>());
        }

        await AssertRefused(await Http.PostAsJsonAsync(admin + "/services", new { name = "other", url = "http://example.com" }),
            "cannot create 'services' entities when not using a database");
        await AssertRefused(await Http.PatchAsJsonAsync(admin + "/services/" + id, new { retries = 3 }),
            "cannot update 'services' entities when not using a database");
        await AssertRefused(await Http.PatchAsJsonAsync(admin + "/services/echo", new { retries = 3 }),
            "cannot update 'services' entities by 'name' when not using a database");
        await AssertRefused(await Http.PutAsJsonAsync(admin + "/services/" + id, new { url = "http://example.com" }),
            "cannot create or update 'services' entities when not using a database");
        await AssertRefused(await Http.DeleteAsync(admin + "/services/" + id),
            "cannot remove 'services' entities when not using a database");
        await AssertRefused(await Http.PostAsJsonAsync(admin + "/consumers", new { username = "alice" }),
            "cannot create 'consumers' entities when not using a database");
        // As in Kong, the payload is validated before the store refuses it.
        var invalid = await Http.PostAsJsonAsync(admin + "/services", new { name = "other", port = 99999, host = "example.com" });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal(2, JsonNode.Parse(await invalid.Content.ReadAsStringAsync())!["code"]!.GetValue<int>());

        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(admin + "/services/" + id + "/routes")).StatusCode);
        Assert.Single((await GetJsonAsync(admin + "/services"))["data"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(ProxyNode.ProxyUrl(gantry) + "/one")).StatusCode);
    }

    [Fact]
    public async Task Check_hash_answers_304_for_the_document_being_served_and_a_config_field_is_taken_as_the_document()
    {
        await using var upstream = new EchoUpstream();
        var first = Document(upstream.Port, "/one");
        var (gantry, node) = await StartAsync(first);
        await using var _ = gantry;
        await using var __ = node;

        Assert.Equal(304, (await PostConfigAsync(gantry, first, "?check_hash=1")).Status);
        // Without check_hash the same document is loaded again.
        Assert.Equal(201, (await PostConfigAsync(gantry, first)).Status);

        var second = Document(upstream.Port, "/two");
        var form = await Http.PostAsync(gantry.AdminUrl + "/config?check_hash=1", new FormUrlEncodedContent([new("config", second)]));
        Assert.Equal(HttpStatusCode.Created, form.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(ProxyNode.ProxyUrl(gantry) + "/two")).StatusCode);

        var wrapped = new JsonObject { ["config"] = first, ["check_hash"] = 1 }.ToJsonString();
        Assert.Equal(201, (await PostConfigAsync(gantry, wrapped, "", "application/json")).Status);
        Assert.Equal(304, (await PostConfigAsync(gantry, wrapped, "", "application/json")).Status);
        Assert.Equal(Md5(first), (await GetJsonAsync(gantry.AdminUrl + "/status"))["configuration_hash"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_document_with_several_errors_is_refused_whole_with_kongs_flattened_errors_and_nothing_changes()
    {
        await using var upstream = new EchoUpstream();
        var first = Document(upstream.Port, "/one");
        var (gantry, node) = await StartAsync(first);
        await using var _ = gantry;
        await using var __ = node;
        var broken = $"""
            _format_version: "3.0"
            services:
            - name: good
              url: http://127.0.0.1:{upstream.Port}
              routes:
              - name: fine
                paths: ["/fine"]
            - name: bad-port
              host: example.com
              port: 99999
            consumers:
            - username: alice
              tags: [team-a]
              custom_id: 7
            """;

        var (status, body) = await PostConfigAsync(gantry, broken, "?flatten_errors=1");

        Assert.Equal(400, status);
        Assert.Equal(14, body!["code"]!.GetValue<int>());
        Assert.StartsWith("declarative config is invalid: ", body["message"]!.GetValue<string>());
        var flattened = body["flattened_errors"]!.AsArray();
        Assert.Equal(2, flattened.Count);
        var service = flattened.Single(e => e!["entity_type"]!.GetValue<string>() == "service")!;
        Assert.Equal("bad-port", service["entity_name"]!.GetValue<string>());
        Assert.Equal("99999", service["entity"]!["port"]!.ToJsonString());
        var portError = Assert.Single(service["errors"]!.AsArray())!;
        Assert.Equal("field", portError["type"]!.GetValue<string>());
        Assert.Equal("port", portError["field"]!.GetValue<string>());
        var consumer = flattened.Single(e => e!["entity_type"]!.GetValue<string>() == "consumer")!;
        Assert.Equal("alice", consumer["entity_name"]!.GetValue<string>());
        Assert.Equal("team-a", consumer["entity_tags"]![0]!.GetValue<string>());
        Assert.Equal("custom_id", consumer["errors"]![0]!["field"]!.GetValue<string>());

        // Without flatten_errors the same refusal, without the list.
        var (plain, plainBody) = await PostConfigAsync(gantry, broken);
        Assert.Equal(400, plain);
        Assert.Null(plainBody!["flattened_errors"]);

        var proxy = ProxyNode.ProxyUrl(gantry);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(proxy + "/one")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(proxy + "/fine")).StatusCode);
        Assert.Equal(Md5(first), (await GetJsonAsync(gantry.AdminUrl + "/status"))["configuration_hash"]!.GetValue<string>());
        Assert.Equal("echo", Assert.Single((await GetJsonAsync(gantry.AdminUrl + "/services"))["data"]!.AsArray())!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_node_restarted_without_a_document_serves_the_last_one_it_accepted()
    {
        await using var upstream = new EchoUpstream();
        var (gantry, node) = await StartAsync(null);
        await using var _ = gantry;
        var proxy = ProxyNode.ProxyUrl(gantry);
        // Nothing loaded yet: Kong's empty hash, and not ready.
        Assert.Equal(new string('0', 32), (await GetJsonAsync(gantry.StatusUrl + "/status"))["configuration_hash"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Http.GetAsync(gantry.StatusUrl + "/status/ready")).StatusCode);

        var posted = Document(upstream.Port, "/kept");
        Assert.Equal(201, (await PostConfigAsync(gantry, posted)).Status);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(gantry.StatusUrl + "/status/ready")).StatusCode);
        Assert.Equal(0, (await gantry.RunAsync("stop")).ExitCode);
        await node.WaitAsync(TimeSpan.FromSeconds(30));
        await node.DisposeAsync();

        await using var restarted = gantry.Start("start");
        await restarted.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(proxy + "/kept")).StatusCode);
        Assert.Equal(Md5(posted), (await GetJsonAsync(gantry.StatusUrl + "/status"))["configuration_hash"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(gantry.StatusUrl + "/status/ready")).StatusCode);
    }

    [Fact]
    public async Task An_invalid_starting_document_stops_the_start_and_names_each_problem()
    {
        await using var gantry = await TestInstallation.CreateAsync("off");
        var file = Path.Combine(gantry.Prefix, "kong.yml");
        await File.WriteAllTextAsync(file, "_format_version: \"3.0\"\nservices:\n- name: a\n  port: 99999\n  host: example.com\n- name: b\n");
        gantry.Environment["GANTRY_DECLARATIVE_CONFIG"] = file;

        var result = await gantry.RunAsync("start");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("service 'a': port", result.Stderr);
        Assert.Contains("service 'b'", result.Stderr);
        Assert.False(File.Exists(Path.Combine(gantry.Prefix, "dbless.yml")));
    }

    [Fact]
    public async Task Config_is_refused_with_kongs_400_on_a_node_with_a_database()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        await using var node = gantry.Start("start");
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        foreach (var request in new[] { new HttpRequestMessage(HttpMethod.Get, gantry.AdminUrl + "/config"),
                     new HttpRequestMessage(HttpMethod.Post, gantry.AdminUrl + "/config") { Content = new StringContent("_format_version: \"3.0\"\n") } })
        {
            var response = await Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("this endpoint is only available when Kong is configured to not use a database",
                JsonNode.Parse(await response.Content.ReadAsStringAsync())!["message"]!.GetValue<string>());
        }
        Assert.NotNull((await GetJsonAsync(gantry.AdminUrl + "/status"))["database"]);
    }

    [Fact]
    public async Task Requests_in_flight_during_reloads_are_neither_refused_nor_dropped()
    {
        await using var upstream = new EchoUpstream();
        // Large enough that each load takes a while, so that requests overlap it.
        var paths = new[] { "/steady" }.Concat(Enumerable.Range(0, 2000).Select(i => $"/filler/{i}")).ToArray();
        var (gantry, node) = await StartAsync(Document(upstream.Port, paths));
        await using var _ = gantry;
        await using var __ = node;
        var proxy = ProxyNode.ProxyUrl(gantry);
        using var stop = new CancellationTokenSource();
        var failures = new List<string>();
        var served = 0;

        async Task LoadAsync()
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.GetAsync(proxy + "/steady");
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        var text = await response.Content.ReadAsStringAsync();
                        lock (failures)
                            failures.Add($"{(int)response.StatusCode} {text}");
                    }
                    else
                        Interlocked.Increment(ref served);
                }
                catch (HttpRequestException e)
                {
                    lock (failures)
                        failures.Add(e.Message);
                }
            }
        }

        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(LoadAsync)).ToList();
        var loads = 0;
        for (var i = 0; i < 6; i++)
        {
            // Each document differs, so each is loaded and swapped in.
            var (status, body) = await PostConfigAsync(gantry, Document(upstream.Port, [.. paths, $"/extra/{i}"]));
            Assert.True(status == 201, $"load {i}: {status} {body}");
            loads++;
        }
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        Assert.Equal(6, loads);
        Assert.Empty(failures);
        Assert.True(served > 50, $"only {served} requests ran during the reloads");
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(proxy + "/extra/5")).StatusCode);

        // Posted side by side: while one is applied, the others are told to come back later.
        var racing = await Task.WhenAll(Enumerable.Range(0, 3).Select(i =>
            Http.PostAsync(gantry.AdminUrl + "/config", new StringContent(Document(upstream.Port, [.. paths, $"/race/{i}"]), Encoding.UTF8, "text/yaml"))));
        Assert.Contains(racing, r => r.StatusCode == HttpStatusCode.Created);
        var busy = racing.Where(r => r.StatusCode != HttpStatusCode.Created).ToList();
        Assert.NotEmpty(busy);
        foreach (var refused in busy)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Equal("Currently loading previous configuration", JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["message"]!.GetValue<string>());
        }
    }
}
