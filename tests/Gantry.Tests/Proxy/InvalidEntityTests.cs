using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Proxy;

/// <summary>
/// Route regexes are checked when written by the compiler the router uses, and a stored entity that still
/// cannot be used (written by hand, or by another release) is left out of the configuration without
/// stopping any other change from applying, before and after a restart.
/// </summary>
public sealed class InvalidEntityTests
{
    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task A_route_the_router_cannot_compile_is_refused_when_written_and_skipped_when_stored(string store)
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await TestInstallation.CreateAsync(store);
        var node = await StartAsync(gantry);
        try
        {
            var proxy = ProxyUrl(gantry);
            await CreateAsync(gantry, "/services", new { name = "echo", url = $"http://127.0.0.1:{upstream.Port}" });

            // A possessive quantifier is PCRE syntax .NET cannot run: 400 naming the path, nothing written.
            var refused = await Http.PostAsJsonAsync(gantry.AdminUrl + "/services/echo/routes", new { name = "bad", paths = new[] { "/fine", "~/a++b" } });
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            var error = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("schema violation", error.GetProperty("name").GetString());
            Assert.Contains("invalid regex: '/a++b'", error.GetProperty("fields").GetProperty("paths")[1].GetString());
            Assert.Equal(0, await gantry.CountAsync("SELECT count(*) FROM routes"));

            // Look-around runs as in Kong's PCRE.
            await CreateAsync(gantry, "/services/echo/routes", new { name = "ahead", paths = new[] { "~/look(?=ahead)" }, strip_path = false });
            Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(proxy + "/lookahead", TimeSpan.FromSeconds(30))).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(proxy + "/lookbehind")).StatusCode);

            // A row changed by hand to what the router cannot compile.
            await CreateAsync(gantry, "/services/echo/routes", new { name = "tampered", paths = new[] { "/tampered" } });
            Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(proxy + "/tampered", TimeSpan.FromSeconds(30))).StatusCode);
            var tamperedId = (string)(await gantry.ScalarAsync("SELECT id FROM routes WHERE name = 'tampered'"))!.ToString()!;
            await gantry.ExecuteAsync(gantry.IsPostgres
                ? "UPDATE routes SET paths = ARRAY['~/a++b'] WHERE name = 'tampered'"
                : "UPDATE routes SET paths = '[\"~/a++b\"]' WHERE name = 'tampered'");
            // With the event a write appends, naming the row: rebuilds read again only the rows events name.
            var now = gantry.IsPostgres ? "extract(epoch FROM clock_timestamp())" : "((julianday('now') - 2440587.5) * 86400.0)";
            await gantry.ExecuteAsync($"INSERT INTO cluster_events (id, node_id, at, nbf, expire_at, channel, data) VALUES ('{Guid.NewGuid()}', '{Guid.NewGuid()}', {now}, NULL, {now} + 86400, 'invalidations', '{{\"entity\":\"routes\",\"id\":\"{tamperedId}\",\"operation\":\"update\"}}')");

            // Every later change still applies; the tampered route is named on /status.
            await CreateAsync(gantry, "/services/echo/routes", new { name = "ok", paths = new[] { "/ok" } });
            Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(proxy + "/ok", TimeSpan.FromSeconds(30))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(proxy + "/lookahead")).StatusCode);
            var status = await UntilAsync(() => StatusAsync(gantry.Environment), s => InvalidIds(s).Contains(tamperedId), TimeSpan.FromSeconds(30));
            AssertNamesTampered(status, tamperedId);

            // A restart serves the rest and still names it.
            await node.DisposeAsync();
            node = gantry.Start("start");
            await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
            Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(proxy + "/ok", TimeSpan.FromSeconds(30))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(proxy + "/lookahead")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(proxy + "/tampered")).StatusCode);
            AssertNamesTampered(await StatusAsync(gantry.Environment), tamperedId);

            // Fixing it through the Admin API clears it.
            var fixedRoute = await Http.PatchAsJsonAsync(gantry.AdminUrl + "/routes/tampered", new { paths = new[] { "/tampered" } });
            Assert.Equal(HttpStatusCode.OK, fixedRoute.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(proxy + "/tampered", TimeSpan.FromSeconds(30))).StatusCode);
            Assert.Empty(InvalidIds(await UntilAsync(() => StatusAsync(gantry.Environment), s => InvalidIds(s).Count == 0, TimeSpan.FromSeconds(30))));
        }
        finally
        {
            await node.DisposeAsync();
        }
    }

    private static void AssertNamesTampered(JsonElement status, string tamperedId)
    {
        var configuration = status.GetProperty("configuration");
        Assert.True(configuration.GetProperty("up_to_date").GetBoolean(), status.ToString());
        Assert.True(configuration.GetProperty("database_reachable").GetBoolean());
        Assert.Equal(1, configuration.GetProperty("invalid_entities_count").GetInt32());
        var invalid = Assert.Single(configuration.GetProperty("invalid_entities").EnumerateArray());
        Assert.Equal("routes", invalid.GetProperty("entity").GetString());
        Assert.Equal(tamperedId, invalid.GetProperty("id").GetString());
        Assert.Contains("~/a++b", invalid.GetProperty("reason").GetString());
    }

    private static List<string> InvalidIds(JsonElement status) =>
        status.GetProperty("configuration").GetProperty("invalid_entities").EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToList();
}
