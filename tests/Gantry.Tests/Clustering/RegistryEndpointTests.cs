using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Gantry.Clustering.Compatibility;
using Gantry.Clustering.Registry;
using Gantry.Configuration;
using Gantry.Store;
using Gantry.Tests.Admin;
using Gantry.Tests.Support;

namespace Gantry.Tests.Clustering;

/// <summary>
/// A node started as a control plane (role = control_plane, its cluster certificate on disk), whose
/// database another control plane node (this test, in process) reports data planes to.
/// </summary>
public abstract class ControlPlaneNode(string store) : AdminNode(store)
{
    protected override IReadOnlyDictionary<string, string> Settings
    {
        get
        {
            var pair = TestCertificates.Ecdsa("CN=kong_clustering");
            var cert = Path.Combine(Installation.Prefix, "cluster.crt");
            var key = Path.Combine(Installation.Prefix, "cluster.key");
            File.WriteAllText(cert, pair.Cert);
            File.WriteAllText(key, pair.Key);
            return new Dictionary<string, string>
            {
                ["GANTRY_ROLE"] = "control_plane",
                ["GANTRY_CLUSTER_CERT"] = cert,
                ["GANTRY_CLUSTER_CERT_KEY"] = key,
                ["GANTRY_CLUSTER_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
                ["GANTRY_CLUSTER_DATA_PLANE_PURGE_DELAY"] = "3600",
            };
        }
    }

    /// <summary>The registry of another control plane node of the same database.</summary>
    public async Task<T> WithRegistryAsync<T>(Func<DataPlaneRegistry, Task<T>> work)
    {
        var config = ConfLoader.Load(null, Installation.Environment).Config!;
        await using var database = Installation.OpenDatabase();
        return await work(new DataPlaneRegistry(database, config.ClusterDataPlanePurgeDelay));
    }
}

public sealed class SqliteControlPlaneNode() : ControlPlaneNode("sqlite");

public sealed class PostgresControlPlaneNode() : ControlPlaneNode("postgres");

/// <summary>
/// <c>GET /clustering/data-planes</c>, <c>GET /clustering/status</c> and the data plane metrics of a
/// running control plane, against Kong's contract, on both stores. Until the link is wired in, the data
/// planes are reported through the registry the link reports to.
/// </summary>
public abstract class RegistryEndpointTests<TNode>(TNode node) where TNode : ControlPlaneNode
{
    private static readonly string AnyHash = "0123456789abcdef0123456789abcdef";

    private static JsonNode SuccessSchema(string path) =>
        OpenApiContract.Load().Operations.Single(o => o.Method == "GET" && o.Path == path).SuccessSchema!;

    /// <summary>Reports data planes with a fresh host name prefix, so that the tests sharing the node tell theirs apart.</summary>
    private async Task<(string Prefix, List<Guid> Ids)> ReportAsync(int count, SyncStatus status = SyncStatus.Normal)
    {
        var prefix = "dp-" + Guid.NewGuid().ToString("N")[..8];
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).Order().ToList();
        await node.WithRegistryAsync(async registry =>
        {
            for (var i = 0; i < count; i++)
            {
                await registry.UpsertAsync(new DataPlaneReport(ids[i], $"{prefix}-{i}", "10.1.0." + i, "0.3.0", status, AnyHash,
                    new Dictionary<string, string> { ["region"] = "eu", ["deployment"] = prefix }, CertificateExpiry: 1_900_000_000 + i), default);
            }
            return true;
        });
        return (prefix, ids);
    }

    private async Task<List<JsonObject>> AllPagesAsync(int size)
    {
        var items = new List<JsonObject>();
        string? next = $"/clustering/data-planes?size={size}";
        while (next is not null)
        {
            var (status, body) = await node.GetAsync(next);
            Assert.Equal(200, status);
            Assert.Empty(OpenApiContract.Validate(SuccessSchema("/clustering/data-planes"), body));
            var page = body!["data"]!.AsArray().Select(i => i!.AsObject()).ToList();
            Assert.True(page.Count <= size);
            items.AddRange(page);
            next = body["next"]?.GetValue<string>();
            Assert.Equal(next is null, body["offset"] is null);
        }
        return items;
    }

    [Fact]
    public async Task Data_planes_list_in_kongs_shape_page_by_page()
    {
        var (prefix, ids) = await ReportAsync(5);
        var listed = (await AllPagesAsync(2)).Where(i => i["hostname"]!.GetValue<string>().StartsWith(prefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(ids.Select(i => i.ToString()), listed.Select(i => i["id"]!.GetValue<string>()));
        var first = listed[0];
        Assert.Equal(["cert_details", "config_hash", "hostname", "id", "ip", "labels", "last_seen", "sync_status", "ttl", "updated_at", "version"],
            first.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(("10.1.0.0", "0.3.0", "normal", AnyHash), (first["ip"]!.GetValue<string>(), first["version"]!.GetValue<string>(),
            first["sync_status"]!.GetValue<string>(), first["config_hash"]!.GetValue<string>()));
        Assert.Equal("""{"deployment":"PREFIX","region":"eu"}""".Replace("PREFIX", prefix), first["labels"]!.ToJsonString());
        Assert.Equal(1_900_000_000, first["cert_details"]!["expiry_timestamp"]!.GetValue<long>());
        Assert.InRange(first["last_seen"]!.GetValue<long>(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
        Assert.InRange(first["ttl"]!.GetValue<long>(), 3500, 3600);

        var (badSize, sizeError) = await node.GetAsync("/clustering/data-planes?size=0");
        Assert.Equal((400, 9), (badSize, sizeError!["code"]!.GetValue<int>()));
        var (badOffset, offsetError) = await node.GetAsync("/clustering/data-planes?offset=nope");
        Assert.Equal((400, 7), (badOffset, offsetError!["code"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Status_maps_each_data_plane_by_node_id_and_is_marked_deprecated()
    {
        var (prefix, ids) = await ReportAsync(2);
        using var response = await node.Http.GetAsync("/clustering/status");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("true", Assert.Single(response.Headers.GetValues("Deprecation")));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Empty(OpenApiContract.Validate(SuccessSchema("/clustering/status"), body));
        var entry = body[ids[1].ToString()]!.AsObject();
        Assert.Equal(["config_hash", "hostname", "ip", "last_seen"], entry.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal((prefix + "-1", "10.1.0.1", AnyHash), (entry["hostname"]!.GetValue<string>(), entry["ip"]!.GetValue<string>(), entry["config_hash"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_data_plane_unseen_for_the_purge_delay_leaves_both_lists_at_once()
    {
        var (_, ids) = await ReportAsync(2);
        await node.Installation.ExecuteAsync($"UPDATE clustering_data_planes SET last_seen = last_seen - 3700 WHERE id = '{ids[0]}'");
        var listed = (await AllPagesAsync(1000)).Select(i => i["id"]!.GetValue<string>()).ToList();
        Assert.DoesNotContain(ids[0].ToString(), listed);
        Assert.Contains(ids[1].ToString(), listed);
        var (_, status) = await node.GetAsync("/clustering/status");
        Assert.False(status!.ContainsKey(ids[0].ToString()));
        Assert.True(status.ContainsKey(ids[1].ToString()));
    }

    [Fact]
    public async Task Metrics_show_each_data_planes_last_contact_hash_and_compatibility()
    {
        var (_, compatible) = await ReportAsync(1);
        var (_, held) = await ReportAsync(1, SyncStatus.PluginSetIncompatible);
        var metrics = await node.Http.GetStringAsync("/metrics");
        Assert.Contains("# TYPE kong_data_plane_last_seen gauge", metrics);
        var lastSeen = Value(metrics, $"kong_data_plane_last_seen{{node_id=\"{compatible[0]}\",hostname=");
        Assert.InRange(lastSeen, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
        // The hash read as one 128-bit number, as Kong exports it.
        Assert.Equal((double)UInt128.Parse(AnyHash, NumberStyles.AllowHexSpecifier), Value(metrics, $"kong_data_plane_config_hash{{node_id=\"{compatible[0]}\""));
        Assert.Equal(1, Value(metrics, $"kong_data_plane_version_compatible{{node_id=\"{compatible[0]}\""));
        Assert.Equal(0, Value(metrics, $"kong_data_plane_version_compatible{{node_id=\"{held[0]}\""));
        Assert.Contains($"kong_data_plane_version_compatible{{node_id=\"{held[0]}\",hostname=", metrics);
        Assert.Contains(",kong_version=\"0.3.0\"} 0", metrics);
        Assert.DoesNotContain("kong_control_plane_connected", metrics);
    }

    private static double Value(string metrics, string seriesStart)
    {
        var line = Assert.Single(metrics.Split('\n'), l => l.StartsWith(seriesStart, StringComparison.Ordinal));
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
}

public sealed class SqliteRegistryEndpointTests(SqliteControlPlaneNode node)
    : RegistryEndpointTests<SqliteControlPlaneNode>(node), IClassFixture<SqliteControlPlaneNode>;

public sealed class PostgresRegistryEndpointTests(PostgresControlPlaneNode node)
    : RegistryEndpointTests<PostgresControlPlaneNode>(node), IClassFixture<PostgresControlPlaneNode>;

/// <summary>A traditional node answers the control plane's endpoints with 400 and a message saying why, as Kong does.</summary>
public sealed class RegistryEndpointsOnOtherRolesTests(SqliteAdminNode node) : IClassFixture<SqliteAdminNode>
{
    [Theory]
    [InlineData("/clustering/data-planes")]
    [InlineData("/clustering/status")]
    public async Task A_traditional_node_answers_400_naming_the_role_it_needs(string path)
    {
        var (status, body) = await node.GetAsync(path);
        Assert.Equal(400, status);
        Assert.Equal("""{"message":"this endpoint is only available when Gantry runs as a control plane (role = control_plane)"}""", body!.ToJsonString());
        var metrics = await node.Http.GetStringAsync("/metrics");
        Assert.DoesNotContain("kong_data_plane_", metrics);
    }
}
