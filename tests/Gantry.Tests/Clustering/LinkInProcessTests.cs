using System.Text.Json.Nodes;
using System.Threading.Channels;
using Gantry.Balancing;
using Gantry.Clustering;
using Gantry.Configuration;
using Gantry.DbLess;
using Gantry.Declarative;
using Gantry.Entities;
using Gantry.Entities.Definitions;
using Gantry.Entities.Schema;
using Gantry.Migrations;
using Gantry.Proxy;
using Gantry.Store;
using Gantry.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gantry.Tests.Clustering;

/// <summary>
/// The control plane's feed and the data plane's applier joined in one process, without the transport:
/// the hash is the one of the exporter's wire form, a whole configuration and then deltas reach the data
/// plane's served snapshot with the control plane's hash, a delta onto another base changes nothing, and a
/// data plane that reconnects is caught up with the deltas it missed.
/// </summary>
public abstract class LinkInProcessTests(string store) : IAsyncLifetime
{
    private TestInstallation _installation = null!;
    private IDatabase _database = null!;
    private EntityDao _dao = null!;
    private EntityWriter _writer = null!;
    private ConfigFeed _feed = null!;
    private readonly Channel<FeedItem> _output = Channel.CreateUnbounded<FeedItem>();
    private DataPlane _plane = null!;

    public async Task InitializeAsync()
    {
        _installation = await TestInstallation.CreateAsync(store);
        var bootstrap = await _installation.RunAsync("migrations", "bootstrap");
        Assert.True(bootstrap.ExitCode == 0, bootstrap.ToString());
        _database = _installation.OpenDatabase();
        _dao = new EntityDao(_database, CoreEntities.Registry([]), Guid.NewGuid());
        _writer = new EntityWriter(_dao);
        _feed = new ConfigFeed(_dao, TimeSpan.FromHours(1), NullLogger.Instance);
        _plane = await DataPlane.CreateAsync(_installation.Prefix);
    }

    public async Task DisposeAsync()
    {
        await _feed.DisposeAsync();
        await _plane.DisposeAsync();
        await _database.DisposeAsync();
        await _installation.DisposeAsync();
    }

    /// <summary>A data plane's served configuration in memory, as a node without a database has it.</summary>
    private sealed class DataPlane : IAsyncDisposable
    {
        private readonly HealthRegistry _health;

        private DataPlane(HealthRegistry health, SnapshotHolder snapshots, DbLessStore store, DataPlaneApplier applier)
        {
            _health = health;
            Snapshots = snapshots;
            Store = store;
            Applier = applier;
        }

        public SnapshotHolder Snapshots { get; }
        public DbLessStore Store { get; }
        public DataPlaneApplier Applier { get; }

        public static async Task<DataPlane> CreateAsync(string prefix)
        {
            var registry = CoreEntities.Registry([]);
            DbLessStore? store = null;
            var dao = new EntityDao(new ServedDatabase(() => store!.CurrentDatabase), registry, Guid.NewGuid());
            var health = new HealthRegistry(Guid.NewGuid(), NullLogger.Instance);
            var snapshots = new SnapshotHolder(new SnapshotBuilder(dao, registry, health, [], new Gantry.Plugins.Pipeline.PluginNodeState(), NullLogger.Instance),
                dao, TimeSpan.FromHours(1), NullLogger.Instance);
            store = await DbLessStore.CreateAsync(registry, MigrationCatalog.For([], []), snapshots, Guid.NewGuid(), prefix, NullLogger.Instance, default);
            return new DataPlane(health, snapshots, store, new DataPlaneApplier(store, registry));
        }

        public async ValueTask DisposeAsync()
        {
            await Store.DisposeAsync();
            await Snapshots.DisposeAsync();
            await _health.DisposeAsync();
        }
    }

    private async Task<JsonObject> CreateAsync(string entity, JsonObject body) =>
        await _writer.CreateAsync(_dao.Registry.Get(entity), body, lenient: false, default);

    private async Task<string> ServiceAsync(string name) =>
        (await CreateAsync("services", new JsonObject { ["name"] = name, ["url"] = $"http://{name}.test:8080/" }))["id"]!.GetValue<string>();

    private async Task<string> RouteAsync(string serviceId, string path) =>
        (await CreateAsync("routes", new JsonObject { ["paths"] = new JsonArray(path), ["service"] = new JsonObject { ["id"] = serviceId } }))["id"]!.GetValue<string>();

    private async Task<ConfigDelta> NextDeltaAsync()
    {
        await _feed.PollAsync(default);
        Assert.True(_output.Reader.TryRead(out var item), "the change gave no delta");
        return Assert.IsType<DeltaItem>(item).Delta;
    }

    private async Task ApplyAsync(ConfigDelta delta)
    {
        using var message = ClusterMessages.Decode(delta.Encoded, delta.Encoded.Length, long.MaxValue);
        await _plane.Applier.ApplyDeltaAsync(message.RootElement, default);
    }

    [Fact]
    public async Task The_hash_sums_the_md5_of_each_entity_as_the_exporter_writes_it()
    {
        var service = await ServiceAsync("hashed");
        await RouteAsync(service, "/hashed");
        await _feed.StartAsync(default);

        var document = await DeclarativeExporter.ExportAsync(_dao, default);
        UInt128 sum = 0;
        var count = 0;
        foreach (var (type, collection) in document.Where(p => p.Value is JsonArray))
        {
            foreach (var entity in collection!.AsArray())
            {
                var digest = System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(type + "\n" + entity!.ToJsonString()));
                sum += System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(digest);
                count++;
            }
        }
        Assert.Equal(2, count);
        Assert.Equal(sum.ToString("x32"), _feed.Hash);
        Assert.Equal(32, _feed.Hash.Length);
    }

    [Fact]
    public async Task A_whole_configuration_then_deltas_reach_the_served_snapshot_with_the_control_planes_hash()
    {
        var service = await ServiceAsync("first");
        var route = await RouteAsync(service, "/first");
        await _feed.StartAsync(default);
        _feed.Subscribe(ConfigHash.Empty, _output.Writer);
        Assert.True(_output.Reader.TryRead(out var item));
        var full = Assert.IsType<FullItem>(item);
        await _plane.Applier.ApplyFullAsync(full.Version, full.Hash, full.Entities.Select(e => (e.Type, e.Json)), default);
        Assert.Equal(_feed.Hash, _plane.Applier.Hash);
        Assert.Equal(_feed.Hash, _plane.Store.Hash);
        Assert.Equal(1, _plane.Snapshots.Current.Router.RouteCount);
        var afterFull = _feed.Hash;

        // A change of one route and a new one: one delta holding both, applied in place.
        await _writer.UpdateAsync(_dao.Registry.Get("routes"), new JsonObject { ["paths"] = new JsonArray("/first-moved") },
            (await _dao.GetAsync(_dao.Registry.Get("routes"), route, default))!, lenient: false, default);
        await RouteAsync(service, "/second");
        var delta = await NextDeltaAsync();
        Assert.Equal(afterFull, delta.BaseHash);
        Assert.Equal(2, delta.Changes.Count);
        Assert.All(delta.Changes, c => Assert.Equal("routes", c.Type));
        var version = _plane.Snapshots.Current.Version;
        await ApplyAsync(delta);
        Assert.Equal(_feed.Hash, _plane.Applier.Hash);
        Assert.Equal(_feed.Hash, _plane.Store.Hash);
        Assert.Equal(2, _plane.Snapshots.Current.Router.RouteCount);
        Assert.Equal(version + 1, _plane.Snapshots.Current.Version);
        var served = await _plane.Store.ExportAsync(default);
        Assert.Contains("/first-moved", served);
        Assert.Contains("/second", served);
        var afterDelta = _feed.Hash;

        // A cascade delete: the children's deletes come first, then the parent's.
        var upstream = (await CreateAsync("upstreams", new JsonObject { ["name"] = "pool" }))["id"]!.GetValue<string>();
        await CreateAsync("targets", new JsonObject { ["target"] = "10.0.0.1:80", ["upstream"] = new JsonObject { ["id"] = upstream } });
        await CreateAsync("targets", new JsonObject { ["target"] = "10.0.0.2:80", ["upstream"] = new JsonObject { ["id"] = upstream } });
        var pool = await NextDeltaAsync();
        Assert.Equal(["upstreams", "targets", "targets"], pool.Changes.Select(c => c.Type));
        await ApplyAsync(pool);
        Assert.Single(_plane.Snapshots.Current.Upstreams);
        var afterPool = _feed.Hash;
        await _writer.DeleteAsync(_dao.Registry.Get("upstreams"), upstream, default);
        var deletes = await NextDeltaAsync();
        Assert.Equal(["targets", "targets", "upstreams"], deletes.Changes.Select(c => c.Type));
        Assert.All(deletes.Changes, c => Assert.Equal(WireChange.Delete, c.Op));
        await ApplyAsync(deletes);
        Assert.Equal(_feed.Hash, _plane.Applier.Hash);
        Assert.Empty(_plane.Snapshots.Current.Upstreams);
        Assert.Equal(2, _plane.Snapshots.Current.Router.RouteCount);
        // The events its writes append have no reader on a data plane: none is left to pile up.
        await using (var connection = await _plane.Store.CurrentDatabase.OpenAsync())
        await using (var count = connection.CreateCommand())
        {
            count.CommandText = "SELECT count(*) FROM cluster_events";
            Assert.Equal(0L, Convert.ToInt64(await count.ExecuteScalarAsync()));
        }

        // A data plane that comes back from the state after the whole configuration is sent the two deltas it missed.
        var late = Channel.CreateUnbounded<FeedItem>();
        using (_feed.Subscribe(afterFull, late.Writer))
        {
            var missed = await ReadAllAsync(late);
            Assert.Equal([afterFull, afterDelta, afterPool], missed.Select(i => Assert.IsType<DeltaItem>(i).Delta.BaseHash));
        }
        // One from a configuration it never served gets the whole.
        var stranger = Channel.CreateUnbounded<FeedItem>();
        using (_feed.Subscribe("0123456789abcdef0123456789abcdef", stranger.Writer))
            Assert.IsType<FullItem>(Assert.Single(await ReadAllAsync(stranger)));
        // One up to date gets nothing.
        var current = Channel.CreateUnbounded<FeedItem>();
        using (_feed.Subscribe(_feed.Hash, current.Writer))
            Assert.Empty(await ReadAllAsync(current));
    }

    private static Task<List<FeedItem>> ReadAllAsync(Channel<FeedItem> channel)
    {
        var items = new List<FeedItem>();
        while (channel.Reader.TryRead(out var item))
            items.Add(item);
        return Task.FromResult(items);
    }

    [Fact]
    public async Task A_delta_onto_another_base_or_that_does_not_give_its_hash_changes_nothing()
    {
        var service = await ServiceAsync("kept");
        await RouteAsync(service, "/kept");
        await _feed.StartAsync(default);
        _feed.Subscribe(ConfigHash.Empty, _output.Writer);
        _output.Reader.TryRead(out var item);
        var full = (FullItem)item!;
        await _plane.Applier.ApplyFullAsync(full.Version, full.Hash, full.Entities.Select(e => (e.Type, e.Json)), default);
        await RouteAsync(service, "/new");
        var delta = await NextDeltaAsync();

        var wrongBase = new ConfigDelta(delta.Version, "0123456789abcdef0123456789abcdef", delta.Hash, delta.Changes);
        using (var message = ClusterMessages.Decode(wrongBase.Encoded, wrongBase.Encoded.Length, long.MaxValue))
            await Assert.ThrowsAsync<ConfigurationRefusedException>(() => _plane.Applier.ApplyDeltaAsync(message.RootElement, default));
        var wrongResult = new ConfigDelta(delta.Version, delta.BaseHash, "0123456789abcdef0123456789abcdef", delta.Changes);
        using (var message = ClusterMessages.Decode(wrongResult.Encoded, wrongResult.Encoded.Length, long.MaxValue))
        {
            var refused = await Assert.ThrowsAsync<ConfigurationRefusedException>(() => _plane.Applier.ApplyDeltaAsync(message.RootElement, default));
            Assert.Contains("0123456789abcdef0123456789abcdef", refused.Message);
        }
        Assert.Equal(full.Hash, _plane.Applier.Hash);
        Assert.Equal(1, _plane.Snapshots.Current.Router.RouteCount);

        await ApplyAsync(delta);
        Assert.Equal(2, _plane.Snapshots.Current.Router.RouteCount);
    }

    [Fact]
    public async Task A_one_route_change_costs_the_same_bytes_whatever_the_size_of_the_configuration()
    {
        var service = await ServiceAsync("big");
        await _feed.StartAsync(default);
        _feed.Subscribe(ConfigHash.Empty, _output.Writer);
        _output.Reader.TryRead(out _);
        await RouteAsync(service, "/small");
        var small = await NextDeltaAsync();

        await _dao.WriteTransactionAsync(async write =>
        {
            var routes = _dao.Registry.Get("routes");
            for (var i = 0; i < 1000; i++)
            {
                var entity = EntityWriter.Validate(routes, new JsonObject { ["paths"] = new JsonArray($"/bulk/{i}"), ["service"] = new JsonObject { ["id"] = service } },
                    WriteMode.Insert, null, lenient: false);
                await write.InsertAsync(routes, entity, default);
            }
            return true;
        }, default);
        var bulk = await NextDeltaAsync();
        Assert.Equal(1000, bulk.Changes.Count);
        await RouteAsync(service, "/large");
        var large = await NextDeltaAsync();

        Assert.Single(large.Changes);
        Assert.InRange(large.Encoded.Length, small.Encoded.Length - 64, small.Encoded.Length + 64);
        Assert.True(bulk.Encoded.Length > 20 * large.Encoded.Length, $"{bulk.Encoded.Length} bytes for 1000 routes, {large.Encoded.Length} for one");
        // A delta whose JSON is larger than cluster_max_payload is not sent (the whole goes in parts), and a
        // receiver refuses a frame that expands beyond twice the payload before expanding it all.
        Assert.True(large.FitsIn(64 * 1024));
        Assert.False(bulk.FitsIn(64 * 1024), $"{bulk.PlainLength} bytes of JSON");
        Assert.True(bulk.FitsIn(checked((int)bulk.PlainLength)));
        var bomb = Assert.Throws<InvalidDataException>(() => ClusterMessages.Decode(bulk.Encoded, bulk.Encoded.Length, 64 * 1024 * ClusterMessages.ExpansionLimit));
        Assert.Contains("expands beyond 131072 bytes", bomb.Message);
        ClusterMessages.Decode(bulk.Encoded, bulk.Encoded.Length, bulk.PlainLength).Dispose();
        // The whole configuration is cut into parts under cluster_max_payload.
        var parts = ClusterMessages.EncodeFull(_feed.Version, _feed.Hash, ((FullItem)FullOf()).Entities, 64 * 1024);
        Assert.True(parts.Count > 1);
        Assert.All(parts, p => Assert.True(p.Length <= 64 * 1024));
    }

    private FeedItem FullOf()
    {
        var channel = Channel.CreateUnbounded<FeedItem>();
        _feed.QueueFull(channel.Writer);
        channel.Reader.TryRead(out var item);
        return item!;
    }
}

public sealed class SqliteLinkInProcessTests() : LinkInProcessTests("sqlite");

public sealed class PostgresLinkInProcessTests() : LinkInProcessTests("postgres");
