namespace Gantry.Tests.Support;

/// <summary>Starting nodes for proxy tests: configuration refreshed every 0.2 s, and a second node on the same database.</summary>
public static class ProxyNode
{
    public static async Task<GantryProcess> StartAsync(TestInstallation gantry)
    {
        gantry.Environment["GANTRY_DB_UPDATE_FREQUENCY"] = "0.2";
        if (gantry.IsPostgres)
            Assert.Equal(0, (await gantry.RunAsync("migrations", "bootstrap")).ExitCode);
        var node = gantry.Start("start");
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        return node;
    }

    public static string ProxyUrl(IReadOnlyDictionary<string, string> environment) => "http://" + environment["GANTRY_PROXY_LISTEN"];

    /// <summary>The environment of another node of the same installation: its own prefix and listeners, the same database.</summary>
    public static Dictionary<string, string> SecondNode(TestInstallation gantry) => new(gantry.Environment)
    {
        ["GANTRY_PREFIX"] = Path.Combine(gantry.Prefix, "node-b"),
        ["GANTRY_PROXY_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
        ["GANTRY_ADMIN_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
        ["GANTRY_STATUS_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
    };
}
