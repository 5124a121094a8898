using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gantry.Clustering.Compatibility;
using Gantry.Clustering.Registry;
using Gantry.Configuration;
using Gantry.Store;
using Gantry.Tests.Admin;
using Gantry.Tests.Support;

namespace Gantry.Tests.Upgrade;

/// <summary>
/// The phases of core/003_clustering_data_planes: the previous release (built from its sources) keeps
/// serving after 'migrations up' creates the table it never reads, this release's control plane lists
/// data planes from it beside the old node, and 'migrations finish' leaves it as it is (the migration has
/// no finish step: it is executed by up).
/// </summary>
public sealed class Core003ClusteringDataPlanesPhaseTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private const string Migration = "003_clustering_data_planes";

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Old_release_keeps_serving_after_up_and_a_new_control_plane_lists_data_planes_before_and_after_finish(string store)
    {
        await using var gantry = await TestInstallation.CreateAsync(store);
        gantry.UsePreviousRelease();
        var bootstrap = await gantry.RunAsync("migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        await using var oldNode = gantry.Start("start");
        await oldNode.WaitForOutputAsync($"Gantry {PreviousRelease.Version} started", TimeSpan.FromSeconds(60));
        var oldAdmin = gantry.AdminUrl;
        await CreateServiceAsync(oldAdmin, "before-up");

        // ---- up, from this release, while the old node serves ----
        var newEnvironment = ControlPlane(gantry);
        var up = await GantryProcess.RunAsync(newEnvironment, "migrations", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains($"core migrated up to: {Migration} (executed)", up.Stdout);
        Assert.True(await gantry.TableExistsAsync(Core003ClusteringDataPlanes.Table));

        // The old release after up: reads and writes as before, and a restart of it still works.
        await CreateServiceAsync(oldAdmin, "after-up");
        Assert.Equal(2, (await GetAsync(oldAdmin, "/services")).GetProperty("data").GetArrayLength());
        var oldList = await gantry.RunAsync("migrations", "list");
        Assert.True(oldList.ExitCode == 0, oldList.ToString());

        // This release, as a control plane beside the old node: data planes reported to the table are listed.
        await using var controlPlane = GantryProcess.Start(newEnvironment, "start");
        await controlPlane.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        var newAdmin = "http://" + newEnvironment["GANTRY_ADMIN_LISTEN"];
        var dataPlane = Guid.NewGuid();
        await ReportAsync(newEnvironment, dataPlane);
        Assert.Equal(dataPlane.ToString(), Assert.Single((await GetAsync(newAdmin, "/clustering/data-planes")).GetProperty("data").EnumerateArray())
            .GetProperty("id").GetString());
        Assert.Equal(2, (await GetAsync(newAdmin, "/services")).GetProperty("data").GetArrayLength());

        // ---- finish, once the old node is gone ----
        await oldNode.DisposeAsync();
        var finish = await GantryProcess.RunAsync(newEnvironment, "migrations", "finish");
        Assert.True(finish.ExitCode == 0, finish.ToString());
        Assert.Equal(dataPlane.ToString(), Assert.Single((await GetAsync(newAdmin, "/clustering/data-planes")).GetProperty("data").EnumerateArray())
            .GetProperty("id").GetString());
        Assert.Equal(1, await gantry.CountAsync($"SELECT count(*) FROM {Core003ClusteringDataPlanes.Table}"));
    }

    /// <summary>Reports a data plane through this release's registry, as a control plane's link does.</summary>
    private static async Task ReportAsync(Dictionary<string, string> environment, Guid id)
    {
        var config = ConfLoader.Load(null, environment).Config!;
        await using IDatabase database = config.Database == DatabaseKind.Postgres
            ? new PostgresDatabase(config.Postgres, "gantry tests")
            : new SqliteDatabase(config.SqlitePath, (int)config.SqliteBusyTimeout.TotalMilliseconds);
        await new DataPlaneRegistry(database, config.ClusterDataPlanePurgeDelay)
            .UpsertAsync(new DataPlaneReport(id, "dp-upgrade", "10.0.0.1", GantryInfo.Version, SyncStatus.Normal, new string('0', 32)), default);
    }

    private static async Task CreateServiceAsync(string admin, string name)
    {
        var response = await Http.PostAsJsonAsync(admin + "/services", new { name, url = "http://upstream.test" });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task<JsonElement> GetAsync(string admin, string path)
    {
        var response = await Http.GetAsync(admin + path);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>A control plane node of this release beside the installation's own: its own prefix, ports and cluster certificate, the same database.</summary>
    private static Dictionary<string, string> ControlPlane(TestInstallation gantry)
    {
        var prefix = Path.Combine(gantry.Prefix, "control-plane");
        Directory.CreateDirectory(prefix);
        var pair = TestCertificates.Ecdsa("CN=kong_clustering");
        File.WriteAllText(Path.Combine(prefix, "cluster.crt"), pair.Cert);
        File.WriteAllText(Path.Combine(prefix, "cluster.key"), pair.Key);
        var environment = new Dictionary<string, string>(gantry.Environment)
        {
            ["GANTRY_PREFIX"] = prefix,
            ["GANTRY_PROXY_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
            ["GANTRY_ADMIN_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
            ["GANTRY_STATUS_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
            ["GANTRY_ROLE"] = "control_plane",
            ["GANTRY_CLUSTER_CERT"] = Path.Combine(prefix, "cluster.crt"),
            ["GANTRY_CLUSTER_CERT_KEY"] = Path.Combine(prefix, "cluster.key"),
            ["GANTRY_CLUSTER_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
        };
        environment.Remove(PreviousRelease.BuildVariable);
        if (!gantry.IsPostgres)
            environment["GANTRY_SQLITE_PATH"] = gantry.SqlitePath;
        return environment;
    }
}
