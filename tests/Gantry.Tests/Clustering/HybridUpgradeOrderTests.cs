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
/// The upgrade guide's order for hybrid mode, under constant proxy load through the data planes: control
/// plane and two data planes on release N-1; 'migrations up' of N; the control plane replaced by one of
/// N; 'migrations finish'; the data planes of N-1 keep receiving changes (without the field N introduced);
/// then each data plane is replaced by one of N. The test host plays both releases (N-1 claims this build's
/// release, N the next minor with a migration of both phases and a field it introduced). Not one request
/// through the data planes may fail.
/// </summary>
public sealed class HybridUpgradeOrderTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(20);

    private static readonly ReleaseVersion Build = ReleaseVersion.Parse(GantryInfo.BuildVersion);

    private static readonly string OldRelease = $"{Build.Major}.{Build.Minor}.0";

    private static readonly string NewRelease = $"{Build.Major}.{Build.Minor + 1}.0";

    private static string OldJson => $$"""{"release": "{{OldRelease}}"}""";

    /// <summary>N: a migration with an expand and a contract, and routes' request_buffering as a field it introduced.</summary>
    private static string NewJson => $$"""
        {"release": "{{NewRelease}}",
         "subsystems": [{"name": "hybridprobe", "migrations": [{"name": "001_probe",
           "up": [{"sql": "CREATE TABLE hybrid_probe (id INTEGER PRIMARY KEY)"}],
           "finish": [{"sql": "INSERT INTO hybrid_probe (id) VALUES (1)"}]}]}],
         "introduced_fields": [{"entity": "routes", "path": "request_buffering"}]}
        """;

    [Fact]
    public async Task Control_plane_first_then_data_planes_one_at_a_time_drops_no_request()
    {
        await using var upstream = new EchoUpstream();
        var certificate = ClusterCertificates.Shared();
        await using var controlPlane = await HybridNode.ControlPlaneAsync("postgres", certificate, bootstrap: false);
        controlPlane.Installation.UseRelease(OldJson);
        var bootstrap = await controlPlane.Installation.RunAsync("migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        await controlPlane.StartAsync();
        Assert.Contains($"Gantry {OldRelease} started", controlPlane.Logs);

        var oldPlanes = new List<HybridNode>();
        var newPlanes = new List<HybridNode>();
        foreach (var _ in new[] { 1, 2 })
        {
            var dataPlane = await HybridNode.DataPlaneAsync(controlPlane, certificate);
            dataPlane.Installation.UseRelease(OldJson);
            await dataPlane.StartAsync();
            oldPlanes.Add(dataPlane);
        }
        await using var firstOld = oldPlanes[0];
        await using var secondOld = oldPlanes[1];
        await ServeAsync(controlPlane.Installation, "echo", $"http://127.0.0.1:{upstream.Port}/up", "/load");
        foreach (var dataPlane in oldPlanes)
            await AssertServesAsync(dataPlane, "/load");

        await using var load = new CountingLoad(oldPlanes.Select(p => p.ProxyUrl + "/load"));
        await load.RunForAsync(200, Propagation);

        // ---- 1. the control plane: up, a control plane of N, finish ----
        var newEnvironment = new Dictionary<string, string>(controlPlane.Environment)
        {
            [TestHost.ReleaseVariable] = controlPlane.Installation.WriteRelease(NewJson),
        };
        var up = await GantryProcess.RunAsync(newEnvironment, "migrations", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains("hybridprobe migrated up to: 001_probe (pending)", up.Stdout);
        // The old control plane still takes writes after up, and its data planes still get them.
        await CreateAsync(controlPlane.Installation, "/services/echo/routes", new { name = "after-up", paths = new[] { "/after-up" } });
        foreach (var dataPlane in oldPlanes)
            await AssertServesAsync(dataPlane, "/after-up");
        await load.RunForAsync(200, Propagation);

        // Replaced in place: the same cluster and Admin addresses (what the data planes and the operator use),
        // the old node drained first. The data planes keep serving while they reconnect.
        var quit = await controlPlane.Installation.RunAsync("quit");
        Assert.True(quit.ExitCode == 0, quit.ToString());
        await controlPlane.StopAsync();
        controlPlane.Installation.UseRelease(NewJson);
        await controlPlane.StartAsync();
        Assert.Contains($"Gantry {NewRelease} started", controlPlane.Logs);
        await UntilAsync(async () => (await controlPlane.StatusAsync()).GetProperty("clustering").GetProperty("data_planes_connected").GetInt32() == 2,
            "both data planes reconnected to the new control plane");
        await load.RunForAsync(200, Propagation);

        var finish = await controlPlane.Installation.RunAsync("migrations", "finish");
        Assert.True(finish.ExitCode == 0, finish.ToString());
        Assert.Contains("hybridprobe migrated up to: 001_probe (executed)", finish.Stdout);

        // ---- 2. the data planes of N-1 keep receiving changes from the control plane of N ----
        await UntilAsync(async () => (await Http.PostAsJsonAsync(controlPlane.Installation.AdminUrl + "/services/echo/routes",
            new { name = "after-finish", paths = new[] { "/after-finish" } })).StatusCode == HttpStatusCode.Created, "a write after finish");
        foreach (var dataPlane in oldPlanes)
            await AssertServesAsync(dataPlane, "/after-finish");
        Assert.Contains("request_buffering", controlPlane.Logs);
        var listed = await Http.GetFromJsonAsync<JsonElement>(controlPlane.Installation.AdminUrl + "/clustering/data-planes");
        var rows = listed.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, row =>
        {
            Assert.Equal(OldRelease, row.GetProperty("version").GetString());
            Assert.Equal("normal", row.GetProperty("sync_status").GetString());
        });
        await load.RunForAsync(200, Propagation);

        // ---- 3. each data plane replaced by one of N, one at a time ----
        try
        {
            foreach (var old in oldPlanes)
            {
                var replacement = await HybridNode.DataPlaneAsync(controlPlane, certificate);
                newPlanes.Add(replacement);
                replacement.Installation.UseRelease(NewJson);
                await replacement.StartAsync();
                await AssertServesAsync(replacement, "/after-finish");
                await AssertServesAsync(replacement, "/load");
                load.Add(replacement.ProxyUrl + "/load");
                await load.RemoveAsync(old.ProxyUrl + "/load");
                await old.StopAsync();
                await load.RunForAsync(200, Propagation);
            }
            await CreateAsync(controlPlane.Installation, "/services/echo/routes", new { name = "final", paths = new[] { "/final" } });
            foreach (var dataPlane in newPlanes)
                await AssertServesAsync(dataPlane, "/final");
            await load.RunForAsync(200, Propagation);
            var versions = (await Http.GetFromJsonAsync<JsonElement>(controlPlane.Installation.AdminUrl + "/clustering/data-planes"))
                .GetProperty("data").EnumerateArray().Select(row => row.GetProperty("version").GetString()).ToList();
            Assert.Equal(2, versions.Count(v => v == NewRelease));
            // Counted before the data planes go away.
            await load.StopAsync();
        }
        finally
        {
            foreach (var dataPlane in newPlanes)
                await dataPlane.DisposeAsync();
        }

        Assert.True(load.Failed == 0, load + "\n" + string.Join("\n----\n", oldPlanes.Concat(newPlanes).Select(p => p.ProxyUrl + ":\n" + Tail(p.Logs))));
        Assert.True(load.Served >= 1400, load.ToString());
        output.WriteLine($"through the data planes across the upgrade: {load}");
    }

    private static string Tail(string text) => text.Length > 4000 ? text[^4000..] : text;
}
