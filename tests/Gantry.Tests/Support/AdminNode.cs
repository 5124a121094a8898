using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Gantry.Tests.Support;

/// <summary>
/// One running node for a whole test class (xUnit class fixture): an installation of the given store,
/// bootstrapped, started, and an HttpClient for its Admin API. Tests share it, so each makes its own
/// names unique instead of relying on an empty database.
/// </summary>
public abstract class AdminNode : IAsyncLifetime
{
    private GantryProcess? _process;

    protected AdminNode(string store)
    {
        Store = store;
    }

    public string Store { get; }

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

    public async Task<(int Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public Task<(int Status, JsonNode? Body)> PostJsonAsync(string path, JsonNode body) =>
        SendAsync(HttpMethod.Post, path, JsonContent.Create(body));

    public async Task<long> CountAsync(string table) => await Installation.CountAsync($"SELECT count(*) FROM {table}");
}

public sealed class SqliteAdminNode() : AdminNode("sqlite");

public sealed class PostgresAdminNode() : AdminNode("postgres");
