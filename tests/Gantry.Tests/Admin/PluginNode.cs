using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;

namespace Gantry.Tests.Admin;

/// <summary>
/// One running node for a whole test class: a fresh installation of the store (PostgreSQL bootstrapped
/// first, SQLite bootstrapping itself on start) with the plugins property given, and an Admin API client.
/// </summary>
public abstract class PluginNode(string store, string? plugins) : IAsyncLifetime
{
    private GantryProcess? _process;

    public TestInstallation Installation { get; private set; } = null!;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(15) };

    public string Store => store;

    public async Task InitializeAsync()
    {
        Installation = await TestInstallation.CreateAsync(store);
        if (plugins is not null)
            Installation.Environment["GANTRY_PLUGINS"] = plugins;
        if (Installation.IsPostgres)
        {
            var bootstrap = await Installation.RunAsync("migrations", "bootstrap");
            Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        }
        _process = Installation.Start("start");
        await _process.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        Http.BaseAddress = new Uri(Installation.AdminUrl);
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
            await _process.DisposeAsync();
        Http.Dispose();
        await Installation.DisposeAsync();
    }

    /// <summary>Sends a JSON body (or none) and returns the status and the parsed answer.</summary>
    public async Task<(int Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
            request.Content = new StringContent(body is JsonNode node ? node.ToJsonString() : System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public Task<(int Status, JsonNode? Body)> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<(int Status, JsonNode? Body)> PostAsync(string path, object body) => SendAsync(HttpMethod.Post, path, body);

    /// <summary>Posts and insists on 201: for the set-up steps of a test.</summary>
    public async Task<JsonNode> CreateAsync(string path, object body)
    {
        var (status, created) = await PostAsync(path, body);
        Assert.True(status == 201, $"POST {path} answered {status}: {created?.ToJsonString()}");
        return created!;
    }

    /// <summary>A name no other test of the class uses, since they share one database.</summary>
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}

public sealed class SqliteBundledNode() : PluginNode("sqlite", null);

public sealed class PostgresBundledNode() : PluginNode("postgres", null);

public sealed class SqliteKeyAuthOnlyNode() : PluginNode("sqlite", "key-auth");

public sealed class PostgresKeyAuthOnlyNode() : PluginNode("postgres", "key-auth");
