using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gantry.Tests.Proxy;
using Gantry.Tests.Support;
using static Gantry.Tests.Clustering.HybridWaits;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Clustering;

/// <summary>
/// Kong's compatibility rules on the link, with real processes playing releases through the test host's
/// release files: a data plane newer than its control plane is refused and keeps serving its cache, and a
/// control plane of a newer release feeds an older data plane without the fields its release does not know.
/// </summary>
public sealed class HybridCompatibilityTests
{
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(15);

    private static int Count(string logs, string text)
    {
        var count = 0;
        for (var at = logs.IndexOf(text, StringComparison.Ordinal); at >= 0; at = logs.IndexOf(text, at + text.Length, StringComparison.Ordinal))
            count++;
        return count;
    }

    private static async Task<JsonElement> GetAsync(string url) => await Http.GetFromJsonAsync<JsonElement>(url);

    private static async Task<string> NodeIdAsync(HybridNode node) => (await GetAsync(node.Installation.AdminUrl + "/")).GetProperty("node_id").GetString()!;

    private static async Task<JsonElement?> RowAsync(HybridNode controlPlane, string id)
    {
        foreach (var row in (await GetAsync(controlPlane.Installation.AdminUrl + "/clustering/data-planes")).GetProperty("data").EnumerateArray())
        {
            if (row.GetProperty("id").GetString() == id)
                return row;
        }
        return null;
    }

    private static async Task<JsonElement> ControlPlaneOfAsync(HybridNode dataPlane) => (await dataPlane.StatusAsync()).GetProperty("control_plane");

    [Fact]
    public async Task A_data_plane_of_a_newer_minor_release_is_refused_both_sides_say_why_and_it_keeps_serving_its_cache()
    {
        await using var upstream = new EchoUpstream();
        var certificate = ClusterCertificates.Shared();
        await using var controlPlane = await HybridNode.ControlPlaneAsync("sqlite", certificate);
        controlPlane.Installation.UseRelease("""{"release": "1.4.0"}""");
        await controlPlane.StartAsync();
        await using var dataPlane = await HybridNode.DataPlaneAsync(controlPlane, certificate);
        dataPlane.Installation.UseRelease("""{"release": "1.4.2"}""");
        await dataPlane.StartAsync();
        await ServeAsync(controlPlane.Installation, "echo", $"http://127.0.0.1:{upstream.Port}/up", "/one");
        await AssertServesAsync(dataPlane, "/one");
        var id = await NodeIdAsync(dataPlane);
        var cache = Path.Combine(dataPlane.Installation.Prefix, "hybrid-config.json");
        var hash = (await dataPlane.StatusAsync()).GetProperty("configuration_hash").GetString()!;
        await UntilAsync(() => Task.FromResult(File.Exists(cache) && File.ReadAllText(cache).Contains(hash)), "the cache written");

        // The same data plane upgraded before its control plane.
        await dataPlane.StopAsync();
        dataPlane.Installation.UseRelease("""{"release": "1.5.0"}""");
        await dataPlane.StartAsync();
        await UntilLoggedAsync(controlPlane, "release 1.5.0) refused: kong_version_incompatible: data plane release 1.5.0 is newer than control plane release 1.4.0");
        await UntilLoggedAsync(dataPlane, "refuses this data plane (release 1.5.0): kong_version_incompatible: data plane release 1.5.0 is newer than control plane release 1.4.0; "
            + "upgrade the control plane first, then the data planes");
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(dataPlane.ProxyUrl + "/one")).StatusCode);
        var link = await ControlPlaneOfAsync(dataPlane);
        Assert.Equal("kong_version_incompatible", link.GetProperty("sync_status").GetString());
        Assert.False(link.GetProperty("connected").GetBoolean());
        Assert.Equal(hash, (await dataPlane.StatusAsync()).GetProperty("configuration_hash").GetString());
        await UntilAsync(async () => (await RowAsync(controlPlane, id))?.GetProperty("sync_status").GetString() == "kong_version_incompatible", "the refused row");
        var row = (await RowAsync(controlPlane, id))!.Value;
        Assert.Equal("1.5.0", row.GetProperty("version").GetString());
        Assert.Equal(hash, row.GetProperty("config_hash").GetString());
        var metrics = await Http.GetStringAsync(controlPlane.Installation.AdminUrl + "/metrics");
        Assert.Contains($"kong_data_plane_version_compatible{{node_id=\"{id}\",hostname=\"{row.GetProperty("hostname").GetString()}\",ip=\"127.0.0.1\",kong_version=\"1.5.0\"}} 0", metrics);

        // It tries again at the reconnect pace (0.2 to 0.4 s here), not in a loop, and says why only once.
        var refusals = Count(controlPlane.Logs, "refused: kong_version_incompatible");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var retries = Count(controlPlane.Logs, "refused: kong_version_incompatible") - refusals;
        Assert.InRange(retries, 1, 12);
        Assert.Equal(1, Count(dataPlane.Logs, "refuses this data plane"));
        Assert.DoesNotContain("connected to the control plane", dataPlane.Logs[dataPlane.Logs.IndexOf("refuses this data plane", StringComparison.Ordinal)..]);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(dataPlane.ProxyUrl + "/one")).StatusCode);
    }

    [Fact]
    public async Task A_control_plane_of_a_newer_release_strips_the_fields_it_introduced_for_an_older_data_plane_under_a_hash_it_accepts()
    {
        await using var upstream = new EchoUpstream();
        var certificate = ClusterCertificates.Shared();
        await using var controlPlane = await HybridNode.ControlPlaneAsync("sqlite", certificate);
        controlPlane.Installation.UseRelease("""
            {"release": "1.5.0", "introduced_fields": [
              {"entity": "services", "path": "read_timeout"},
              {"plugin": "key-auth", "path": "config.hide_credentials"}]}
            """);
        await controlPlane.StartAsync();
        await using var older = await HybridNode.DataPlaneAsync(controlPlane, certificate);
        older.Installation.UseRelease("""{"release": "1.4.0"}""");
        await using var current = await HybridNode.DataPlaneAsync(controlPlane, certificate);
        current.Installation.UseRelease("""{"release": "1.5.0"}""");
        await older.StartAsync();
        await current.StartAsync();

        await CreateAsync(controlPlane.Installation, "/services", new { name = "echo", url = $"http://127.0.0.1:{upstream.Port}/up", read_timeout = 5000 });
        await CreateAsync(controlPlane.Installation, "/services/echo/routes", new { paths = new[] { "/one" } });
        await CreateAsync(controlPlane.Installation, "/services", new { name = "guarded", url = $"http://127.0.0.1:{upstream.Port}/up" });
        var plugin = await Http.PostAsJsonAsync(controlPlane.Installation.AdminUrl + "/services/guarded/plugins", new { name = "key-auth", config = new { hide_credentials = true } });
        Assert.Equal(HttpStatusCode.Created, plugin.StatusCode);
        var pluginId = (await plugin.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        await AssertServesAsync(older, "/one");
        await AssertServesAsync(current, "/one");
        await UntilAsync(async () => (await Http.GetAsync(older.Installation.AdminUrl + "/plugins/" + pluginId)).IsSuccessStatusCode, "the plugin on the older data plane");

        // The older data plane has neither field (its own default fills in); the current one has both.
        Assert.Equal(60000, (await GetAsync(older.Installation.AdminUrl + "/services/echo")).GetProperty("read_timeout").GetInt32());
        Assert.Equal(5000, (await GetAsync(current.Installation.AdminUrl + "/services/echo")).GetProperty("read_timeout").GetInt32());
        Assert.False((await GetAsync(older.Installation.AdminUrl + "/plugins/" + pluginId)).GetProperty("config").GetProperty("hide_credentials").GetBoolean());
        await UntilAsync(async () => (await Http.GetAsync(current.Installation.AdminUrl + "/plugins/" + pluginId)).IsSuccessStatusCode, "the plugin on the current data plane");
        Assert.True((await GetAsync(current.Installation.AdminUrl + "/plugins/" + pluginId)).GetProperty("config").GetProperty("hide_credentials").GetBoolean());

        // Deltas that carry the stripped field: the older data plane applies each under the hash it was sent.
        for (var i = 0; i < 3; i++)
        {
            await CreateAsync(controlPlane.Installation, "/services/echo/routes", new { paths = new[] { $"/delta{i}" } });
            var patch = await Http.PatchAsJsonAsync(controlPlane.Installation.AdminUrl + "/services/echo", new { read_timeout = 7000 + i });
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        }
        await AssertServesAsync(older, "/delta2");
        await AssertServesAsync(current, "/delta2");
        var controlPlaneHash = (await controlPlane.StatusAsync()).GetProperty("clustering").GetProperty("config_hash").GetString();
        await UntilAsync(async () => (await current.StatusAsync()).GetProperty("configuration_hash").GetString() == controlPlaneHash, "the current data plane's hash");
        await UntilAsync(async () => (await GetAsync(older.Installation.AdminUrl + "/services/echo")).GetProperty("updated_at").GetInt64()
            == (await GetAsync(controlPlane.Installation.AdminUrl + "/services/echo")).GetProperty("updated_at").GetInt64(), "the last patch on the older data plane");
        Assert.Equal(60000, (await GetAsync(older.Installation.AdminUrl + "/services/echo")).GetProperty("read_timeout").GetInt32());
        Assert.Equal(7002, (await GetAsync(current.Installation.AdminUrl + "/services/echo")).GetProperty("read_timeout").GetInt32());

        var link = await ControlPlaneOfAsync(older);
        Assert.True(link.GetProperty("full_received").GetInt64() == 1, link + "\n" + older.Logs);
        Assert.True(link.GetProperty("deltas_received").GetInt64() >= 6, link.ToString());
        Assert.DoesNotContain("asking the control plane for the whole configuration", older.Logs);
        var olderHash = (await older.StatusAsync()).GetProperty("configuration_hash").GetString();
        Assert.NotEqual(controlPlaneHash, olderHash);
        var olderId = await NodeIdAsync(older);
        await UntilAsync(async () => (await RowAsync(controlPlane, olderId))?.GetProperty("config_hash").GetString() == olderHash, "the older data plane's row");
        Assert.Equal("normal", (await RowAsync(controlPlane, olderId))!.Value.GetProperty("sync_status").GetString());

        // Said once per data plane and field, however many messages lost it; nothing for the current data plane.
        Assert.Equal(1, Count(controlPlane.Logs, $"stripped services.read_timeout (1.5.0) from the configuration sent to data plane {olderId}"));
        Assert.Equal(1, Count(controlPlane.Logs, $"stripped plugin key-auth config.hide_credentials (1.5.0) from the configuration sent to data plane {olderId}"));
        Assert.DoesNotContain($"from the configuration sent to data plane {await NodeIdAsync(current)}", controlPlane.Logs);
    }
}
