using System.Diagnostics;
using System.Net;
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
