using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Gantry.Tests.Admin;

/// <summary>The credential entities of the bundled plugins: nested and top-level endpoints, automatic values, uniqueness.</summary>
public abstract class PluginCredentialTests(PluginNode node)
{
    private async Task<(string Id, string Username)> CreateConsumerAsync()
    {
        var username = PluginNode.Unique("user");
        var consumer = await node.CreateAsync("/consumers", new { username });
        return (consumer["id"]!.GetValue<string>(), username);
    }

    private async Task<IReadOnlyList<string>> IdsAsync(string path)
    {
        var (status, list) = await node.GetAsync(path);
        Assert.Equal(200, status);
        return list!["data"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).ToList();
    }

    [Fact]
    public async Task Key_auth_generates_a_key_lists_it_both_ways_and_refuses_a_duplicate()
    {
        var (consumerId, username) = await CreateConsumerAsync();
        var generated = await node.CreateAsync($"/consumers/{username}/key-auth", new { });
        var key = generated["key"]!.GetValue<string>();
        Assert.Matches("^[A-Za-z0-9]{32}$", key);
        Assert.Equal(consumerId, generated["consumer"]!["id"]!.GetValue<string>());

        var chosen = await node.CreateAsync("/key-auths", new { key = "key-" + consumerId, consumer = new { id = consumerId } });
        var nested = await IdsAsync($"/consumers/{consumerId}/key-auth");
        Assert.Equal(2, nested.Count);
        Assert.Contains(generated["id"]!.GetValue<string>(), nested);
        Assert.Contains(chosen["id"]!.GetValue<string>(), await IdsAsync("/key-auths"));

        // The key is the endpoint key.
        var (found, byKey) = await node.GetAsync($"/key-auths/key-{consumerId}");
        Assert.Equal(200, found);
        Assert.Equal(chosen["id"]!.GetValue<string>(), byKey!["id"]!.GetValue<string>());

        var (other, _) = await CreateConsumerAsync();
        var (status, error) = await node.PostAsync($"/consumers/{other}/key-auth", new { key });
        Assert.Equal(409, status);
        Assert.Equal($"UNIQUE violation detected on '{{key=\"{key}\"}}'", error!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Basic_auth_stores_and_shows_only_the_salted_sha1_of_the_password()
    {
        var (consumerId, username) = await CreateConsumerAsync();
        var login = PluginNode.Unique("login");
        var created = await node.CreateAsync($"/consumers/{username}/basic-auth", new { username = login, password = "open sesame" });
        var expected = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes("open sesame" + consumerId)));
        Assert.Equal(expected, created["password"]!.GetValue<string>());
        Assert.Equal(expected, await node.Installation.ScalarAsync($"SELECT password FROM basicauth_credentials WHERE username = '{login}'"));

        var (_, listed) = await node.GetAsync("/basic-auths");
        var mine = listed!["data"]!.AsArray().Single(c => c!["username"]!.GetValue<string>() == login)!;
        Assert.Equal(expected, mine["password"]!.GetValue<string>());
        Assert.DoesNotContain("open sesame", listed.ToJsonString());

        // An update that leaves the password out keeps the stored hash; one that sends it hashes it again.
        var (_, tagged) = await node.SendAsync(HttpMethod.Patch, $"/basic-auths/{login}", new { tags = new[] { "t" } });
        Assert.Equal(expected, tagged!["password"]!.GetValue<string>());
        var (_, changed) = await node.SendAsync(HttpMethod.Patch, $"/basic-auths/{login}", new { password = "new" });
        Assert.Equal(Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes("new" + consumerId))), changed!["password"]!.GetValue<string>());

        var (status, _) = await node.PostAsync($"/consumers/{username}/basic-auth", new { username = login, password = "x" });
        Assert.Equal(409, status);
    }

    [Fact]
    public async Task Acls_are_unique_per_consumer_and_group()
    {
        var (consumerId, username) = await CreateConsumerAsync();
        var group = await node.CreateAsync($"/consumers/{username}/acls", new { group = "admins" });
        Assert.Equal("admins", group["group"]!.GetValue<string>());
        var (status, error) = await node.PostAsync("/acls", new { group = "admins", consumer = new { id = consumerId } });
        Assert.Equal(409, status);
        Assert.Equal("admins", error!["fields"]!["group"]!.GetValue<string>());

        // The same group for another consumer is another membership.
        var (other, _) = await CreateConsumerAsync();
        await node.CreateAsync($"/consumers/{other}/acls", new { group = "admins" });
        Assert.Single(await IdsAsync($"/consumers/{consumerId}/acls"));
        Assert.Contains(group["id"]!.GetValue<string>(), await IdsAsync("/acls"));
    }

    [Fact]
    public async Task Jwt_secrets_generate_key_and_secret_and_asymmetric_algorithms_need_a_public_key()
    {
        var (consumerId, _) = await CreateConsumerAsync();
        var secret = await node.CreateAsync($"/consumers/{consumerId}/jwt", new { });
        Assert.Equal("HS256", secret["algorithm"]!.GetValue<string>());
        Assert.Matches("^[A-Za-z0-9]{32}$", secret["key"]!.GetValue<string>());
        Assert.Matches("^[A-Za-z0-9]{32}$", secret["secret"]!.GetValue<string>());

        var (status, error) = await node.PostAsync($"/consumers/{consumerId}/jwt", new { algorithm = "RS256" });
        Assert.Equal(400, status);
        Assert.Equal("required field missing", error!["fields"]!["rsa_public_key"]!.GetValue<string>());

        using var rsa = RSA.Create(2048);
        var rsaSecret = await node.CreateAsync("/jwts", new { algorithm = "RS256", rsa_public_key = rsa.ExportSubjectPublicKeyInfoPem(), consumer = new { id = consumerId } });
        Assert.Equal(2, (await IdsAsync($"/consumers/{consumerId}/jwt")).Count);
        Assert.Contains(rsaSecret["id"]!.GetValue<string>(), await IdsAsync("/jwts"));
        var (duplicate, _) = await node.PostAsync($"/consumers/{consumerId}/jwt", new { key = secret["key"]!.GetValue<string>() });
        Assert.Equal(409, duplicate);
    }

    [Fact]
    public async Task Hmac_auth_and_oauth2_credentials_get_generated_secrets_and_unique_identifiers()
    {
        var (consumerId, username) = await CreateConsumerAsync();
        var login = PluginNode.Unique("hmac");
        var hmac = await node.CreateAsync($"/consumers/{username}/hmac-auth", new { username = login });
        Assert.Matches("^[A-Za-z0-9]{32}$", hmac["secret"]!.GetValue<string>());
        Assert.Contains(hmac["id"]!.GetValue<string>(), await IdsAsync("/hmac-auths"));
        Assert.Equal(409, (await node.PostAsync("/hmac-auths", new { username = login, consumer = new { id = consumerId } })).Status);

        var app = await node.CreateAsync($"/consumers/{consumerId}/oauth2", new { name = "app", redirect_uris = new[] { "https://app.test/callback" } });
        var clientId = app["client_id"]!.GetValue<string>();
        Assert.Matches("^[A-Za-z0-9]{32}$", clientId);
        Assert.Matches("^[A-Za-z0-9]{32}$", app["client_secret"]!.GetValue<string>());
        Assert.Equal("confidential", app["client_type"]!.GetValue<string>());
        Assert.Equal([app["id"]!.GetValue<string>()], await IdsAsync($"/consumers/{username}/oauth2"));
        Assert.Equal(200, (await node.GetAsync($"/oauth2/{clientId}")).Status);
        Assert.Equal(409, (await node.PostAsync("/oauth2", new { name = "copy", client_id = clientId, consumer = new { id = consumerId } })).Status);
    }

    [Fact]
    public async Task Deleting_a_consumer_deletes_its_credentials()
    {
        var (consumerId, _) = await CreateConsumerAsync();
        var key = await node.CreateAsync($"/consumers/{consumerId}/key-auth", new { });
        var group = await node.CreateAsync($"/consumers/{consumerId}/acls", new { group = "g" });
        Assert.Equal(204, (await node.SendAsync(HttpMethod.Delete, $"/consumers/{consumerId}")).Status);
        Assert.Equal(404, (await node.GetAsync($"/key-auths/{key["id"]}")).Status);
        Assert.Equal(404, (await node.GetAsync($"/acls/{group["id"]}")).Status);
    }
}

public sealed class PluginCredentialTestsSqlite(SqliteBundledNode node) : PluginCredentialTests(node), IClassFixture<SqliteBundledNode>;

public sealed class PluginCredentialTestsPostgres(PostgresBundledNode node) : PluginCredentialTests(node), IClassFixture<PostgresBundledNode>;
