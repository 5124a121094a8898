using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Tests.Support;

namespace Gantry.Tests.Admin;

/// <summary>
/// One running node per test class and store, shared by the class's tests (each test uses names of its
/// own), so the Admin API tests pay for one start-up per store instead of one per test.
/// </summary>
public abstract class AdminNode(string store) : IAsyncLifetime
{
    private TestInstallation? _installation;
    private GantryProcess? _node;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public TestInstallation Installation => _installation ?? throw new InvalidOperationException("node not started");

    public string Store => store;

    public async Task InitializeAsync()
    {
        _installation = await TestInstallation.CreateAsync(store);
        if (_installation.IsPostgres)
        {
            var bootstrap = await _installation.RunAsync("migrations", "bootstrap");
            Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        }
        _node = _installation.Start("start");
        await _node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
        Http.BaseAddress = new Uri(_installation.AdminUrl);
    }

    public async Task DisposeAsync()
    {
        if (_node is not null)
            await _node.DisposeAsync();
        if (_installation is not null)
            await _installation.DisposeAsync();
        Http.Dispose();
    }

    /// <summary>Sends a JSON body (or none) and returns the status and the parsed body (null when empty).</summary>
    public async Task<(int Status, JsonObject? Body)> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
            request.Content = new StringContent(body is string s ? s : System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject);
    }

    public Task<(int Status, JsonObject? Body)> PostAsync(string path, object body) => SendAsync(HttpMethod.Post, path, body);

    public Task<(int Status, JsonObject? Body)> PutAsync(string path, object body) => SendAsync(HttpMethod.Put, path, body);

    public Task<(int Status, JsonObject? Body)> PatchAsync(string path, object body) => SendAsync(HttpMethod.Patch, path, body);

    public Task<(int Status, JsonObject? Body)> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<(int Status, JsonObject? Body)> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path);

    /// <summary>POSTs and insists on 201, returning the entity.</summary>
    public async Task<JsonObject> CreateAsync(string path, object body)
    {
        var (status, entity) = await PostAsync(path, body);
        Assert.True(status == 201, $"POST {path} answered {status}: {entity?.ToJsonString()}");
        return entity!;
    }

    public async Task<T?> GetJsonAsync<T>(string path) => await Http.GetFromJsonAsync<T>(path);
}

/// <summary>
/// The Admin API test classes run one after another: each brings a node and bursts of writes, and on a
/// small machine running them side by side would starve the timing-sensitive migration tests.
/// </summary>
[CollectionDefinition(Name)]
public sealed class AdminApiCollection
{
    public const string Name = "admin-api";
}

public sealed class SqliteAdminNode() : AdminNode("sqlite");

public sealed class PostgresAdminNode() : AdminNode("postgres");
