using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Gantry.Clustering.Compatibility;
using Gantry.Declarative;
using Gantry.Entities.Schema;
using Gantry.Node;
using Gantry.Store;

namespace Gantry.Clustering;

/// <summary>What a data plane's link is given to send, in order.</summary>
public abstract record FeedItem;

/// <summary>A configuration item: what the configuration uses once the data plane has it, and what was stripped from it.</summary>
public abstract record ConfigItem : FeedItem
{
    /// <summary>The plugins the configuration uses once this item is applied (the link checks the data plane has them).</summary>
    public IReadOnlySet<string> Plugins { get; init; } = System.Collections.Frozen.FrozenSet<string>.Empty;

    /// <summary>The fields left out of this item for the data plane's older release (the link logs each once).</summary>
    public IReadOnlyList<FieldIntroduction> Stripped { get; init; } = [];
}

/// <summary>The whole configuration as it was when the item was queued (encoded into parts when sent).</summary>
public sealed record FullItem(long Version, string Hash, IReadOnlyList<WireEntity> Entities) : ConfigItem;

public sealed record DeltaItem(ConfigDelta Delta) : ConfigItem;

/// <summary>
/// The configuration a control plane node serves its data planes, kept in memory in wire form. It reads
/// every entity once, then follows cluster_events (every Admin API write, <c>config db_import</c> and
/// cascade delete appends one naming the entity) every db_update_frequency, and at once when this node's
/// own Admin API has committed a write. It re-reads the entities the events name, and when they differ
/// from what it holds, numbers the difference as the next version and hands it, as one delta, to every
/// connected data plane; an event naming no entity ('*') makes it re-read everything. The last deltas are
/// kept so that a data plane that reconnects shortly after catches up with them instead of the whole.
/// Data planes of a release older than a field the configuration has get it stripped, from one
/// <see cref="StrippedConfiguration"/> per such release that follows every change.
/// </summary>
public sealed class ConfigFeed : IAsyncDisposable
{
    /// <summary>Deltas kept for catching up: at most this many…</summary>
    public const int RecentDeltas = 256;

    /// <summary>…and at most this many bytes of them, as sent.</summary>
    public const long RecentBytes = 16 * 1024 * 1024;

    /// <summary>Past this many entities named by one batch of events, re-reading everything costs less than one by one.</summary>
    private const int MaxSingleReads = 500;

    private readonly EntityDao _dao;
    private readonly TimeSpan _frequency;
    private readonly ILogger _logger;
    private readonly WireConfiguration _config;
    private readonly ClusterEventCursor _cursor;
    private readonly FieldStripper _stripper;
    private readonly object _gate = new();
    private readonly PluginUsage _plugins = new();
    private readonly Dictionary<ReleaseVersion, StrippedConfiguration> _stripped = [];
    private readonly LinkedList<RecentDelta> _recent = new();
    private long _recentBytes;
    private readonly List<Subscriber> _subscribers = [];
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private long _version;

    /// <summary>A delta as kept for catching up, with the form each stripped release was sent (none for a release whose view came later).</summary>
    private sealed record RecentDelta(ConfigDelta Delta, IReadOnlySet<string> Plugins, Dictionary<ReleaseVersion, DeltaItem> Stripped);

    internal sealed record Subscriber(ChannelWriter<FeedItem> Output, StrippedConfiguration? View);

    /// <param name="stripper">The fields older data planes must not be sent (<see cref="Node.GantryNodeOptions.FieldStripper"/>).</param>
    public ConfigFeed(EntityDao dao, TimeSpan frequency, ILogger logger, FieldStripper? stripper = null)
    {
        _dao = dao;
        _stripper = stripper ?? FieldStripper.Default;
        _frequency = frequency;
        _logger = logger;
        _config = new WireConfiguration(dao.Registry);
        // As far back as the snapshot holder re-reads: longer than any write transaction stays open.
        _cursor = new ClusterEventCursor(dao, ClusterEvents.Invalidations, TimeSpan.FromSeconds(30));
    }

    public long Version => Interlocked.Read(ref _version);

    public string Hash
    {
        get
        {
            lock (_gate)
                return _config.Hash;
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
                return _config.Count;
        }
    }

    /// <summary>Data planes connected to this node now.</summary>
    public int Subscribers
    {
        get
        {
            lock (_gate)
                return _subscribers.Count;
        }
    }

    /// <summary>Reads everything, then follows the events in the background.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // The events up to now are covered by the read that follows: only later ones are followed.
        await _cursor.ReadAsync(cancellationToken);
        var all = await ReadAllAsync(cancellationToken);
        lock (_gate)
        {
            foreach (var entity in all)
            {
                _config.Put(entity);
                _plugins.Put(entity);
            }
            _version = 1;
        }
        _logger.LogInformation("control plane configuration read: {Count} entities, hash {Hash}", all.Count, Hash);
        _loop = InlineIo.RunOffSocketThreads(LoopAsync);
    }

    /// <summary>Makes the feed read the events now rather than at its next tick (after a write through this node's Admin API).</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken: one read covers every write committed before it.
        }
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(_frequency, _stop.Token);
                await PollAsync(_stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The events stay unacknowledged and are read again at the next tick.
                _logger.LogError("cannot read the configuration changes for the data planes ({Message}); retrying in {Frequency} s", e.Message, _frequency.TotalSeconds);
                try
                {
                    await Task.Delay(_frequency, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Reads the events not handled yet and sends what changed; visible for tests, which drive it directly.</summary>
    internal async Task PollAsync(CancellationToken cancellationToken)
    {
        var batch = await _cursor.PeekAsync(cancellationToken);
        if (batch.Events.Count == 0)
        {
            _cursor.Acknowledge(batch);
            return;
        }
        var named = new HashSet<(string Type, string Id)>();
        var everything = false;
        foreach (var row in batch.Events)
        {
            if (EntityOf(row.Data) is { } entity)
                named.Add(entity);
            else
                everything = true;
        }
        var found = everything || named.Count > MaxSingleReads
            ? await DiffEverythingAsync(cancellationToken)
            : await DiffNamedAsync(named, cancellationToken);
        if (found.Count > 0)
            Publish(found);
        _cursor.Acknowledge(batch);
    }

    private static (string Type, string Id)? EntityOf(string data)
    {
        try
        {
            var root = JsonDocument.Parse(data).RootElement;
            if (root.TryGetProperty("entity", out var entity) && entity.GetString() is { } type && type != "*"
                && root.TryGetProperty("id", out var id) && id.GetString() is { } text)
                return (type, text);
        }
        catch (JsonException)
        {
        }
        return null;
    }

    /// <summary>The named entities as stored now: upserts of those that differ from what is served, deletes of those gone.</summary>
    private async Task<List<WireChange>> DiffNamedAsync(IReadOnlyCollection<(string Type, string Id)> named, CancellationToken cancellationToken)
    {
        var changes = new Dictionary<(string, string), WireChange>();
        var pending = new Queue<(string Type, string Id)>(named);
        var read = new HashSet<(string, string)>();
        while (pending.TryDequeue(out var key))
        {
            if (!read.Add(key) || _dao.Registry.Find(key.Type) is not { } schema)
                continue;
            var stored = await _dao.GetAsync(schema, key.Id, cancellationToken);
            WireEntity? held;
            lock (_gate)
                held = _config.Find(key.Type, key.Id);
            if (stored is null)
            {
                if (held is not null)
                    changes[key] = new WireChange(WireChange.Delete, key.Type, key.Id, null);
                continue;
            }
            var wire = DeclarativeExporter.WireForm(schema, stored);
            var entity = WireEntity.Of(key.Type, key.Id, wire.ToJsonString());
            if (held?.Json != entity.Json)
                changes[key] = new WireChange(WireChange.Upsert, key.Type, key.Id, entity);
            // A parent written in a transaction whose event is not read yet would reach the data plane after
            // its child and fail the child's reference check there: it is read now, with the child.
            foreach (var field in schema.ForeignFields)
            {
                if (wire[field.Name] is JsonValue parent && parent.TryGetValue(out string? parentId) && !Holds(field.Reference!, parentId))
                    pending.Enqueue((field.Reference!, parentId));
            }
        }
        return [.. changes.Values];
    }

    private bool Holds(string type, string id)
    {
        lock (_gate)
            return _config.Contains(type, id);
    }

    /// <summary>Everything as stored now, compared with what is served.</summary>
    private async Task<List<WireChange>> DiffEverythingAsync(CancellationToken cancellationToken)
    {
        var all = await ReadAllAsync(cancellationToken);
        var changes = new List<WireChange>();
        lock (_gate)
        {
            var seen = new HashSet<(string, string)>();
            foreach (var entity in all)
            {
                seen.Add((entity.Type, entity.Id));
                if (_config.Find(entity.Type, entity.Id)?.Json != entity.Json)
                    changes.Add(new WireChange(WireChange.Upsert, entity.Type, entity.Id, entity));
            }
            foreach (var held in _config.All)
            {
                if (!seen.Contains((held.Type, held.Id)))
                    changes.Add(new WireChange(WireChange.Delete, held.Type, held.Id, null));
            }
        }
        return changes;
    }

    private async Task<List<WireEntity>> ReadAllAsync(CancellationToken cancellationToken)
    {
        var schemas = EntityOrder.Of(_dao.Registry);
        var tables = await _dao.ReadAllAsync(schemas, cancellationToken);
        var all = new List<WireEntity>();
        for (var i = 0; i < schemas.Count; i++)
        {
            foreach (var row in tables[i])
                all.Add(WireEntity.Of(schemas[i].Name, row["id"]!.GetValue<string>(), DeclarativeExporter.WireForm(schemas[i], row).ToJsonString()));
        }
        return all;
    }

    /// <summary>Applies the changes to what is served, as the next version, and queues the delta for every data plane.</summary>
    private void Publish(List<WireChange> found)
    {
        lock (_gate)
        {
            // Deletes first, children before parents; then upserts, parents before children.
            var ordered = found.Where(c => c.Op == WireChange.Delete).OrderByDescending(c => _config.OrderOf(c.Type)).ThenBy(c => c.Id, StringComparer.Ordinal)
                .Concat(found.Where(c => c.Op == WireChange.Upsert).OrderBy(c => _config.OrderOf(c.Type)).ThenBy(c => c.Id, StringComparer.Ordinal))
                .ToList();
            var baseHash = _config.Hash;
            var views = _stripped.Values.Select(v => (View: v, Base: v.HashOf(_config.Sum), Changes: new List<WireChange>(ordered.Count), Removed: new HashSet<FieldIntroduction>())).ToList();
            foreach (var change in ordered)
            {
                if (change.Entity is { } entity)
                {
                    _config.Put(entity);
                    _plugins.Put(entity);
                    foreach (var (view, _, changes, removed) in views)
                    {
                        var sent = view.Put(entity, removed);
                        changes.Add(ReferenceEquals(sent, entity) ? change : change with { Entity = sent });
                    }
                }
                else
                {
                    _config.Remove(change.Type, change.Id);
                    _plugins.Remove(change.Type, change.Id);
                    foreach (var (view, _, changes, _) in views)
                    {
                        view.Remove(change.Type, change.Id);
                        changes.Add(change);
                    }
                }
            }
            var delta = new ConfigDelta(Interlocked.Increment(ref _version), baseHash, _config.Hash, ordered);
            var plugins = _plugins.Current;
            var stripped = new Dictionary<ReleaseVersion, DeltaItem>();
            foreach (var (view, viewBase, changes, removed) in views)
            {
                var hash = view.HashOf(_config.Sum);
                // A release that loses nothing from this configuration is sent the very same frame.
                var sent = viewBase == baseHash && hash == delta.Hash && removed.Count == 0 ? delta : new ConfigDelta(delta.Version, viewBase, hash, changes);
                stripped[view.Release] = new DeltaItem(sent) { Plugins = plugins, Stripped = [.. removed] };
            }
            _recent.AddLast(new RecentDelta(delta, plugins, stripped));
            _recentBytes += delta.Encoded.Length;
            while (_recent.Count > RecentDeltas || (_recentBytes > RecentBytes && _recent.Count > 1))
            {
                _recentBytes -= _recent.First!.Value.Delta.Encoded.Length;
                _recent.RemoveFirst();
            }
            var item = new DeltaItem(delta) { Plugins = plugins };
            foreach (var subscriber in _subscribers)
                subscriber.Output.TryWrite(subscriber.View is { } view ? stripped[view.Release] : item);
            _logger.LogInformation("configuration version {Version} for the data planes: {Changes} changes ({Bytes} bytes), hash {Hash}, sent to {DataPlanes} data planes",
                delta.Version, ordered.Count, delta.Encoded.Length, delta.Hash, _subscribers.Count);
        }
    }

    /// <summary>
    /// Registers a data plane's output and queues what brings it from <paramref name="dataPlaneHash"/> to the
    /// current configuration: nothing when it has it, the deltas from there when they are still kept, else the
    /// whole. Every later delta follows them. A data plane of a <paramref name="release"/> older than a field of
    /// the table is sent every entity without the fields its release does not know, under the hash of what it
    /// gets. Dispose the result when the data plane leaves.
    /// </summary>
    public FeedSubscription Subscribe(string dataPlaneHash, ChannelWriter<FeedItem> output, ReleaseVersion? release = null)
    {
        lock (_gate)
        {
            var view = release is { } r && _stripper.Strips(r) ? StrippedFor(r) : null;
            foreach (var item in CatchUp(dataPlaneHash, view))
                output.TryWrite(item);
            var subscriber = new Subscriber(output, view);
            _subscribers.Add(subscriber);
            return new FeedSubscription(this, subscriber, _plugins.Current);
        }
    }

    /// <summary>Queues the whole configuration (as served, unstripped) for a data plane that asked for it.</summary>
    public void QueueFull(ChannelWriter<FeedItem> output)
    {
        lock (_gate)
            output.TryWrite(FullFor(null));
    }

    private StrippedConfiguration StrippedFor(ReleaseVersion release)
    {
        if (_stripped.TryGetValue(release, out var view))
            return view;
        // Once per release for the life of this node: every later change is followed one entity at a time.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        view = new StrippedConfiguration(release, _stripper);
        foreach (var entity in _config.All)
            view.Put(entity);
        _stripped[release] = view;
        _logger.LogInformation("data planes of release {Release} are sent the configuration without the fields their release does not know: {Count} entities stripped ({Milliseconds} ms)",
            release, view.Count, clock.ElapsedMilliseconds);
        return view;
    }

    private FullItem FullFor(StrippedConfiguration? view)
    {
        var entities = _config.Ordered();
        if (view is null)
            return new FullItem(_version, _config.Hash, entities) { Plugins = _plugins.Current };
        for (var i = 0; i < entities.Count; i++)
            entities[i] = view.SentForm(entities[i]);
        return new FullItem(_version, view.HashOf(_config.Sum), entities) { Plugins = _plugins.Current, Stripped = view.Fields };
    }

    private IEnumerable<FeedItem> CatchUp(string dataPlaneHash, StrippedConfiguration? view)
    {
        var current = view?.HashOf(_config.Sum) ?? _config.Hash;
        // A data plane with nothing is sent the whole even when that is empty too: it is then loaded and ready.
        if (dataPlaneHash == current && dataPlaneHash != ConfigHash.Empty)
            return [];
        // The latest delta from its hash: the same hash is the same configuration, however it was reached.
        for (var node = _recent.Last; node is not null; node = node.Previous)
        {
            var item = ItemOf(node.Value, view);
            // Deltas older than the release's view were never stripped for it: only the whole can bring it up to date.
            if (item is null)
                break;
            if (item.Delta.BaseHash != dataPlaneHash)
                continue;
            var deltas = new List<FeedItem>();
            for (var next = node; next is not null; next = next.Next)
                deltas.Add(ItemOf(next.Value, view)!);
            return deltas;
        }
        return [FullFor(view)];
    }

    private static DeltaItem? ItemOf(RecentDelta recent, StrippedConfiguration? view) =>
        view is null ? new DeltaItem(recent.Delta) { Plugins = recent.Plugins } : recent.Stripped.GetValueOrDefault(view.Release);

    /// <summary>A data plane's place among the feed's subscribers.</summary>
    public sealed class FeedSubscription : IDisposable
    {
        private readonly ConfigFeed _feed;
        private readonly Subscriber _subscriber;

        internal FeedSubscription(ConfigFeed feed, Subscriber subscriber, IReadOnlySet<string> plugins)
        {
            _feed = feed;
            _subscriber = subscriber;
            Plugins = plugins;
        }

        /// <summary>The plugins the configuration used when the data plane subscribed.</summary>
        public IReadOnlySet<string> Plugins { get; }

        /// <summary>The plugins the configuration uses now (cheap: the same set object until a name comes or goes).</summary>
        public IReadOnlySet<string> CurrentPlugins
        {
            get
            {
                lock (_feed._gate)
                    return _feed._plugins.Current;
            }
        }

        /// <summary>The whole configuration now, in the form this data plane is sent; the deltas queued so far are older.</summary>
        public FullItem Full()
        {
            lock (_feed._gate)
                return _feed.FullFor(_subscriber.View);
        }

        /// <summary>Queues the whole configuration, in the form this data plane is sent, after what is queued (a resync).</summary>
        public void QueueFull()
        {
            lock (_feed._gate)
                _subscriber.Output.TryWrite(_feed.FullFor(_subscriber.View));
        }

        public void Dispose()
        {
            lock (_feed._gate)
                _feed._subscribers.Remove(_subscriber);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
