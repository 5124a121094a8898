using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Proxy;

/// <summary>Two nodes on a PostgreSQL of the test's own, which is stopped and started again under them.</summary>
public sealed class DatabaseOutageTests
{
    [Fact]
    public async Task Nodes_keep_serving_while_postgres_is_stopped_and_pick_up_changes_once_it_is_back()
    {
        await using var upstream = new EchoUpstream();
        await using var postgres = await PrivatePostgres.CreateAsync();
        // Installations for their prefixes and listen ports, pointed at the private cluster.
        await using var installationA = await TestInstallation.CreateAsync("sqlite");
        await using var installationB = await TestInstallation.CreateAsync("sqlite");
        var a = OnPostgres(installationA, postgres);
        var b = OnPostgres(installationB, postgres);
        var bootstrap = await GantryProcess.RunAsync(a, "migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        await using var nodeA = GantryProcess.Start(a, "start");
        await using var nodeB = GantryProcess.Start(b, "start");
        await nodeA.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        await nodeB.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        var adminA = "http://" + a["GANTRY_ADMIN_LISTEN"];
        var proxyA = "http://" + a["GANTRY_PROXY_LISTEN"];
        var proxyB = "http://" + b["GANTRY_PROXY_LISTEN"];

        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsJsonAsync(adminA + "/services", new { name = "echo", url = $"http://127.0.0.1:{upstream.Port}" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsJsonAsync(adminA + "/services/echo/routes", new { paths = new[] { "/before" } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(proxyB + "/before", TimeSpan.FromSeconds(30))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await UntilRoutedAsync(proxyA + "/before", TimeSpan.FromSeconds(30))).StatusCode);

        await postgres.StopAsync();
        // Both nodes notice within a few refreshes, and keep serving what they have.
        foreach (var (env, proxy) in new[] { (a, proxyA), (b, proxyB) })
        {
            var status = await UntilAsync(() => StatusAsync(env), s => !UpToDate(s), TimeSpan.FromSeconds(30));
            Assert.False(UpToDate(status));
            Assert.False(status.GetProperty("database").GetProperty("reachable").GetBoolean());
            for (var i = 0; i < 5; i++)
                Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(proxy + "/before")).StatusCode);
        }
        // The Admin API says the database is down, and where it looked for it; the proxy keeps serving meanwhile.
        var unreachable = $"the database (PostgreSQL at {postgres.Environment["GANTRY_PG_HOST"]}:{postgres.Environment["GANTRY_PG_PORT"]}, database '{postgres.Environment["GANTRY_PG_DATABASE"]}') cannot be reached: ";
        foreach (var request in new Func<Task<HttpResponseMessage>>[]
                 {
                     () => Http.PostAsJsonAsync(adminA + "/services", new { name = "during", url = "http://127.0.0.1:1" }),
                     () => Http.PostAsJsonAsync(adminA + "/services/echo/routes", new { paths = new[] { "/during" } }),
                     () => Http.PatchAsJsonAsync(adminA + "/services/echo", new { retries = 1 }),
                     () => Http.DeleteAsync(adminA + "/services/echo"),
                     () => Http.GetAsync(adminA + "/services"),
                     () => Http.GetAsync(adminA + "/tags"),
                 })
        {
            using var response = await request();
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.StartsWith(unreachable, body.GetProperty("message").GetString());
            Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(proxyA + "/before")).StatusCode);
        }

        await postgres.StartAsync();
        // Node A's Admin API writes again once the database answers; node B picks the new route up.
        var created = await UntilAsync(() => Http.PostAsJsonAsync(adminA + "/services/echo/routes", new { paths = new[] { "/after" } }),
            r => r.StatusCode == HttpStatusCode.Created, TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var after = await UntilRoutedAsync(proxyB + "/after/x", TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("/x", (await after.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("path").GetString());
        Assert.True(UpToDate(await UntilAsync(() => StatusAsync(b), UpToDate, TimeSpan.FromSeconds(30))));
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(proxyB + "/before")).StatusCode);
    }

    private static Dictionary<string, string> OnPostgres(TestInstallation installation, PrivatePostgres postgres)
    {
        foreach (var (key, value) in postgres.Environment)
            installation.Environment[key] = value;
        installation.Environment["GANTRY_DB_UPDATE_FREQUENCY"] = "0.2";
        return installation.Environment;
    }

    private static bool UpToDate(JsonElement status) => status.GetProperty("configuration").GetProperty("up_to_date").GetBoolean();
}
