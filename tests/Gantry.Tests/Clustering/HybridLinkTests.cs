using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gantry.Tests.Proxy;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Clustering;

/// <summary>
/// Hybrid mode end to end, on each store of the control plane: real processes on loopback, two data
/// planes linked to one control plane over mutual TLS, an echo upstream behind them.
/// </summary>
public abstract class HybridLinkTests(string store)
{
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(15);

    private static async Task<JsonElement> ControlPlaneOfAsync(HybridNode dataPlane) => (await dataPlane.StatusAsync()).GetProperty("control_plane");

    private static async Task<string> ClusterHashAsync(HybridNode controlPlane) =>
        (await controlPlane.StatusAsync()).GetProperty("clustering").GetProperty("config_hash").GetString()!;

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Propagation)
                throw new TimeoutException($"not within {Propagation}: {what}");
            await Task.Delay(50);
        }
    }

    private static async Task AssertServesAsync(HybridNode dataPlane, string path)
    {
        var response = await UntilRoutedAsync(dataPlane.ProxyUrl + path, Propagation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} on {dataPlane.ProxyUrl}: {(int)response.StatusCode}\n{dataPlane.Logs}");
    }

    [Fact]
    public async Task A_route_created_on_the_control_plane_serves_on_both_data_planes_and_a_change_travels_as_a_small_delta()
    {
        await using var upstream = new EchoUpstream();
        var certificate = ClusterCertificates.Shared();
        await using var controlPlane = await HybridNode.ControlPlaneAsync(store, certificate);
        await controlPlane.StartAsync();
        await using var first = await HybridNode.DataPlaneAsync(controlPlane, certificate);
        await using var second = await HybridNode.DataPlaneAsync(controlPlane, certificate);
        await first.StartAsync();
        await second.StartAsync();

        await ServeAsync(controlPlane.Installation, "echo", $"http://127.0.0.1:{upstream.Port}/up", "/one");
        await AssertServesAsync(first, "/one");
        await AssertServesAsync(second, "/one");
        // The control plane itself proxies nothing.
        await Assert.ThrowsAsync<HttpRequestException>(() => Http.GetAsync(controlPlane.ProxyUrl + "/one"));

        var hash = await ClusterHashAsync(controlPlane);
        foreach (var dataPlane in new[] { first, second })
        {
            await UntilAsync(async () => (await dataPlane.StatusAsync()).GetProperty("configuration_hash").GetString() == hash, "the data plane's hash");
            var link = await ControlPlaneOfAsync(dataPlane);
            Assert.True(link.GetProperty("connected").GetBoolean());
            Assert.Equal(controlPlane.ClusterAddress, link.GetProperty("address").GetString());
            Assert.Equal("normal", link.GetProperty("sync_status").GetString());
            Assert.True(link.GetProperty("last_contact").GetInt64() > 0);
        }
        Assert.Equal(2, (await controlPlane.StatusAsync()).GetProperty("clustering").GetProperty("data_planes_connected").GetInt32());

        // One route on a small configuration, then on one with 1,000 more routes: the delta's size is the change's.
        await CreateAsync(controlPlane.Installation, "/services/echo/routes", new { paths = new[] { "/small" } });
        await AssertServesAsync(first, "/small");
        var small = (await ControlPlaneOfAsync(first)).GetProperty("last_delta_bytes").GetInt64();
        var document = new System.Text.StringBuilder($"_format_version: \"3.0\"\nservices:\n- name: bulk\n  url: http://127.0.0.1:{upstream.Port}/\n  routes:\n");
        for (var i = 0; i < 1000; i++)
            document.Append($"  - name: bulk-{i}\n    paths: [\"/bulk/{i}\"]\n");
        var file = Path.Combine(controlPlane.Installation.Prefix, "bulk.yml");
        await File.WriteAllTextAsync(file, document.ToString());
        var import = await controlPlane.Installation.RunAsync("config", "db_import", file);
        Assert.True(import.ExitCode == 0, import.ToString());
        await AssertServesAsync(first, "/bulk/999");
        var bulk = (await ControlPlaneOfAsync(first)).GetProperty("last_delta_bytes").GetInt64();
        await CreateAsync(controlPlane.Installation, "/services/echo/routes", new { paths = new[] { "/large" } });
        await AssertServesAsync(first, "/large");
        await AssertServesAsync(second, "/large");
        var link1 = await ControlPlaneOfAsync(first);
        var large = link1.GetProperty("last_delta_bytes").GetInt64();
        Assert.InRange(large, small - 64, small + 64);
        Assert.True(large < 1024, $"a one-route delta took {large} bytes");
        Assert.True(bulk > 20 * large, $"1,001 entities took {bulk} bytes, one route {large}");
        // Everything after the first configuration came as deltas.
        Assert.Equal(1, link1.GetProperty("full_received").GetInt64());
        Assert.True(link1.GetProperty("deltas_received").GetInt64() >= 3);
        hash = await ClusterHashAsync(controlPlane);
        await UntilAsync(async () => (await second.StatusAsync()).GetProperty("configuration_hash").GetString() == hash, "the second data plane's hash");
    }
}

public sealed class SqliteHybridLinkTests() : HybridLinkTests("sqlite");

public sealed class PostgresHybridLinkTests() : HybridLinkTests("postgres");

/// <summary>The link's certificates, the control plane's absence and a data plane that cannot apply a change, on SQLite.</summary>
public sealed class HybridResilienceTests
{
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(15);

    private static async Task AssertServesAsync(HybridNode dataPlane, string path)
    {
        var response = await UntilRoutedAsync(dataPlane.ProxyUrl + path, Propagation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} on {dataPlane.ProxyUrl}: {(int)response.StatusCode}\n{dataPlane.Logs}");
    }

    private static async Task UntilLoggedAsync(HybridNode node, string text)
    {
        var clock = Stopwatch.StartNew();
        while (!node.Logs.Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > Propagation)
                throw new TimeoutException($"'{text}' not logged within {Propagation}:\n{node.Logs}");
            await Task.Delay(50);
        }
    }

    private static async Task<string> HashOfAsync(HybridNode node) =>
        (await node.StatusAsync()).TryGetProperty("configuration_hash", out var hash)
            ? hash.GetString()!
            : (await node.StatusAsync()).GetProperty("clustering").GetProperty("config_hash").GetString()!;

    [Fact]
    public async Task A_data_plane_with_another_certificate_is_refused_and_both_sides_say_why()
    {
        await using var upstream = new EchoUpstream();
        // pki: the control plane's and the good data plane's certificates come from the CA; the rogue's from another CA.
        var authority = ClusterCertificates.NewAuthority("cluster-ca");
        var rogueAuthority = ClusterCertificates.NewAuthority("rogue-ca");
        await using var controlPlane = await HybridNode.ControlPlaneAsync("sqlite", authority.Sign("cp.cluster.test"), "pki", authority.Pair.Cert);
        controlPlane.Environment["GANTRY_CLUSTER_SERVER_NAME"] = "cp.cluster.test";
        await controlPlane.StartAsync();
        await using var good = await HybridNode.DataPlaneAsync(controlPlane, authority.Sign("dp.cluster.test"), "pki", authority.Pair.Cert);
        good.Environment["GANTRY_CLUSTER_SERVER_NAME"] = "cp.cluster.test";
        await using var rogue = await HybridNode.DataPlaneAsync(controlPlane, rogueAuthority.Sign("dp.cluster.test"), "pki", authority.Pair.Cert);
        rogue.Environment["GANTRY_CLUSTER_SERVER_NAME"] = "cp.cluster.test";
        await good.StartAsync();
        await rogue.StartAsync();
        await ServeAsync(controlPlane.Installation, "echo", $"http://127.0.0.1:{upstream.Port}/up", "/one");
        await AssertServesAsync(good, "/one");

        await UntilLoggedAsync(controlPlane, "refused a data plane connecting from");
        Assert.Contains("does not chain to cluster_ca_cert", controlPlane.Logs);
        await UntilLoggedAsync(rogue, "link to the control plane at");
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(rogue.ProxyUrl + "/one")).StatusCode);
        Assert.False((await rogue.StatusAsync()).GetProperty("control_plane").GetProperty("connected").GetBoolean());

        // shared: a data plane with a certificate of its own refuses the control plane's, and says so.
        await using var sharedPlane = await HybridNode.ControlPlaneAsync("sqlite", ClusterCertificates.Shared());
        await sharedPlane.StartAsync();
        await using var stranger = await HybridNode.DataPlaneAsync(sharedPlane, ClusterCertificates.Shared());
        await stranger.StartAsync();
        await UntilLoggedAsync(stranger, "refused the control plane's certificate");
        Assert.Contains("is not this node's cluster_cert", stranger.Logs);
        Assert.Equal(0, (await sharedPlane.StatusAsync()).GetProperty("clustering").GetProperty("data_planes_connected").GetInt32());
    }

    [Fact]
    public async Task Without_the_control_plane_data_planes_keep_serving_a_restarted_one_serves_its_cache_and_changes_flow_when_it_returns()
    {
        await using var upstream = new EchoUpstream();
        var certificate = ClusterCertificates.Shared();
        await using var controlPlane = await HybridNode.ControlPlaneAsync("sqlite", certificate);
        await controlPlane.StartAsync();
        await using var first = await HybridNode.DataPlaneAsync(controlPlane, certificate);
        await using var second = await HybridNode.DataPlaneAsync(controlPlane, certificate);
        await first.StartAsync();
        await second.StartAsync();
        await ServeAsync(controlPlane.Installation, "echo", $"http://127.0.0.1:{upstream.Port}/up", "/one");
        await AssertServesAsync(first, "/one");
        await AssertServesAsync(second, "/one");
        var hash = await HashOfAsync(controlPlane);
        var cache = Path.Combine(second.Installation.Prefix, "hybrid-config.json");
        await UntilLoggedAsync(second, "applied delta");
        var clock = Stopwatch.StartNew();
        while (!(File.Exists(cache) && File.ReadAllText(cache).Contains(hash)) && clock.Elapsed < Propagation)
            await Task.Delay(50);
        Assert.Contains(hash, File.ReadAllText(cache));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(cache));

        await controlPlane.StopAsync();
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(first.ProxyUrl + "/one")).StatusCode);
        await second.StopAsync();
        await second.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(second.ProxyUrl + "/one")).StatusCode);
        Assert.Contains("serving the cached configuration", second.Logs);
        var status = await second.StatusAsync();
        Assert.Equal(hash, status.GetProperty("configuration_hash").GetString());
        Assert.False(status.GetProperty("control_plane").GetProperty("connected").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(second.Installation.StatusUrl + "/status/ready")).StatusCode);

        // Changed while no control plane runs (an import into its database): the data planes catch up when it returns.
        var file = Path.Combine(controlPlane.Installation.Prefix, "more.yml");
        await File.WriteAllTextAsync(file, $"_format_version: \"3.0\"\nservices:\n- name: offline\n  url: http://127.0.0.1:{upstream.Port}/\n  routes:\n  - paths: [\"/offline\"]\n");
        controlPlane.Environment.Remove("GANTRY_ROLE");
        var import = await controlPlane.Installation.RunAsync("config", "db_import", file);
        controlPlane.Environment["GANTRY_ROLE"] = "control_plane";
        Assert.True(import.ExitCode == 0, import.ToString());
        await controlPlane.StartAsync();
        await AssertServesAsync(first, "/offline");
        await AssertServesAsync(second, "/offline");
        await ServeAsync(controlPlane.Installation, "later", $"http://127.0.0.1:{upstream.Port}/up", "/later");
        await AssertServesAsync(first, "/later");
        await AssertServesAsync(second, "/later");
        hash = await HashOfAsync(controlPlane);
        Assert.Equal(hash, await HashOfAsync(first));
        Assert.Equal(hash, await HashOfAsync(second));
    }

    [Fact]
    public async Task A_data_plane_that_cannot_apply_a_delta_asks_for_the_whole_and_reaches_the_control_planes_hash()
    {
        await using var upstream = new EchoUpstream();
        var certificate = ClusterCertificates.Shared();
        await using var controlPlane = await HybridNode.ControlPlaneAsync("sqlite", certificate);
        await controlPlane.StartAsync();
        await using var dataPlane = await HybridNode.DataPlaneAsync(controlPlane, certificate);
        // Without key-auth, a configuration that uses it does not validate on this data plane.
        dataPlane.Environment["GANTRY_PLUGINS"] = "off";
        await dataPlane.StartAsync();
        await ServeAsync(controlPlane.Installation, "echo", $"http://127.0.0.1:{upstream.Port}/up", "/one");
        await AssertServesAsync(dataPlane, "/one");
        var before = await HashOfAsync(dataPlane);

        var plugin = await Http.PostAsJsonAsync(controlPlane.Installation.AdminUrl + "/plugins", new { name = "key-auth" });
        Assert.Equal(HttpStatusCode.Created, plugin.StatusCode);
        var pluginId = (await plugin.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        await UntilLoggedAsync(dataPlane, "asking the control plane for the whole configuration");
        await UntilLoggedAsync(dataPlane, "from the control plane is refused");
        // The last configuration keeps serving, unprotected by the plugin it could not apply.
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(dataPlane.ProxyUrl + "/one")).StatusCode);
        Assert.Equal(before, await HashOfAsync(dataPlane));

        // Once the configuration no longer needs it, the next delta is onto a base the data plane does not
        // serve: it asks for the whole again, and this one applies.
        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync(controlPlane.Installation.AdminUrl + "/plugins/" + pluginId)).StatusCode);
        await ServeAsync(controlPlane.Installation, "after", $"http://127.0.0.1:{upstream.Port}/up", "/after");
        await AssertServesAsync(dataPlane, "/after");
        var hash = await HashOfAsync(controlPlane);
        var clock = Stopwatch.StartNew();
        while (await HashOfAsync(dataPlane) != hash && clock.Elapsed < Propagation)
            await Task.Delay(50);
        Assert.Equal(hash, await HashOfAsync(dataPlane));
        var link = (await dataPlane.StatusAsync()).GetProperty("control_plane");
        Assert.True(link.GetProperty("full_received").GetInt64() >= 3, link.ToString() + "\n" + dataPlane.Logs);
    }
}
