using System.Text.Json.Nodes;
using Gantry.Tests.Support;
using Xunit.Abstractions;

namespace Gantry.Tests.Browser;

/// <summary>
/// A real browser (headless chromium) on a page served from the admin GUI's origin calls the Admin API as
/// Kong Manager does: what a browser sends and refuses (preflights, credentials, CORS on errors) stays
/// covered, which an HttpClient cannot show.
/// </summary>
public sealed class KongManagerBrowserTests(ITestOutputHelper output)
{
    private static readonly string[] Steps =
    [
        "root", "service schema", "route schema", "plugin schema", "invalid service", "create service",
        "create service 2", "edit service", "create route", "edit route", "create plugin", "edit plugin",
        "plugins of service", "services page 1", "services page 2", "pagination", "delete plugin", "delete route",
        "delete service", "delete service 2", "service gone",
    ];

    [Fact]
    public async Task A_page_on_the_admin_gui_url_origin_creates_edits_and_deletes_a_service_a_route_and_a_plugin()
    {
        // Fails rather than skips: CI must run this test, so a missing browser is an error to fix.
        Assert.True(HeadlessChromium.FindExecutable() is not null,
            "chromium is not installed: run bin/test (it installs Debian's chromium) or apt-get install chromium");

        await using var installation = await TestInstallation.CreateAsync("sqlite");
        var adminUrl = installation.AdminUrl.TrimEnd('/');
        await using var gui = new ManagerPage(adminUrl);
        // A GUI URL with a path, as with admin_gui_path = /manager: only its origin counts for CORS.
        installation.Environment["GANTRY_ADMIN_GUI_URL"] = gui.Origin + "/manager";
        installation.Environment["GANTRY_ADMIN_GUI_PATH"] = "/manager";
        installation.Environment["GANTRY_ADMIN_GUI_LISTEN"] = "off";
        await using var node = installation.Start("start");
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));

        await using var browser = await HeadlessChromium.LaunchAsync(TimeSpan.FromSeconds(60));
        await browser.NavigateAsync(gui.PageUrl);
        var finished = await browser.WaitForAsync("document.body && document.body.dataset.state === 'done'", TimeSpan.FromSeconds(60));
        var screenshot = Path.Combine(AppContext.BaseDirectory, "artifacts", "kong-manager-browser.png");
        await browser.SaveScreenshotAsync(screenshot);
        output.WriteLine($"screenshot: {screenshot}");
        Assert.True(finished, "the page did not finish its calls within 60 s");

        var results = (await browser.EvaluateAsync("window.results"))!.AsArray();
        foreach (var result in results)
            output.WriteLine(result!.ToJsonString());
        var byName = results.ToDictionary(r => r!["name"]!.GetValue<string>(), r => r!.AsObject());
        Assert.Equal(Steps, byName.Keys.ToArray());
        foreach (var (name, result) in byName)
            Assert.True(result["ok"]!.GetValue<bool>(), $"step '{name}' failed: {result.ToJsonString()}");
    }

    [Fact]
    public async Task A_page_on_another_origin_is_refused_by_the_browser()
    {
        Assert.True(HeadlessChromium.FindExecutable() is not null,
            "chromium is not installed: run bin/test (it installs Debian's chromium) or apt-get install chromium");

        await using var installation = await TestInstallation.CreateAsync("sqlite");
        await using var gui = new ManagerPage(installation.AdminUrl.TrimEnd('/'));
        installation.Environment["GANTRY_ADMIN_GUI_URL"] = "http://127.0.0.1:1/manager";
        installation.Environment["GANTRY_ADMIN_GUI_LISTEN"] = "off";
        await using var node = installation.Start("start");
        await node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));

        await using var browser = await HeadlessChromium.LaunchAsync(TimeSpan.FromSeconds(60));
        await browser.NavigateAsync(gui.PageUrl);
        Assert.True(await browser.WaitForAsync("document.body && document.body.dataset.state === 'done'", TimeSpan.FromSeconds(60)));
        var results = (await browser.EvaluateAsync("window.results"))!.AsArray();
        var root = results.First(r => r!["name"]!.GetValue<string>() == "root")!;
        // The browser hides the answer from a page whose origin the Admin API did not name.
        Assert.Equal(0, root["status"]!.GetValue<int>());
        Assert.False(root["ok"]!.GetValue<bool>());
    }
}
