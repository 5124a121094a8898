using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Cli;
using Gantry.Tests.Support;

namespace Gantry.Tests.DbLess;

/// <summary>
/// A data plane's Admin API only reads: a document posted to /config and every entity write are refused,
/// and the node starts and answers although no control plane is listening at cluster_control_plane.
/// </summary>
public sealed class DataPlaneAdminTests : IAsyncLifetime
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(15) };
    private TestInstallation _gantry = null!;
    private GantryProcess _node = null!;
    private string _controlPlane = "";

    public async Task InitializeAsync()
    {
        _gantry = await TestInstallation.CreateAsync("off");
        var (certificate, key, _) = HybridCommand.Generate(30);
        await File.WriteAllTextAsync(Path.Combine(_gantry.Prefix, "cluster.crt"), certificate);
        await File.WriteAllTextAsync(Path.Combine(_gantry.Prefix, "cluster.key"), key);
        // A free port nobody listens on: the control plane is unreachable for the whole test.
        _controlPlane = $"127.0.0.1:{TestInstallation.FreePort()}";
        _gantry.Environment["GANTRY_ROLE"] = "data_plane";
        _gantry.Environment["GANTRY_CLUSTER_CERT"] = Path.Combine(_gantry.Prefix, "cluster.crt");
        _gantry.Environment["GANTRY_CLUSTER_CERT_KEY"] = Path.Combine(_gantry.Prefix, "cluster.key");
        _gantry.Environment["GANTRY_CLUSTER_CONTROL_PLANE"] = _controlPlane;
        _node = _gantry.Start("start");
        await _node.WaitForOutputAsync("started", TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        await _gantry.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, JsonObject? Body)> SendAsync(HttpMethod method, string path, string? body = null, string mediaType = "application/json")
    {
        using var request = new HttpRequestMessage(method, _gantry.AdminUrl + path)
        {
            Content = body is null ? null : new StringContent(body, Encoding.UTF8, mediaType),
        };
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject);
    }

    [Theory]
    [InlineData("text/yaml", "_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:9/\n")]
    [InlineData("application/json", "{\"config\": \"_format_version: '3.0'\"}")]
    public async Task Post_config_is_refused_naming_the_control_plane(string mediaType, string document)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/config", document, mediaType);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(
            $"this node is a data plane: its configuration comes from the control plane at {_controlPlane}; write to the control plane's Admin API instead",
            body!["message"]!.GetValue<string>());
        var (_, services) = await SendAsync(HttpMethod.Get, "/services");
        Assert.Empty(services!["data"]!.AsArray());
    }

    [Fact]
    public async Task Reads_are_served()
    {
        var (configStatus, config) = await SendAsync(HttpMethod.Get, "/config");
        var (servicesStatus, services) = await SendAsync(HttpMethod.Get, "/services");

        Assert.Equal(HttpStatusCode.OK, configStatus);
        Assert.NotNull(config!["config"]);
        Assert.Equal(HttpStatusCode.OK, servicesStatus);
        Assert.Empty(services!["data"]!.AsArray());
    }

    [Theory]
    [InlineData("POST", "/services", "{\"name\": \"s\", \"url\": \"http://127.0.0.1:9/\"}")]
    [InlineData("PUT", "/services/s", "{\"url\": \"http://127.0.0.1:9/\"}")]
    [InlineData("POST", "/plugins", "{\"name\": \"rate-limiting\", \"config\": {\"minute\": 5}}")]
    public async Task Entity_writes_are_refused(string method, string path, string body)
    {
        var (status, answer) = await SendAsync(new HttpMethod(method), path, body);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, status);
        Assert.Equal("operation unsupported", answer!["name"]!.GetValue<string>());
    }
}
