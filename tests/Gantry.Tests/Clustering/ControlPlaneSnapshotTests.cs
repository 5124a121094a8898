using System.Net;
using System.Text.Json;
using Gantry.Tests.Support;
using static Gantry.Tests.Support.ProxyNode;

namespace Gantry.Tests.Clustering;

/// <summary>
/// A control plane proxies nothing, so it builds no proxy configuration: entity changes cost it no snapshot
/// build (which would take CPU from data planes on the same machine), its /status has no proxy
/// configuration to report, and it is ready as soon as its database answers.
/// </summary>
public abstract class ControlPlaneSnapshotTests(string store)
{
    [Fact]
    public async Task A_control_plane_builds_no_proxy_snapshot_and_is_ready()
    {
        await using var controlPlane = await HybridNode.ControlPlaneAsync(store, ClusterCertificates.Shared());
        controlPlane.Environment["GANTRY_LOG_LEVEL"] = "info";
        await controlPlane.StartAsync();

        await ServeAsync(controlPlane.Installation, "echo", "http://127.0.0.1:9/", "/one");
        await CreateAsync(controlPlane.Installation, "/services/echo/routes", new { paths = new[] { "/two" } });
        // Several refresh periods (db_update_frequency is 0.2 s here) for a build that should not happen.
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        var status = await controlPlane.StatusAsync();
        Assert.Equal(JsonValueKind.Null, status.GetProperty("configuration").ValueKind);
        Assert.Equal(32, status.GetProperty("clustering").GetProperty("config_hash").GetString()!.Length);
        var ready = await Http.GetAsync("http://" + controlPlane.Environment["GANTRY_STATUS_LISTEN"] + "/status/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        // Information lines are logged (the feed's are), and none of the proxy says a configuration was built.
        Assert.Contains("gantry.clustering", controlPlane.Logs);
        Assert.DoesNotContain(controlPlane.Logs.Split('\n'), line => line.Contains("gantry.proxy") && line.Contains("configuration version"));
    }
}

public sealed class SqliteControlPlaneSnapshotTests() : ControlPlaneSnapshotTests("sqlite");

public sealed class PostgresControlPlaneSnapshotTests() : ControlPlaneSnapshotTests("postgres");
