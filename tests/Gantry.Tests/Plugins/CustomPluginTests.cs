using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Gantry.Tests.Clustering;
using Gantry.Tests.Proxy;
using Gantry.Tests.Support;

namespace Gantry.Tests.Plugins;

/// <summary>
/// Custom .NET plugins: the sample in samples/Gantry.Samples.HeaderStamp installed under plugin_paths,
/// migrated by 'migrations up', configured through the Admin API and stamping a real upstream's responses,
/// on both stores; and every way a plugin assembly can be missing or broken stopping 'check' and 'start'
/// with exit code 10 and a message naming the plugin.
/// </summary>
public sealed class CustomPluginTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task The_sample_plugin_is_migrated_by_migrations_up_and_stamps_responses_from_its_config_and_its_own_table(string store)
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await TestInstallation.CreateAsync(store);
        await SamplePlugins.InstallHeaderStampAsync(Path.Combine(gantry.Prefix, "plugins"));
        gantry.Environment["GANTRY_DB_UPDATE_FREQUENCY"] = "0.2";
        gantry.Environment["GANTRY_PLUGIN_PATHS"] = "plugins";
        Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        Assert.False(await gantry.TableExistsAsync("header_stamps"));

        // Listing the plugin on a bootstrapped database brings its migrations, as a bundled plugin's.
        gantry.Environment["GANTRY_PLUGINS"] = "bundled,header-stamp";
        var list = await gantry.RunAsync("migrations", "list");
        Assert.True(list.ExitCode == 5, list.ToString());
        Assert.Contains("header-stamp: 000_base_header_stamp", list.Stdout);
        var refused = await gantry.RunAsync("start");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("New migrations available (header-stamp: 000_base_header_stamp)", refused.Stderr);
        var up = await gantry.RunAsync("migrations", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains("header-stamp migrated up to: 000_base_header_stamp (executed)", up.Stdout);
        Assert.True(await gantry.TableExistsAsync("header_stamps"));
        Assert.Equal(0, (await gantry.RunAsync("migrations", "finish")).ExitCode);

        await using var node = gantry.Start("start");
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        var admin = gantry.AdminUrl;
        var proxy = ProxyNode.ProxyUrl(gantry);
        var info = await Http.GetFromJsonAsync<JsonObject>(admin + "/");
        Assert.Equal("1.0.0", info!["plugins"]!["available_on_server"]!["header-stamp"]!["version"]!.GetValue<string>());
        Assert.Equal(850, info["plugins"]!["available_on_server"]!["header-stamp"]!["priority"]!.GetValue<int>());

        await ProxyNode.ServeAsync(gantry, "echo", $"http://127.0.0.1:{upstream.Port}", "/stamped");
        var plugin = await Http.PostAsJsonAsync(admin + "/plugins", new { name = "header-stamp", config = new { value = "v1" } });
        Assert.Equal(HttpStatusCode.Created, plugin.StatusCode);
        var created = (await plugin.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("X-Header-Stamp", created["config"]!["header_name"]!.GetValue<string>());
        var id = created["id"]!.GetValue<string>();

        var stamped = await ProxyNode.UntilAsync(() => Http.GetAsync(proxy + "/stamped"), r => r.Headers.Contains("X-Header-Stamp"), TimeSpan.FromSeconds(20));
        Assert.Equal(HttpStatusCode.OK, stamped.StatusCode);
        Assert.Equal("v1", string.Join(",", stamped.Headers.GetValues("X-Header-Stamp")));
        Assert.Equal("echo", string.Join(",", stamped.Headers.GetValues("X-Upstream")));

        // The plugin's own entity, stored in the table its migration made, and named by the config.
        var stamp = await Http.PostAsJsonAsync(admin + "/header-stamps", new { name = "release", value = "2026-11" });
        Assert.True(stamp.StatusCode == HttpStatusCode.Created, await stamp.Content.ReadAsStringAsync());
        Assert.Equal(1, await gantry.CountAsync("SELECT count(*) FROM header_stamps WHERE name = 'release'"));
        Assert.Equal("2026-11", (await Http.GetFromJsonAsync<JsonObject>(admin + "/header-stamps/release"))!["value"]!.GetValue<string>());
        var patched = await Http.PatchAsJsonAsync(admin + "/plugins/" + id, new { config = new { value = (string?)null, stamp = "release", header_name = "X-Release" } });
        Assert.True(patched.StatusCode == HttpStatusCode.OK, await patched.Content.ReadAsStringAsync());
        var released = await ProxyNode.UntilAsync(() => Http.GetAsync(proxy + "/stamped"), r => r.Headers.Contains("X-Release"), TimeSpan.FromSeconds(20));
        Assert.Equal("2026-11", string.Join(",", released.Headers.GetValues("X-Release")));
        Assert.False(released.Headers.Contains("X-Header-Stamp"));

        // Changing the row restamps the routes that name it.
        Assert.Equal(HttpStatusCode.OK, (await Http.PatchAsJsonAsync(admin + "/header-stamps/release", new { value = "2026-12" })).StatusCode);
        var restamped = await ProxyNode.UntilAsync(() => Http.GetAsync(proxy + "/stamped"),
            r => r.Headers.TryGetValues("X-Release", out var v) && v.Single() == "2026-12", TimeSpan.FromSeconds(20));
        Assert.Equal("2026-12", string.Join(",", restamped.Headers.GetValues("X-Release")));

        // The plugin's schema checks answer as Kong's schema violations.
        var both = await Http.PostAsJsonAsync(admin + "/plugins", new { name = "header-stamp", config = new { value = "a", stamp = "release" } });
        Assert.Equal(HttpStatusCode.BadRequest, both.StatusCode);
        var error = (await both.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(2, error["code"]!.GetValue<int>());
        Assert.Equal("schema violation", error["name"]!.GetValue<string>());
        Assert.NotNull(error["fields"]!["@entity"]);
    }

    [Fact]
    public async Task A_data_plane_loads_the_plugin_from_its_own_plugin_paths_and_serves_the_stamp_its_control_plane_stores()
    {
        await using var upstream = new EchoUpstream();
        var certificate = ClusterCertificates.Shared();
        await using var controlPlane = await HybridNode.ControlPlaneAsync("sqlite", certificate);
        await using var dataPlane = await HybridNode.DataPlaneAsync(controlPlane, certificate);
        foreach (var node in new[] { controlPlane, dataPlane })
        {
            await SamplePlugins.InstallHeaderStampAsync(Path.Combine(node.Installation.Prefix, "plugins"));
            node.Environment["GANTRY_PLUGINS"] = "bundled,header-stamp";
            node.Environment["GANTRY_PLUGIN_PATHS"] = "plugins";
        }
        await controlPlane.StartAsync();
        await dataPlane.StartAsync();

        var admin = controlPlane.Installation.AdminUrl;
        await ProxyNode.ServeAsync(controlPlane.Installation, "echo", $"http://127.0.0.1:{upstream.Port}", "/hybrid");
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsJsonAsync(admin + "/header-stamps", new { name = "edge", value = "from-the-control-plane" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsJsonAsync(admin + "/plugins", new { name = "header-stamp", config = new { stamp = "edge" } })).StatusCode);

        var stamped = await ProxyNode.UntilAsync(() => Http.GetAsync(dataPlane.ProxyUrl + "/hybrid"), r => r.Headers.Contains("X-Header-Stamp"), HybridWaits.Propagation);
        Assert.True(stamped.Headers.Contains("X-Header-Stamp"), $"{(int)stamped.StatusCode}\n{dataPlane.Logs}");
        Assert.Equal("from-the-control-plane", string.Join(",", stamped.Headers.GetValues("X-Header-Stamp")));
        Assert.Equal("echo", string.Join(",", stamped.Headers.GetValues("X-Upstream")));
    }

    [Fact]
    public async Task A_node_without_a_database_takes_the_plugin_and_its_entities_from_the_declarative_file()
    {
        await using var upstream = new EchoUpstream();
        await using var gantry = await TestInstallation.CreateAsync("off");
        await SamplePlugins.InstallHeaderStampAsync(Path.Combine(gantry.Prefix, "plugins"));
        var file = Path.Combine(gantry.Prefix, "kong.yml");
        await File.WriteAllTextAsync(file, $"""
            _format_version: "3.0"
            services:
            - name: echo
              url: http://127.0.0.1:{upstream.Port}
              routes:
              - name: declared
                paths: [/declared]
                plugins:
                - name: header-stamp
                  config:
                    stamp: edge
                    header_name: X-Edge
            header_stamps:
            - name: edge
              value: from-the-file
            """);
        gantry.Environment["GANTRY_PLUGINS"] = "bundled,header-stamp";
        gantry.Environment["GANTRY_PLUGIN_PATHS"] = "plugins";
        gantry.Environment["GANTRY_DECLARATIVE_CONFIG"] = file;
        await using var node = gantry.Start("start");
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));

        var stamped = await ProxyNode.UntilRoutedAsync(ProxyNode.ProxyUrl(gantry) + "/declared", TimeSpan.FromSeconds(20));
        Assert.Equal(HttpStatusCode.OK, stamped.StatusCode);
        Assert.Equal("from-the-file", string.Join(",", stamped.Headers.GetValues("X-Edge")));
        Assert.Equal("from-the-file", (await Http.GetFromJsonAsync<JsonObject>(gantry.AdminUrl + "/header-stamps/edge"))!["value"]!.GetValue<string>());
    }

    public static TheoryData<string, string, string> BrokenPlugins => new()
    {
        { "absent", "bundled,ghost", "plugins: plugin 'ghost' is not installed: no ghost/ghost.dll or ghost.dll in plugin_paths" },
        { "not-dotnet", "bundled,garbage", "plugins: plugin 'garbage': " },
        { "no-plugin-type", "bundled,empty", "has no public class deriving from Gantry.Plugins.Custom.GantryPlugin" },
        { "throws", "bundled,thrower", "plugins: plugin 'thrower': Samples.ThrowingPlugin in " },
        { "bundled-name", "bundled,cors", "plugins: plugin 'cors': " },
        { "other-name", "bundled,stamp2", "is named 'header-stamp'; the file and the plugins entry must use the plugin's name" },
    };

    [Theory]
    [MemberData(nameof(BrokenPlugins))]
    public async Task A_missing_or_broken_plugin_assembly_stops_check_and_start_with_exit_code_10_naming_it(string kind, string plugins, string message)
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        var directory = Directory.CreateDirectory(Path.Combine(gantry.Prefix, "plugins")).FullName;
        string? detail = null;
        switch (kind)
        {
            case "not-dotnet":
                Directory.CreateDirectory(Path.Combine(directory, "garbage"));
                await File.WriteAllTextAsync(Path.Combine(directory, "garbage", "garbage.dll"), "MZ but not really an assembly");
                detail = "is not a .NET assembly";
                break;
            case "no-plugin-type":
                SamplePlugins.WriteAssemblyWithoutPlugin(directory, "empty");
                break;
            case "throws":
                SamplePlugins.WritePluginThatThrows(directory, "thrower", "the license file is missing");
                detail = "failed while loading: InvalidOperationException: the license file is missing";
                break;
            case "bundled-name":
                await SamplePlugins.InstallHeaderStampAsync(directory, "cors");
                detail = "has the name of a bundled plugin";
                break;
            case "other-name":
                await SamplePlugins.InstallHeaderStampAsync(directory, "stamp2");
                break;
        }
        gantry.Environment["GANTRY_PLUGINS"] = plugins;
        gantry.Environment["GANTRY_PLUGIN_PATHS"] = "plugins";

        foreach (var command in (string[])["check", "start"])
        {
            var result = await gantry.RunAsync(command);
            Assert.True(result.ExitCode == 10, $"{command}: {result}");
            Assert.Contains(message, result.Stderr);
            if (detail is not null)
                Assert.Contains(detail, result.Stderr);
            Assert.DoesNotContain("started", result.Stdout);
        }
        // Nothing was half done: start stopped before it bootstrapped the embedded database.
        Assert.False(File.Exists(gantry.SqlitePath));
    }

    [Fact]
    public async Task Without_plugin_paths_an_unknown_plugin_says_where_to_look()
    {
        await using var gantry = await TestInstallation.CreateAsync("sqlite");
        gantry.Environment["GANTRY_PLUGINS"] = "bundled,my-plugin";
        var result = await gantry.RunAsync("check");
        Assert.Equal(10, result.ExitCode);
        Assert.Contains("plugins: plugin 'my-plugin' is not installed: it is not bundled and plugin_paths is empty (set plugin_paths to the folder holding my-plugin/my-plugin.dll)", result.Stderr);
    }
}
