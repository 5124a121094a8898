using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Gantry.Tests.Support;

/// <summary>
/// Debian's chromium, headless, driven over the Chrome DevTools Protocol on a loopback WebSocket: one page,
/// navigated, read with <c>Runtime.evaluate</c> and photographed with <c>Page.captureScreenshot</c>.
/// Chosen over Playwright because no browser download is possible here (Playwright wants its own builds and
/// a driver from outside), and over <c>--dump-dom</c> because that returns at the load event, before a
/// page's fetches are done; a few CDP calls over <see cref="ClientWebSocket"/> need no package at all.
/// </summary>
public sealed partial class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>GANTRY_TEST_CHROMIUM, or chromium / chromium-browser on PATH; null when there is none.</summary>
    public static string? FindExecutable()
    {
        var configured = Environment.GetEnvironmentVariable("GANTRY_TEST_CHROMIUM");
        if (!string.IsNullOrEmpty(configured))
            return File.Exists(configured) ? configured : null;
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(dir => new[] { Path.Combine(dir, "chromium"), Path.Combine(dir, "chromium-browser") })
            .FirstOrDefault(File.Exists);
    }

    public static async Task<HeadlessChromium> LaunchAsync(TimeSpan timeout)
    {
        var executable = FindExecutable() ?? throw new InvalidOperationException(
            "chromium is not installed: the browser tests need Debian's chromium (bin/test installs it with apt-get; "
            + "or set GANTRY_TEST_CHROMIUM to a chromium executable)");
        var profile = Directory.CreateTempSubdirectory("gantry-chromium-").FullName;
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // --no-sandbox: the suite runs as root in CI, where chromium's sandbox refuses to start.
        foreach (var argument in new[]
                 {
                     "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                     "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--window-size=1280,900",
                     $"--user-data-dir={profile}", "about:blank",
                 })
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {executable}");
        var browser = new HeadlessChromium(process, profile);
        try
        {
            var port = await browser.DevToolsPortAsync(timeout);
            using var http = new HttpClient { Timeout = timeout };
            var targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"))!.AsArray();
            var page = targets.First(t => t!["type"]!.GetValue<string>() == "page")!;
            using var cancel = new CancellationTokenSource(timeout);
            await browser._socket.ConnectAsync(new Uri(page["webSocketDebuggerUrl"]!.GetValue<string>()), cancel.Token);
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    /// <summary>Chromium prints the DevTools address it chose on stderr once it listens.</summary>
    private async Task<int> DevToolsPortAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var seen = new StringBuilder();
        while (await _process.StandardError.ReadLineAsync(cancel.Token) is { } line)
        {
            seen.AppendLine(line);
            if (DevToolsLine().Match(line) is { Success: true } match)
            {
                // Keep draining stderr so chromium never blocks on a full pipe.
                _ = _process.StandardError.ReadToEndAsync();
                _ = _process.StandardOutput.ReadToEndAsync();
                return int.Parse(match.Groups[1].Value);
            }
        }
        throw new InvalidOperationException($"chromium exited before listening for DevTools:\n{seen}");
    }

    public async Task<JsonNode?> SendAsync(string method, JsonObject? parameters = null, TimeSpan? timeout = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, cancel.Token);
        while (true)
        {
            var reply = await ReceiveAsync(cancel.Token);
            // Events (no id) and answers to earlier calls are not this call's answer.
            if (reply["id"]?.GetValue<int>() != id)
                continue;
            if (reply["error"] is { } error)
                throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            return reply["result"];
        }
    }

    private async Task<JsonObject> ReceiveAsync(CancellationToken cancel)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        WebSocketReceiveResult result;
        do
        {
            result = await _socket.ReceiveAsync(chunk, cancel);
            if (result.MessageType == WebSocketMessageType.Close)
                throw new InvalidOperationException("chromium closed the DevTools connection");
            buffer.Write(chunk, 0, result.Count);
        }
        while (!result.EndOfMessage);
        return JsonNode.Parse(buffer.ToArray())!.AsObject();
    }

    public Task NavigateAsync(string url) => SendAsync("Page.navigate", new JsonObject { ["url"] = url });

    /// <summary>The value of a JavaScript expression in the page (JSON-serializable values only).</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true });
        return result?["result"]?["value"]?.DeepClone();
    }

    /// <summary>Polls an expression until it is true; false when the time runs out.</summary>
    public async Task<bool> WaitForAsync(string expression, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await EvaluateAsync(expression) is JsonValue value && value.TryGetValue<bool>(out var done) && done)
                return true;
            await Task.Delay(100);
        }
        return false;
    }

    public async Task SaveScreenshotAsync(string path)
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(result!["data"]!.GetValue<string>()));
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            // Already gone, or stuck: nothing more a test can do about it.
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"DevTools listening on ws://[^:]+:(\d+)/")]
    private static partial Regex DevToolsLine();
}
