using System.Text.Json.Nodes;
using Gantry.Cli;
using Gantry.Configuration;
using Gantry.Declarative;
using Gantry.Entities;
using Gantry.Entities.Definitions;
using Gantry.Entities.Schema;
using Gantry.Plugins;
using Gantry.Store;
using Gantry.Tests.Support;

namespace Gantry.Tests.Plugins;

/// <summary>
/// A control plane started on a store, with a shared cluster certificate of its own and a cluster
/// listener on a free loopback port (so that nodes of parallel tests never collide once it binds).
/// </summary>
public abstract class ControlPlaneNode(string store) : AdminNode(store)
{
    private readonly string _certificates = Directory.CreateTempSubdirectory("gantry-cp-certs-").FullName;

    protected override IReadOnlyDictionary<string, string> Settings
    {
        get
        {
            var (certificate, key, _) = HybridCommand.Generate(30);
            File.WriteAllText(Path.Combine(_certificates, "cluster.crt"), certificate);
            File.WriteAllText(Path.Combine(_certificates, "cluster.key"), key);
            return new Dictionary<string, string>
            {
                ["GANTRY_ROLE"] = "control_plane",
                ["GANTRY_CLUSTER_CERT"] = Path.Combine(_certificates, "cluster.crt"),
                ["GANTRY_CLUSTER_CERT_KEY"] = Path.Combine(_certificates, "cluster.key"),
                ["GANTRY_CLUSTER_LISTEN"] = $"127.0.0.1:{TestInstallation.FreePort()}",
            };
        }
    }
}

public sealed class SqliteControlPlaneNode() : ControlPlaneNode("sqlite");

public sealed class PostgresControlPlaneNode() : ControlPlaneNode("postgres");

/// <summary>
/// Kong's hybrid rule, enforced by the one validator: rate-limiting's cluster policy counts in the
/// database, which data planes do not have, so a control plane refuses it through the Admin API and in
/// declarative imports, and keeps accepting local and redis.
/// </summary>
public abstract class ControlPlanePolicyTests(ControlPlaneNode node)
{
    private const string Advice = "use redis (counters shared by every data plane) or local (counters per node)";

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    private async Task<string> ServiceAsync()
    {
        var service = await node.CreateAsync("/services", new { name = Unique("svc"), url = "http://127.0.0.1:9/" });
        return service["id"]!.GetValue<string>();
    }

    private static void AssertRefused(int status, JsonObject? body)
    {
        Assert.True(status == 400, $"{status}: {body?.ToJsonString()}");
        Assert.Equal(2, body!["code"]!.GetValue<int>());
        Assert.Equal("schema violation", body["name"]!.GetValue<string>());
        var message = body["fields"]!["config"]!["policy"]!.GetValue<string>();
        Assert.StartsWith("'cluster' cannot be used on a control plane: the cluster policy keeps its counters in the database", message);
        Assert.EndsWith(Advice, message);
        Assert.Contains("config.policy", body["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Post_with_the_cluster_policy_is_refused_and_nothing_is_stored()
    {
        var service = await ServiceAsync();
        var before = await node.CountAsync("plugins");

        var (status, body) = await node.PostAsync("/plugins", new { name = "rate-limiting", service = new { id = service }, config = new { minute = 5, policy = "cluster" } });
        var (nestedStatus, nestedBody) = await node.PostAsync($"/services/{service}/plugins", new { name = "rate-limiting", config = new { minute = 5, policy = "cluster" } });

        AssertRefused(status, body);
        AssertRefused(nestedStatus, nestedBody);
        Assert.Equal(before, await node.CountAsync("plugins"));
    }

    [Theory]
    [InlineData("local")]
    [InlineData("redis")]
    public async Task Local_and_redis_stay_allowed(string policy)
    {
        var service = await ServiceAsync();
        JsonObject config = policy == "redis"
            ? new() { ["minute"] = 5, ["policy"] = "redis", ["redis"] = new JsonObject { ["host"] = "127.0.0.1" } }
            : new() { ["minute"] = 5, ["policy"] = "local" };

        var created = await node.CreateAsync("/plugins", new JsonObject { ["name"] = "rate-limiting", ["service"] = new JsonObject { ["id"] = service }, ["config"] = config });

        Assert.Equal(policy, created["config"]!["policy"]!.GetValue<string>());
    }

    [Fact]
    public async Task Default_policy_is_accepted()
    {
        var service = await ServiceAsync();

        var created = await node.CreateAsync("/plugins", new { name = "rate-limiting", service = new { id = service }, config = new { minute = 5 } });

        Assert.Equal("local", created["config"]!["policy"]!.GetValue<string>());
    }

    [Fact]
    public async Task Put_and_patch_to_the_cluster_policy_are_refused_and_the_stored_plugin_is_unchanged()
    {
        var service = await ServiceAsync();
        var created = await node.CreateAsync("/plugins", new { name = "rate-limiting", service = new { id = service }, config = new { minute = 5, policy = "local" } });
        var id = created["id"]!.GetValue<string>();

        var (patchStatus, patchBody) = await node.PatchAsync($"/plugins/{id}", new { config = new { policy = "cluster" } });
        var (putStatus, putBody) = await node.PutAsync($"/plugins/{id}", new { name = "rate-limiting", service = new { id = service }, config = new { minute = 5, policy = "cluster" } });
        var (newPutStatus, newPutBody) = await node.PutAsync($"/plugins/{Guid.NewGuid()}", new { name = "rate-limiting", service = new { id = await ServiceAsync() }, config = new { minute = 5, policy = "cluster" } });

        AssertRefused(patchStatus, patchBody);
        AssertRefused(putStatus, putBody);
        AssertRefused(newPutStatus, newPutBody);
        var (_, stored) = await node.GetAsync($"/plugins/{id}");
        Assert.Equal("local", stored!["config"]!["policy"]!.GetValue<string>());
    }

    [Fact]
    public async Task Schema_validate_endpoint_gives_the_same_answer()
    {
        var (status, body) = await node.PostAsync("/schemas/plugins/validate", new { name = "rate-limiting", config = new { minute = 5, policy = "cluster" } });

        AssertRefused(status, body);
    }

    [Fact]
    public async Task Db_import_on_the_control_plane_refuses_the_document_and_changes_nothing()
    {
        var serviceName = Unique("imported");
        var document = Path.Combine(node.Installation.Prefix, $"{serviceName}.yml");
        await File.WriteAllTextAsync(document, $"""
            _format_version: "3.0"
            services:
            - name: {serviceName}
              url: http://127.0.0.1:9/
              plugins:
              - name: rate-limiting
                config:
                  minute: 5
                  policy: cluster
            """);
        var services = await node.CountAsync("services");

        var result = await node.Installation.RunAsync("config", "db_import", document);

        Assert.Equal(ExitCodes.InvalidDocument, result.ExitCode);
        Assert.Contains("config.policy", result.Stderr);
        Assert.Contains(Advice, result.Stderr);
        Assert.Contains("nothing was changed", result.Stderr);
        Assert.Equal(services, await node.CountAsync("services"));

        await File.WriteAllTextAsync(document, (await File.ReadAllTextAsync(document)).Replace("policy: cluster", "policy: local"));
        var accepted = await node.Installation.RunAsync("config", "db_import", document);
        Assert.True(accepted.ExitCode == 0, accepted.ToString());
        Assert.Equal(services + 1, await node.CountAsync("services"));
    }
}

[Collection(AdminApiCollection.Name)]
public sealed class ControlPlanePolicyTestsSqlite(SqliteControlPlaneNode node) : ControlPlanePolicyTests(node), IClassFixture<SqliteControlPlaneNode>;

[Collection(AdminApiCollection.Name)]
public sealed class ControlPlanePolicyTestsPostgres(PostgresControlPlaneNode node) : ControlPlanePolicyTests(node), IClassFixture<PostgresControlPlaneNode>;

/// <summary>The rule is the node's: the same plugin is valid on every other role, and the check serves any plugin with such a setting.</summary>
public sealed class NodeCheckTests
{
    private static readonly IReadOnlyList<PluginDescriptor> Bundled = new PluginCatalog([]).Resolve(["bundled"]).Enabled;

    private static JsonObject RateLimiting(string policy) => new()
    {
        ["name"] = "rate-limiting",
        ["config"] = new JsonObject { ["minute"] = 5, ["policy"] = policy, ["redis"] = new JsonObject { ["host"] = "127.0.0.1" } },
    };

    [Theory]
    [InlineData(NodeRole.Traditional, "cluster", true)]
    [InlineData(NodeRole.DataPlane, "cluster", true)]
    [InlineData(NodeRole.ControlPlane, "cluster", false)]
    [InlineData(NodeRole.ControlPlane, "local", true)]
    [InlineData(NodeRole.ControlPlane, "redis", true)]
    public void Cluster_policy_depends_on_the_role(NodeRole role, string policy, bool valid)
    {
        var schema = Gantry.Entities.Definitions.Plugins.Schema(Bundled, new ValidationContext(role));

        var error = Record.Exception(() => EntityWriter.Validate(schema, RateLimiting(policy), WriteMode.Insert, null, lenient: false));

        Assert.Equal(valid, error is null);
        if (!valid)
            Assert.Contains("config.policy", Assert.IsType<EntityException>(error).Message);
    }

    [Fact]
    public void Declarative_loader_applies_the_role_of_its_registry()
    {
        const string document = "_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n  config:\n    minute: 5\n    policy: cluster\n";

        var controlPlane = new DeclarativeLoader(CoreEntities.Registry(Bundled, new ValidationContext(NodeRole.ControlPlane))).Load(document);
        var traditional = new DeclarativeLoader(CoreEntities.Registry(Bundled)).Load(document);

        Assert.Null(controlPlane.Config);
        Assert.Contains(controlPlane.Errors.SelectMany(e => e.Errors), e => e.Field == "config.policy");
        Assert.NotNull(traditional.Config);
    }

    [Fact]
    public void Another_plugin_reuses_the_rule_by_declaring_it()
    {
        var descriptor = new PluginDescriptor("response-limits", Bundled: false, Migrations: null)
        {
            Config = [PluginFields.Text("policy", "local", oneOf: ["local", "cluster", "redis"])],
            NodeChecks = [Gantry.Plugins.RateLimiting.RateLimitingPlugin.PolicyOnControlPlane],
        };
        var schema = Gantry.Entities.Definitions.Plugins.Schema([descriptor], new ValidationContext(NodeRole.ControlPlane));

        var error = Record.Exception(() => EntityWriter.Validate(schema, new JsonObject { ["name"] = "response-limits", ["config"] = new JsonObject { ["policy"] = "cluster" } },
            WriteMode.Insert, null, lenient: false));

        Assert.IsType<EntityException>(error);
    }
}
