using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gantry.Balancing;
using Gantry.Configuration;
using Gantry.Entities;
using Gantry.Entities.Definitions;
using Gantry.Entities.Schema;
using Gantry.Plugins;
using Gantry.Plugins.Pipeline;
using Gantry.Proxy;
using Gantry.Routing;
using Gantry.Store;
using Gantry.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gantry.Tests.Proxy;

/// <summary>
/// A snapshot built from the previous one and the changes since (the rows the cluster events name) is the
/// snapshot a whole build gives: same routes and routing, same services, same plugin chains for every
/// consumer, handlers built from the same data, same skipped entities; after random sequences of writes
/// of every kind the router and the chains read. And it is incremental: a one-route change leaves every
/// other route's compiled chain and every handler as they were.
/// </summary>
public abstract class IncrementalSnapshotTests(string store) : IAsyncLifetime
{
    private TestInstallation _installation = null!;
    private IDatabase _database = null!;
    private EntityDao _dao = null!;
    private EntityWriter _writer = null!;
    private HealthRegistry _health = null!;
    private IReadOnlyList<PluginDescriptor> _plugins = null!;
    private ClusterEventCursor _events = null!;

    public async Task InitializeAsync()
    {
        _installation = await TestInstallation.CreateAsync(store);
        var bootstrap = await _installation.RunAsync("migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        _database = _installation.OpenDatabase();
        (_plugins, _) = new PluginCatalog([]).Resolve(["bundled"]);
        _dao = new EntityDao(_database, CoreEntities.Registry(_plugins), Guid.NewGuid());
        _writer = new EntityWriter(_dao);
        _health = new HealthRegistry(Guid.NewGuid(), NullLogger.Instance);
        _events = new ClusterEventCursor(_dao, ClusterEvents.Invalidations, TimeSpan.FromSeconds(30));
    }

    public async Task DisposeAsync()
    {
        await _health.DisposeAsync();
        await _database.DisposeAsync();
        await _installation.DisposeAsync();
    }

    private SnapshotBuilder NewBuilder() => new(_dao, _dao.Registry, _health, _plugins, new PluginNodeState(), NullLogger.Instance);

    private EntitySchema Schema(string entity) => _dao.Registry.Get(entity);

    private async Task<string> CreateAsync(string entity, JsonObject body) =>
        (await _writer.CreateAsync(Schema(entity), body, lenient: false, default))["id"]!.GetValue<string>();

    private async Task UpdateAsync(string entity, string id, JsonObject patch) =>
        await _writer.UpdateAsync(Schema(entity), patch, (await _dao.GetAsync(Schema(entity), id, default))!, lenient: false, default);

    /// <summary>The changes the events written since the last call name.</summary>
    private async Task<SnapshotChanges> ChangesAsync()
    {
        var batch = await _events.PeekAsync(default);
        _events.Acknowledge(batch);
        return SnapshotChanges.FromEvents(batch.Events.Select(e => e.Data));
    }

    [Fact]
    public async Task Random_changes_built_incrementally_give_the_snapshot_a_whole_build_gives()
    {
        var seed = Environment.GetEnvironmentVariable("GANTRY_TEST_SEED") is { } fixedSeed ? int.Parse(fixedSeed) : Random.Shared.Next();
        var random = new Random(seed);
        var world = new World(random);
        var incremental = NewBuilder();
        var whole = NewBuilder();
        for (var i = 0; i < 4; i++)
            await world.SeedAsync(this);
        await ChangesAsync();
        var snapshot = await incremental.BuildAsync(1, null, null, default);
        for (var step = 1; step <= 60; step++)
        {
            var done = new List<string>();
            var operations = random.Next(1, 4);
            for (var i = 0; i < operations; i++)
                done.Add(await world.ChangeAsync(this));
            var changes = await ChangesAsync();
            // Now and then only the entity types are known (ids unknown): the build reads those types whole.
            if (random.Next(8) == 0)
                changes = SnapshotChanges.OfTypes(changes.Everything ? [SnapshotBuilder.Everything] : world.Types.Where(changes.Touches));
            snapshot = await incremental.BuildAsync(step + 1, snapshot, changes, default);
            var expected = await whole.BuildAsync(step + 1, null, null, default);
            var context = $"seed {seed} (GANTRY_TEST_SEED), step {step}: {string.Join("; ", done)}";
            AssertSame(expected, snapshot, world, context);
        }
    }

    [Fact]
    public async Task A_one_route_change_compiles_that_route_and_resolves_its_chain_only()
    {
        var services = new List<string>();
        for (var s = 0; s < 5; s++)
        {
            var service = await CreateAsync("services", new JsonObject { ["name"] = $"s{s}", ["url"] = $"http://s{s}.test:8080/" });
            services.Add(service);
            for (var r = 0; r < 4; r++)
                await CreateAsync("routes", new JsonObject { ["paths"] = new JsonArray($"/s{s}/r{r}"), ["service"] = new JsonObject { ["id"] = service } });
            await CreateAsync("plugins", new JsonObject { ["name"] = "key-auth", ["service"] = new JsonObject { ["id"] = service } });
            await CreateAsync("plugins", new JsonObject { ["name"] = "rate-limiting", ["service"] = new JsonObject { ["id"] = service }, ["config"] = new JsonObject { ["minute"] = 10 } });
        }
        var consumer = await CreateAsync("consumers", new JsonObject { ["username"] = "alice" });
        await CreateAsync("keyauth_credentials", new JsonObject { ["key"] = "alice-key", ["consumer"] = new JsonObject { ["id"] = consumer } });
        await ChangesAsync();
        var builder = NewBuilder();
        var before = await builder.BuildAsync(1, null, null, default);
        Assert.Equal(20, before.Plugins.Count);

        var added = await CreateAsync("routes", new JsonObject { ["paths"] = new JsonArray("/s0/new"), ["service"] = new JsonObject { ["id"] = services[0] } });
        var after = await builder.BuildAsync(2, before, await ChangesAsync(), default);

        Assert.Equal(21, after.Router.RouteCount);
        Assert.Equal(Guid.Parse(added), after.Router.Match("GET", "x.test", 80, "/s0/new", new NoRequestHeaders(), null, false)!.Value.Route.Id);
        Assert.Equal(2, after.Plugins.For(Guid.Parse(added))!.Slots.Length);
        foreach (var route in before.Routes)
            Assert.Same(before.Plugins.For(route.Id), after.Plugins.For(route.Id));
        Assert.Same(before.Plugins.Instances, after.Plugins.Instances);
        // The routes were not read again: the same definitions serve.
        Assert.All(before.Routes, r => Assert.Contains(after.Routes, a => ReferenceEquals(a, r)));

        // A service-scoped plugin's change resolves again only that service's routes' chains, and builds only its handler.
        var limit = (await _dao.PageAsync(Schema("plugins"), new PageRequest(100, null, [], false, null, false), default)).Data
            .First(p => p["name"]!.GetValue<string>() == "rate-limiting" && p["service"]!["id"]!.GetValue<string>() == services[1]);
        await UpdateAsync("plugins", limit["id"]!.GetValue<string>(), new JsonObject { ["config"] = new JsonObject { ["minute"] = 20 } });
        var changed = await builder.BuildAsync(3, after, await ChangesAsync(), default);
        foreach (var route in after.Routes)
        {
            if (route.ServiceId == Guid.Parse(services[1]))
                Assert.NotSame(after.Plugins.For(route.Id), changed.Plugins.For(route.Id));
            else
                Assert.Same(after.Plugins.For(route.Id), changed.Plugins.For(route.Id));
        }
        var rebuilt = changed.Plugins.Instances.Where(i => !after.Plugins.Instances.Any(a => ReferenceEquals(a, i))).ToList();
        Assert.Equal(limit["id"]!.GetValue<string>(), Assert.Single(rebuilt).Instance.Id.ToString());

        // A credential change rebuilds the handlers, which share the key index.
        await CreateAsync("keyauth_credentials", new JsonObject { ["key"] = "alice-second", ["consumer"] = new JsonObject { ["id"] = consumer } });
        var rekeyed = await builder.BuildAsync(4, changed, await ChangesAsync(), default);
        Assert.All(rekeyed.Plugins.Instances, i => Assert.DoesNotContain(changed.Plugins.Instances, c => ReferenceEquals(c.Instance.Handler, i.Instance.Handler)));
        Assert.Contains("alice-second", HandlerFingerprint(rekeyed.Plugins.Instances.First(i => i.Plugin.Name == "key-auth").Instance.Handler));
    }

    /// <summary>The entities the random changes pick from, as ids; what exists is what the store says.</summary>
    private sealed class World(Random random)
    {
        public readonly List<string> Services = [];
        public readonly List<string> Routes = [];
        public readonly List<string> Consumers = [];
        public readonly List<string> Credentials = [];
        public readonly List<string> Plugins = [];
        private int _serial;

        public IEnumerable<string> Types => ["services", "routes", "consumers", "keyauth_credentials", "plugins"];

        private string Pick(List<string> list) => list[random.Next(list.Count)];

        private T Pick<T>(params T[] items) => items[random.Next(items.Length)];

        private JsonArray Paths() => new(Enumerable.Range(0, random.Next(1, 3)).Select(_ => Pick("/a", "/a/b", "/b", $"/p{random.Next(6)}", "~/r/\\d+$", "/")).Distinct()
            .Select(p => (JsonNode)p).ToArray());

        private JsonObject Route()
        {
            var route = new JsonObject { ["paths"] = Paths() };
            if (random.Next(3) == 0)
                route["hosts"] = new JsonArray(Pick("a.test", "b.test", "*.wild.test"));
            if (random.Next(4) == 0)
                route["methods"] = new JsonArray(Pick("GET", "POST"));
            if (Services.Count > 0 && random.Next(6) > 0)
                route["service"] = new JsonObject { ["id"] = Pick(Services) };
            return route;
        }

        public async Task SeedAsync(IncrementalSnapshotTests test)
        {
            Services.Add(await test.CreateAsync("services", new JsonObject { ["name"] = $"seed{_serial++}", ["url"] = "http://seed.test/base" }));
            Routes.Add(await test.CreateAsync("routes", Route()));
            Consumers.Add(await test.CreateAsync("consumers", new JsonObject { ["username"] = $"c{_serial++}" }));
            Credentials.Add(await test.CreateAsync("keyauth_credentials", new JsonObject { ["key"] = $"k{_serial++}", ["consumer"] = new JsonObject { ["id"] = Consumers[^1] } }));
            await TryAsync(async () => Plugins.Add(await test.CreateAsync("plugins", Plugin())));
        }

        private JsonObject Plugin()
        {
            var name = Pick("key-auth", "rate-limiting", "rate-limiting", "correlation-id");
            var plugin = new JsonObject { ["name"] = name };
            if (name == "rate-limiting")
                plugin["config"] = new JsonObject { ["minute"] = random.Next(1, 100) };
            if (Routes.Count > 0 && random.Next(3) == 0)
                plugin["route"] = new JsonObject { ["id"] = Pick(Routes) };
            if (Services.Count > 0 && random.Next(3) == 0)
                plugin["service"] = new JsonObject { ["id"] = Pick(Services) };
            // Authentication plugins cannot be scoped to a consumer.
            if (name != "key-auth" && Consumers.Count > 0 && random.Next(3) == 0)
                plugin["consumer"] = new JsonObject { ["id"] = Pick(Consumers) };
            if (random.Next(6) == 0)
                plugin["enabled"] = false;
            return plugin;
        }

        /// <summary>A write the store may refuse (a second instance on one scope, a service that still has routes): refused, it changes nothing.</summary>
        private static async Task<bool> TryAsync(Func<Task> write)
        {
            try
            {
                await write();
                return true;
            }
            catch (EntityException)
            {
                return false;
            }
        }

        /// <summary>One random write; says what it did.</summary>
        public async Task<string> ChangeAsync(IncrementalSnapshotTests test)
        {
            switch (random.Next(16))
            {
                case 0:
                    Services.Add(await test.CreateAsync("services", new JsonObject { ["name"] = $"s{_serial++}", ["url"] = $"http://{Pick("x", "y")}.test:{random.Next(80, 90)}{Pick("", "/base", "/other")}" }));
                    return "create service";
                case 1 when Services.Count > 0:
                {
                    var id = Pick(Services);
                    var patch = random.Next(3) switch
                    {
                        0 => new JsonObject { ["enabled"] = random.Next(2) == 0 },
                        1 => new JsonObject { ["path"] = Pick("/x", "/y", "/x/z") },
                        _ => new JsonObject { ["name"] = $"renamed{_serial++}", ["port"] = random.Next(1000, 2000) },
                    };
                    await test.UpdateAsync("services", id, patch);
                    return $"update service {id} {patch.ToJsonString()}";
                }
                case 2 when Services.Count > 0:
                {
                    var id = Pick(Services);
                    if (!await TryAsync(() => test._writer.DeleteAsync(test.Schema("services"), id, default)))
                        return $"delete service {id} refused";
                    Services.Remove(id);
                    return $"delete service {id}";
                }
                case 3 or 4:
                    Routes.Add(await test.CreateAsync("routes", Route()));
                    return "create route";
                case 5 or 6 when Routes.Count > 0:
                {
                    var id = Pick(Routes);
                    var patch = Route();
                    if (!patch.ContainsKey("service"))
                        patch["service"] = null;
                    await test.UpdateAsync("routes", id, patch);
                    return $"update route {id} {patch.ToJsonString()}";
                }
                case 7 when Routes.Count > 0:
                {
                    var id = Pick(Routes);
                    await test._writer.DeleteAsync(test.Schema("routes"), id, default);
                    Routes.Remove(id);
                    return $"delete route {id}";
                }
                case 8:
                    Consumers.Add(await test.CreateAsync("consumers", new JsonObject { ["username"] = $"c{_serial++}" }));
                    return "create consumer";
                case 9 when Consumers.Count > 0:
                {
                    var id = Pick(Consumers);
                    if (random.Next(2) == 0)
                    {
                        await test.UpdateAsync("consumers", id, new JsonObject { ["username"] = $"renamed{_serial++}" });
                        return $"update consumer {id}";
                    }
                    // Takes its credentials and the plugins scoped to it along.
                    await test._writer.DeleteAsync(test.Schema("consumers"), id, default);
                    Consumers.Remove(id);
                    return $"delete consumer {id}";
                }
                case 10 when Consumers.Count > 0:
                    Credentials.Add(await test.CreateAsync("keyauth_credentials", new JsonObject { ["key"] = $"k{_serial++}", ["consumer"] = new JsonObject { ["id"] = Pick(Consumers) } }));
                    return "create credential";
                case 11 when Credentials.Count > 0:
                {
                    var id = Pick(Credentials);
                    Credentials.Remove(id);
                    await test._writer.DeleteAsync(test.Schema("keyauth_credentials"), id, default);
                    return $"delete credential {id}";
                }
                case 12 or 13:
                {
                    var plugin = Plugin();
                    if (await TryAsync(async () => Plugins.Add(await test.CreateAsync("plugins", plugin))))
                        return $"create plugin {plugin.ToJsonString()}";
                    return "create plugin refused";
                }
                case 14 when Plugins.Count > 0:
                {
                    var id = Pick(Plugins);
                    if (await test._dao.GetAsync(test.Schema("plugins"), id, default) is not { } existing)
                    {
                        Plugins.Remove(id);
                        return "update plugin gone with its scope";
                    }
                    var patch = existing["name"]!.GetValue<string>() == "rate-limiting" && random.Next(2) == 0
                        ? new JsonObject { ["config"] = new JsonObject { ["minute"] = random.Next(1, 100) } }
                        : new JsonObject { ["enabled"] = random.Next(2) == 0 };
                    await test.UpdateAsync("plugins", id, patch);
                    return $"update plugin {id} {patch.ToJsonString()}";
                }
                case 15 when Plugins.Count > 0:
                {
                    var id = Pick(Plugins);
                    Plugins.Remove(id);
                    await test._writer.DeleteAsync(test.Schema("plugins"), id, default);
                    return $"delete plugin {id}";
                }
            }
            return "nothing";
        }
    }

    private static void AssertSame(ConfigSnapshot expected, ConfigSnapshot actual, World world, string context)
    {
        string Describe(IEnumerable<RouteDefinition> routes) =>
            string.Join("\n", routes.OrderBy(r => r.Id).Select(r => JsonSerializer.Serialize(r)));
        Assert.True(Describe(expected.Routes) == Describe(actual.Routes), $"{context}: the routes differ");
        Assert.True(expected.Router.RouteCount == actual.Router.RouteCount, context);
        string Targets(ConfigSnapshot s) => string.Join("\n", s.Services.OrderBy(t => t.Key)
            .Select(t => $"{t.Key} {t.Value.Protocol} {t.Value.Host} {t.Value.Port} {t.Value.ConnectTimeoutMs} {t.Value.ReadTimeoutMs} {t.Value.WriteTimeoutMs} {t.Value.Retries}"));
        Assert.True(Targets(expected) == Targets(actual), $"{context}: the services differ");

        // Routing: every request the routes can see is routed alike.
        foreach (var host in new[] { "a.test", "b.test", "x.wild.test", "other.test" })
        {
            foreach (var method in new[] { "GET", "POST" })
            {
                foreach (var path in new[] { "/", "/a", "/a/b/c", "/b", "/p0", "/p3/x", "/r/12", "/x/z", "/r/x" })
                {
                    var want = expected.Router.Match(method, host, 80, path, new NoRequestHeaders(), null, false) is { } w ? (w.Route.Id, w.UpstreamPath) : default((Guid, string)?);
                    var got = actual.Router.Match(method, host, 80, path, new NoRequestHeaders(), null, false) is { } g ? (g.Route.Id, g.UpstreamPath) : default((Guid, string)?);
                    Assert.True(want == got, $"{context}: {method} {host}{path} routes to {got}, a whole build to {want}");
                }
            }
        }

        // Chains: per route, per consumer, the same instance of each plugin.
        string Instances(ConfigSnapshot s) => string.Join("\n", s.Plugins.Instances.OrderBy(i => i.Instance.Id)
            .Select(i => $"{i.Instance.Id} {i.Instance.Name} {i.Instance.Http} {i.Instance.Https} {i.Route} {i.Service} {i.Consumer} {HandlerFingerprint(i.Instance.Handler)}"));
        Assert.True(Instances(expected) == Instances(actual), $"{context}: the instances differ\n{Instances(actual)}\na whole build's:\n{Instances(expected)}");
        Assert.True(expected.Plugins.Count == actual.Plugins.Count, $"{context}: {actual.Plugins.Count} routes with plugins, a whole build has {expected.Plugins.Count}");
        var consumers = world.Consumers.Select(c => (Guid?)Guid.Parse(c)).Append(null).ToList();
        foreach (var route in expected.Routes)
        {
            string Chain(ConfigSnapshot s) => s.Plugins.For(route.Id) is not { } chain ? "none" : string.Join(" | ", chain.Slots.Select(slot =>
                string.Join(",", consumers.Select(c => slot.Resolve(c)?.Id.ToString() ?? "-"))));
            Assert.True(Chain(expected) == Chain(actual), $"{context}: route {route.Id}'s chain is {Chain(actual)}, a whole build's {Chain(expected)}");
        }

        string Problems(IEnumerable<InvalidEntity> problems) => string.Join("\n", problems.Select(p => $"{p.Entity} {p.Id} {p.Reason}").Order());
        Assert.True(Problems(expected.Invalid.All) == Problems(actual.Invalid.All), $"{context}: skipped entities differ");
    }

    /// <summary>
    /// What a handler was built from, read from its fields (its base classes' too): values, and the
    /// entries of its collections (a key index, the consumers). A handler left from an older build differs.
    /// </summary>
    private static string HandlerFingerprint(PluginHandler handler)
    {
        var parts = new List<string>();
        for (var type = handler.GetType(); type is not null && type != typeof(object); type = type.BaseType)
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                parts.Add($"{field.Name}={Fingerprint(field.GetValue(handler))}");
        }
        return string.Join(";", parts);
    }

    private static string Fingerprint(object? value) => value switch
    {
        null => "null",
        string text => text,
        IEnumerable items => "[" + string.Join(",", items.Cast<object?>().Select(Item).Order(StringComparer.Ordinal)) + "]",
        _ when value.GetType().IsPrimitive || value is Guid or Enum or decimal => value.ToString()!,
        _ when value.GetType().GetMethod("<Clone>$") is not null => value.ToString()!,
        _ => value.GetType().Name,
    };

    private static string Item(object? item) => item switch
    {
        null => "null",
        _ when item.GetType().IsGenericType && item.GetType().GetGenericTypeDefinition() == typeof(KeyValuePair<,>) =>
            $"{item.GetType().GetProperty("Key")!.GetValue(item)}={Fingerprint(item.GetType().GetProperty("Value")!.GetValue(item))}",
        _ => Fingerprint(item),
    };
}

public sealed class SqliteIncrementalSnapshotTests() : IncrementalSnapshotTests("sqlite");

public sealed class PostgresIncrementalSnapshotTests() : IncrementalSnapshotTests("postgres");
