using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Gantry.Tests.Support;

/// <summary>
/// One running node for a whole test class (xUnit class fixture): an installation of the given store,
/// bootstrapped, started, and an HttpClient for its Admin API. Tests share it, so each makes its own
/// names unique instead of relying on an empty database.
/// </summary>
public abstract class AdminNode(string store) : IAsyncLifetime
{
    private GantryProcess? _process;

    public string Store { get; } = store;

    public TestInstallation Installation { get; private set; } = null!;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public GantryProcess Process => _process ?? throw new InvalidOperationException("the node is not started");

    /// <summary>Extra GANTRY_* settings for the node, applied before it starts.</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>();

    public async Task InitializeAsync()
    {
        Installation = await TestInstallation.CreateAsync(Store);
        foreach (var (key, value) in Settings)
            Installation.Environment[key] = value;
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
        Http.Dispose();
        if (_process is not null)
            await _process.DisposeAsync();
        await Installation.DisposeAsync();
    }

    /// <summary>
    /// Sends a body (HttpContent as given, a string as JSON text, anything else serialized to JSON, or
    /// none) and returns the status and the parsed body (null when empty or not an object).
    /// </summary>
    public async Task<(int Status, JsonObject? Body)> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path)
        {
            Content = body switch
            {
                null => null,
                HttpContent content => content,
                string json => new StringContent(json, Encoding.UTF8, "application/json"),
                _ => JsonContent.Create(body, body.GetType()),
            },
        };
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject);
    }

    public Task<(int Status, JsonObject? Body)> PostJsonAsync(string path, JsonNode body) => SendAsync(HttpMethod.Post, path, JsonContent.Create(body));

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

    public async Task<long> CountAsync(string table) => await Installation.CountAsync($"SELECT count(*) FROM {table}");
}

public sealed class SqliteAdminNode() : AdminNode("sqlite");

public sealed class PostgresAdminNode() : AdminNode("postgres");

/// <summary>
/// The Admin API test classes run one after another: each brings a node and bursts of writes, and on a
/// small machine running them side by side would starve the timing-sensitive migration tests.
/// </summary>
[CollectionDefinition(Name)]
public sealed class AdminApiCollection
{
    public const string Name = "admin-api";
}
