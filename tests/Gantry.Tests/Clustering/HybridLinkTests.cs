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
/// Hybrid mode end to end, on each store of the control plane: real processes on loopback, two data
/// planes linked to one control plane over mutual TLS, an echo upstream behind them.
/// </summary>
public abstract class HybridLinkTests(string store)
{
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(15);

    private static async Task<JsonElement> ControlPlaneOfAsync(HybridNode dataPlane) => (await dataPlane.StatusAsync()).GetProperty("control_plane");

    private static async Task<string> ClusterHashAsync(HybridNode controlPlane) =>
        (await controlPlane.StatusAsync()).GetProperty("clustering").GetProperty("config_hash").GetString()!;

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

        // The control plane lists both, as they report themselves, and exports them; each data plane says it is connected.
        var release = (await Http.GetFromJsonAsync<JsonElement>(controlPlane.Installation.AdminUrl + "/")).GetProperty("gantry_version").GetString();
        foreach (var dataPlane in new[] { first, second })
        {
            var id = (await Http.GetFromJsonAsync<JsonElement>(dataPlane.Installation.AdminUrl + "/")).GetProperty("node_id").GetString();
            JsonElement? row = null;
            await UntilAsync(async () =>
            {
                var page = await Http.GetFromJsonAsync<JsonElement>(controlPlane.Installation.AdminUrl + "/clustering/data-planes");
                row = page.GetProperty("data").EnumerateArray().Where(r => r.GetProperty("id").GetString() == id).Cast<JsonElement?>().FirstOrDefault();
                return row?.GetProperty("config_hash").GetString() == hash;
            }, $"data plane {id} listed with the control plane's hash");
            Assert.Equal(release, row!.Value.GetProperty("version").GetString());
            Assert.Equal("normal", row.Value.GetProperty("sync_status").GetString());
            Assert.Equal("127.0.0.1", row.Value.GetProperty("ip").GetString());
            Assert.Equal(Environment.MachineName, row.Value.GetProperty("hostname").GetString());
            Assert.InRange(row.Value.GetProperty("last_seen").GetInt64(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 10, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
            Assert.True(row.Value.GetProperty("cert_details").GetProperty("expiry_timestamp").GetInt64() > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            var metrics = await Http.GetStringAsync(controlPlane.Installation.AdminUrl + "/metrics");
            Assert.Contains($"kong_data_plane_last_seen{{node_id=\"{id}\"", metrics);
            Assert.Contains($"kong_data_plane_config_hash{{node_id=\"{id}\"", metrics);
            Assert.Contains($"kong_data_plane_version_compatible{{node_id=\"{id}\",hostname=\"{Environment.MachineName}\",ip=\"127.0.0.1\",kong_version=\"{release}\"}} 1", metrics);
            Assert.Contains("\nkong_control_plane_connected 1\n", await Http.GetStringAsync(dataPlane.Installation.StatusUrl + "/metrics"));
            // A data plane applies what it receives on the thread pool, not on the socket thread that received it (proxy_inline_io).
            Assert.DoesNotContain(Proxy.ProxyForwardingSuite.SocketThreadWarning, dataPlane.Logs);
        }
    }
}

public sealed class SqliteHybridLinkTests() : HybridLinkTests("sqlite");

public sealed class PostgresHybridLinkTests() : HybridLinkTests("postgres");

/// <summary>The link's certificates, the control plane's absence and a data plane that cannot apply a change, on SQLite.</summary>
public sealed class HybridResilienceTests
{
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(15);

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
    public async Task Pki_check_cn_admits_only_data_planes_named_in_the_control_planes_parent_domain()
    {
        await using var upstream = new EchoUpstream();
        // Both data planes chain to the CA; only one has a common name under the control plane's parent domain.
        var authority = ClusterCertificates.NewAuthority("cluster-ca");
        await using var controlPlane = await HybridNode.ControlPlaneAsync("sqlite", authority.Sign("cp.cluster.test"), "pki_check_cn", authority.Pair.Cert);
        controlPlane.Environment["GANTRY_CLUSTER_SERVER_NAME"] = "cp.cluster.test";
        await controlPlane.StartAsync();
        await using var named = await HybridNode.DataPlaneAsync(controlPlane, authority.Sign("dp1.cluster.test"), "pki", authority.Pair.Cert);
        named.Environment["GANTRY_CLUSTER_SERVER_NAME"] = "cp.cluster.test";
        await using var outsider = await HybridNode.DataPlaneAsync(controlPlane, authority.Sign("dp1.elsewhere.test"), "pki", authority.Pair.Cert);
        outsider.Environment["GANTRY_CLUSTER_SERVER_NAME"] = "cp.cluster.test";
        await named.StartAsync();
        await outsider.StartAsync();
        await ServeAsync(controlPlane.Installation, "echo", $"http://127.0.0.1:{upstream.Port}/up", "/one");
        await AssertServesAsync(named, "/one");

        await UntilLoggedAsync(controlPlane, "refused a data plane connecting from");
        Assert.Contains("its common name 'dp1.elsewhere.test' is not in the parent domain of the control plane's 'cp.cluster.test'", controlPlane.Logs);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(outsider.ProxyUrl + "/one")).StatusCode);
        Assert.Equal(1, (await controlPlane.StatusAsync()).GetProperty("clustering").GetProperty("data_planes_connected").GetInt32());
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
    public async Task A_data_plane_lacking_a_plugin_the_configuration_uses_keeps_its_last_configuration_until_it_no_longer_needs_it()
    {
        await using var upstream = new EchoUpstream();
        var certificate = ClusterCertificates.Shared();
        await using var controlPlane = await HybridNode.ControlPlaneAsync("sqlite", certificate);
        await controlPlane.StartAsync();
        await using var dataPlane = await HybridNode.DataPlaneAsync(controlPlane, certificate);
        // Without key-auth (without any plugin), which the control plane has.
        dataPlane.Environment["GANTRY_PLUGINS"] = "off";
        await dataPlane.StartAsync();
        await ServeAsync(controlPlane.Installation, "echo", $"http://127.0.0.1:{upstream.Port}/up", "/one");
        await AssertServesAsync(dataPlane, "/one");
        var before = await HashOfAsync(dataPlane);
        var id = (await Http.GetFromJsonAsync<JsonElement>(dataPlane.Installation.AdminUrl + "/")).GetProperty("node_id").GetString();

        var plugin = await Http.PostAsJsonAsync(controlPlane.Installation.AdminUrl + "/plugins", new { name = "key-auth" });
        Assert.Equal(HttpStatusCode.Created, plugin.StatusCode);
        var pluginId = (await plugin.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        await UntilLoggedAsync(dataPlane, "withholds its configuration from this data plane (plugin_set_incompatible): the configuration uses plugin key-auth, missing from the data plane");
        await UntilLoggedAsync(controlPlane, $"configuration withheld from data plane {id}");
        Assert.Equal("plugin_set_incompatible", (await ControlPlaneOfAsync(dataPlane)).GetProperty("sync_status").GetString());
        await UntilAsync(async () => (await RowOfAsync(controlPlane, id!))?.GetProperty("sync_status").GetString() == "plugin_set_incompatible", "the withheld row");
        var counted = await ControlPlaneOfAsync(dataPlane);
        var deltas = counted.GetProperty("deltas_received").GetInt64();
        // None, or one when it connected before anything was configured (else it was caught up with deltas from the empty one).
        var wholes = counted.GetProperty("full_received").GetInt64();

        // Held: later changes do not reach it either, and it serves its last configuration, unprotected by the plugin it lacks.
        await ServeAsync(controlPlane.Installation, "during", $"http://127.0.0.1:{upstream.Port}/up", "/during");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(dataPlane.ProxyUrl + "/during")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(dataPlane.ProxyUrl + "/one")).StatusCode);
        Assert.Equal(before, await HashOfAsync(dataPlane));
        var held = await ControlPlaneOfAsync(dataPlane);
        Assert.Equal(deltas, held.GetProperty("deltas_received").GetInt64());
        Assert.Equal(wholes, held.GetProperty("full_received").GetInt64());
        Assert.DoesNotContain("asking the control plane for the whole configuration", dataPlane.Logs);

        // Once the configuration no longer uses it, the data plane gets the whole configuration (it missed the deltas in between).
        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync(controlPlane.Installation.AdminUrl + "/plugins/" + pluginId)).StatusCode);
        await AssertServesAsync(dataPlane, "/during");
        var hash = await HashOfAsync(controlPlane);
        await UntilAsync(async () => await HashOfAsync(dataPlane) == hash, "the data plane at the control plane's hash");
        var link = await ControlPlaneOfAsync(dataPlane);
        Assert.Equal("normal", link.GetProperty("sync_status").GetString());
        // Exactly one whole configuration after the hold, whatever reconnects happened (a data plane that reconnects
        // names the hash it serves and is caught up with deltas from it, or held again).
        Assert.True(link.GetProperty("full_received").GetInt64() == wholes + 1, link + "\n" + dataPlane.Logs);
        await UntilAsync(async () => (await RowOfAsync(controlPlane, id!))?.GetProperty("sync_status").GetString() == "normal", "the row back to normal");
        Assert.Contains($"data plane {id} (", controlPlane.Logs);
        Assert.Contains("has every plugin the configuration uses now", controlPlane.Logs);
    }

    [Fact]
    public async Task A_data_plane_that_cannot_apply_a_delta_asks_for_the_whole_and_reaches_the_control_planes_hash()
    {
        await using var upstream = new EchoUpstream();
        var certificate = ClusterCertificates.Shared();
        await using var controlPlane = await HybridNode.ControlPlaneAsync("sqlite", certificate);
        await controlPlane.StartAsync();
        await using var dataPlane = await HybridNode.DataPlaneAsync(controlPlane, certificate);
        await dataPlane.StartAsync();
        await ServeAsync(controlPlane.Installation, "echo", $"http://127.0.0.1:{upstream.Port}/up", "/one");
        var first = new Guid("00000000-0000-4000-8000-000000000001");
        var second = new Guid("00000000-0000-4000-8000-000000000002");
        await PutAsync(controlPlane, $"/routes/{first}", new { name = "a", paths = new[] { "/a" }, service = new { name = "echo" } });
        await PutAsync(controlPlane, $"/routes/{second}", new { name = "b", paths = new[] { "/b" }, service = new { name = "echo" } });
        await AssertServesAsync(dataPlane, "/b");
        var hash = await HashOfAsync(controlPlane);
        var clock = Stopwatch.StartNew();
        while (await HashOfAsync(dataPlane) != hash && clock.Elapsed < Propagation)
            await Task.Delay(50);
        var fullBefore = (await dataPlane.StatusAsync()).GetProperty("control_plane").GetProperty("full_received").GetInt64();

        // The two routes swap names in one transaction, whose events the control plane reads together: one delta,
        // whose upserts (by id) give the first route the name the second still has on the data plane. The
        // data plane's write fails on the unique name, changes nothing and asks for the whole.
        await using (var connection = await controlPlane.Installation.OpenAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            foreach (var (id, name) in new[] { (first, "swap"), (second, "a"), (first, "b") })
                await ExecuteAsync(connection, transaction, "UPDATE routes SET name = @name WHERE id = @id", ("name", name), ("id", id.ToString()));
            foreach (var id in new[] { first, second })
            {
                await ExecuteAsync(connection, transaction,
                    "INSERT INTO cluster_events (id, node_id, at, nbf, expire_at, channel, data) VALUES (@id, @node, "
                    + "((julianday('now') - 2440587.5) * 86400.0), NULL, ((julianday('now') - 2440587.5) * 86400.0) + 86400, 'invalidations', @data)",
                    ("id", Guid.NewGuid().ToString()), ("node", Guid.NewGuid().ToString()), ("data", $"{{\"entity\":\"routes\",\"id\":\"{id}\",\"operation\":\"update\"}}"));
            }
            await transaction.CommitAsync();
        }
        await UntilLoggedAsync(dataPlane, "asking the control plane for the whole configuration");
        await UntilLoggedAsync(controlPlane, "asks for the whole configuration");
        hash = await HashOfAsync(controlPlane);
        clock.Restart();
        while (await HashOfAsync(dataPlane) != hash && clock.Elapsed < Propagation)
            await Task.Delay(50);
        Assert.Equal(hash, await HashOfAsync(dataPlane));
        Assert.Equal("b", (await Http.GetFromJsonAsync<JsonElement>(dataPlane.Installation.AdminUrl + $"/routes/{first}")).GetProperty("name").GetString());
        Assert.Equal("a", (await Http.GetFromJsonAsync<JsonElement>(dataPlane.Installation.AdminUrl + $"/routes/{second}")).GetProperty("name").GetString());
        var link = (await dataPlane.StatusAsync()).GetProperty("control_plane");
        Assert.True(link.GetProperty("full_received").GetInt64() > fullBefore, link + "\n" + dataPlane.Logs);
        await AssertServesAsync(dataPlane, "/a");
    }

    private static async Task PutAsync(HybridNode node, string path, object body)
    {
        var response = await Http.PutAsJsonAsync(node.Installation.AdminUrl + path, body);
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task ExecuteAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string sql,
        params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<JsonElement> ControlPlaneOfAsync(HybridNode dataPlane) => (await dataPlane.StatusAsync()).GetProperty("control_plane");

    private static async Task<JsonElement?> RowOfAsync(HybridNode controlPlane, string id)
    {
        var page = await Http.GetFromJsonAsync<JsonElement>(controlPlane.Installation.AdminUrl + "/clustering/data-planes");
        return page.GetProperty("data").EnumerateArray().Where(r => r.GetProperty("id").GetString() == id).Cast<JsonElement?>().FirstOrDefault();
    }
}
