using System.Text.Json.Nodes;

namespace Gantry.Tests.Admin;

/// <summary>A node with plugins = key-auth: the other plugins' endpoints and migrations do not exist there.</summary>
public abstract class PluginNotEnabledTests(PluginNode node)
{
    [Fact]
    public async Task Credential_endpoints_of_plugins_not_enabled_answer_404()
    {
        var consumer = await node.CreateAsync("/consumers", new { username = PluginNode.Unique("user") });
        var id = consumer["id"]!.GetValue<string>();
        foreach (var path in new[] { "/basic-auths", "/acls", "/jwts", "/hmac-auths", "/oauth2", $"/consumers/{id}/basic-auth", $"/consumers/{id}/acls", $"/consumers/{id}/jwt" })
        {
            var (status, body) = await node.GetAsync(path);
            Assert.True(status == 404, $"GET {path} answered {status}");
            Assert.Equal("Not found", body!["message"]!.GetValue<string>());
        }
        Assert.Equal(404, (await node.PostAsync($"/consumers/{id}/basic-auth", new { username = "u", password = "p" })).Status);

        // The enabled one works.
        await node.CreateAsync($"/consumers/{id}/key-auth", new { });
        Assert.Equal(200, (await node.GetAsync("/key-auths")).Status);
    }

    [Fact]
    public async Task An_installed_plugin_that_is_not_enabled_is_refused_with_kongs_message()
    {
        var (status, error) = await node.PostAsync("/plugins", new { name = "cors" });
        Assert.Equal(400, status);
        Assert.Equal("schema violation (name: plugin 'cors' not enabled; add it to the 'plugins' configuration property)", error!["message"]!.GetValue<string>());
        var (_, enabled) = await node.GetAsync("/plugins/enabled");
        Assert.Equal("""["key-auth"]""", enabled!["enabled_plugins"]!.ToJsonString());
        Assert.Equal(404, (await node.GetAsync("/schemas/plugins/cors")).Status);
    }

    [Fact]
    public async Task Only_the_enabled_plugins_subsystem_is_migrated()
    {
        var list = await node.Installation.RunAsync("migrations", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("key-auth: 000_base_key_auth", list.Stdout);
        Assert.DoesNotContain("basic-auth", list.Stdout);
        Assert.False(await node.Installation.TableExistsAsync("basicauth_credentials"));
    }
}

public sealed class PluginNotEnabledTestsSqlite(SqliteKeyAuthOnlyNode node) : PluginNotEnabledTests(node), IClassFixture<SqliteKeyAuthOnlyNode>;

public sealed class PluginNotEnabledTestsPostgres(PostgresKeyAuthOnlyNode node) : PluginNotEnabledTests(node), IClassFixture<PostgresKeyAuthOnlyNode>;
