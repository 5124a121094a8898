using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gantry.Declarative;
using Gantry.Entities.Schema;
using Gantry.Migrations;
using Gantry.Proxy;
using Gantry.Store;

namespace Gantry.DbLess;

/// <summary>What a load through <see cref="DbLessStore.ApplyAsync"/> ended with.</summary>
/// <param name="Entities">The entities now served, parents first (none are kept for a control plane's configuration); null when the document was refused.</param>
/// <param name="Errors">Every problem of a refused document, by entity (Kong's flattened errors).</param>
/// <param name="Problem">Why a document without entity errors was refused anyway (its import failed), or null.</param>
public sealed record DbLessLoad(IReadOnlyList<DeclaredEntity>? Entities, IReadOnlyList<DeclarativeError> Errors, string? Problem)
{
    public bool Applied => Entities is not null;
}

/// <summary>A configuration was posted while the previous one was still being applied.</summary>
public sealed class ConfigurationBusyException() : Exception("Currently loading previous configuration");

/// <summary>
/// The entities of a node without a database (database = off). They live in an SQLite database in
/// memory, created from the same core and plugin migrations as the embedded store, so the snapshot
/// builder and the Admin API's reads work on it unchanged. A new configuration is parsed and validated
/// (<see cref="DeclarativeLoader"/>), written into a NEW database (<see cref="DeclarativeImporter"/>),
/// compiled into its snapshot, and only then are the database and the snapshot swapped in: a request in
/// flight keeps the snapshot it started with, and a refused document changes nothing. The last accepted
/// document is kept in the prefix, so a node restarted without one serves it again.
/// </summary>
public sealed class DbLessStore : IAsyncDisposable
{
    /// <summary>The hash of a node that has no configuration yet, as Kong reports it.</summary>
    public const string EmptyHash = "00000000000000000000000000000000";

    /// <summary>The file in the prefix that holds the last accepted document, as it was given.</summary>
    public const string PersistedFileName = "dbless.yml";

    /// <summary>Entities from which a load collects its garbage as it goes (<see cref="CollectAfterLargeLoad"/>).</summary>
    private const int LargeLoad = 20_000;

    private readonly EntityRegistry _registry;
    private readonly SnapshotHolder _snapshots;
    private readonly Guid _nodeId;
    private readonly string _persistedPath;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _loading = new(1, 1);
    private readonly SqliteDatabase _template;
    private Served _current;

    /// <summary>
    /// A configuration being served, or just replaced. The store holds one reference to it and work that
    /// reads it over several connections (an export) holds another, so its database is disposed only
    /// once the last of them lets go.
    /// </summary>
    private sealed class Served(SqliteDatabase database, string hash, bool loaded)
    {
        private int _holders = 1;
        private string _hash = hash;

        public SqliteDatabase Database { get; } = database;

        /// <summary>Changes when a control plane's delta is written into this very database.</summary>
        public string Hash
        {
            get => Volatile.Read(ref _hash);
            set => Volatile.Write(ref _hash, value);
        }

        public bool Loaded { get; } = loaded;

        /// <summary>False once it has been released by everyone (its database is gone).</summary>
        public bool TryHold()
        {
            for (var holders = Volatile.Read(ref _holders); holders > 0; holders = Volatile.Read(ref _holders))
            {
                if (Interlocked.CompareExchange(ref _holders, holders + 1, holders) == holders)
                    return true;
            }
            return false;
        }

        public ValueTask ReleaseAsync() => Interlocked.Decrement(ref _holders) == 0 ? Database.DisposeAsync() : ValueTask.CompletedTask;
    }

    private DbLessStore(EntityRegistry registry, SnapshotHolder snapshots, Guid nodeId, string prefix, ILogger logger, SqliteDatabase template, SqliteDatabase empty)
    {
        _registry = registry;
        _snapshots = snapshots;
        _nodeId = nodeId;
        _persistedPath = Path.Combine(prefix, PersistedFileName);
        _logger = logger;
        _template = template;
        _current = new Served(empty, EmptyHash, false);
    }

    /// <summary>
    /// Bootstraps the schema once, in a template database that every configuration's database is copied
    /// from; the node serves an empty configuration until <see cref="ApplyAsync"/> accepts one.
    /// </summary>
    public static async Task<DbLessStore> CreateAsync(EntityRegistry registry, IReadOnlyList<Subsystem> subsystems, SnapshotHolder snapshots, Guid nodeId,
        string prefix, ILogger logger, CancellationToken cancellationToken)
    {
        var template = SqliteDatabase.CreateInMemory();
        try
        {
            await InMemorySchema.BootstrapAsync(template, subsystems, cancellationToken);
            return new DbLessStore(registry, snapshots, nodeId, prefix, logger, template, await template.CopyToMemoryAsync(cancellationToken));
        }
        catch
        {
            await template.DisposeAsync();
            throw;
        }
    }

    /// <summary>The database holding the configuration being served (for the Admin API's reads, through a <see cref="ServedDatabase"/>).</summary>
    public SqliteDatabase CurrentDatabase => Volatile.Read(ref _current).Database;

    /// <summary>The md5 of the document being served (as given), or <see cref="EmptyHash"/> before the first one.</summary>
    public string Hash => Volatile.Read(ref _current).Hash;

    /// <summary>True once a configuration has been accepted (at start or through /config).</summary>
    public bool Loaded => Volatile.Read(ref _current).Loaded;

    /// <summary>Where the last accepted document is kept.</summary>
    public string PersistedPath => _persistedPath;

    /// <summary>Kong's configuration hash: the md5 of the document's text, in lowercase hex.</summary>
    public static string HashOf(string text) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>
    /// Validates, imports and compiles <paramref name="text"/> off the request path, then serves it.
    /// Only one load runs at a time: another one meanwhile throws <see cref="ConfigurationBusyException"/>.
    /// </summary>
    public async Task<DbLessLoad> ApplyAsync(string text, CancellationToken cancellationToken)
    {
        if (!await _loading.WaitAsync(0, cancellationToken))
            throw new ConfigurationBusyException();
        try
        {
            return await LoadAsync(() => new DeclarativeLoader(_registry).Load(text), HashOf(text), token => PersistAsync(text, token), keepEntities: true, cancellationToken);
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>
    /// A whole configuration from a control plane, as a parsed document (taken apart while loading): loaded as
    /// a posted one is, but served under the control plane's <paramref name="hash"/> and kept by the link
    /// (<c>hybrid-config.json</c>) rather than in dbless.yml. Waits for a load in progress instead of refusing.
    /// The load it gives holds no entities: nobody answers with them, and letting each go once it is written
    /// keeps a large configuration's validated copy out of the memory its snapshot is built in.
    /// </summary>
    public async Task<DbLessLoad> ApplyDocumentAsync(JsonObject document, string hash, CancellationToken cancellationToken)
    {
        await _loading.WaitAsync(cancellationToken);
        try
        {
            return await LoadAsync(() => new DeclarativeLoader(_registry).Load(document), hash, null, keepEntities: false, cancellationToken);
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>
    /// A control plane's delta: <paramref name="write"/> writes the changes into the database being served,
    /// through the write path in one transaction, then only the parts of the snapshot that
    /// <paramref name="changedEntities"/> feed are rebuilt and swapped in, and the node serves under
    /// <paramref name="hash"/>. Copying the database and rebuilding everything, as a whole document does,
    /// would make a one-route change cost as much as the whole configuration. A write that fails rolls back
    /// and changes nothing; a build that fails after it leaves the database ahead of the snapshot, which the
    /// caller repairs with a whole configuration.
    /// </summary>
    public async Task ApplyChangesAsync(Func<EntityDao, CancellationToken, Task> write, IReadOnlySet<string> changedEntities, string hash, CancellationToken cancellationToken)
    {
        await _loading.WaitAsync(cancellationToken);
        try
        {
            var served = Volatile.Read(ref _current);
            var dao = new EntityDao(served.Database, _registry, _nodeId);
            await write(dao, cancellationToken);
            // Built before the events are deleted: they name the rows the build reads again.
            var snapshot = await _snapshots.BuildChangedFromAsync(dao, changedEntities, cancellationToken);
            await dao.Events.DeleteAllAsync(cancellationToken);
            _snapshots.Install(snapshot);
            served.Hash = hash;
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>
    /// Reads, writes into a new database, compiles and serves a document. With <paramref name="keepEntities"/>
    /// false each validated entity is let go as soon as it is written, and none is referenced while the
    /// snapshot is built: for 200,000 entities that copy was a few hundred megabytes at the peak of a data
    /// plane's sync (docs/hybrid.md, "Memory").
    /// </summary>
    private async Task<DbLessLoad> LoadAsync(Func<DeclarativeLoad> read, string hash, Func<CancellationToken, Task>? persist, bool keepEntities, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Node.MemoryTrace.Log(_logger, "declarative load start");
        var (entities, errors) = Take(read());
        if (entities is null)
            return new DbLessLoad(null, errors, errors.Count == 0 ? "the document holds no configuration" : null);
        var count = entities.Length;
        CollectAfterLargeLoad(count);
        Node.MemoryTrace.Log(_logger, "declarative load parsed and validated");
        var parsed = clock.ElapsedMilliseconds;
        SqliteDatabase? database = await _template.CopyToMemoryAsync(cancellationToken);
        try
        {
            try
            {
                // The database is new and the document was checked whole: the write path's bulk insert.
                await new EntityDao(database, _registry, _nodeId).WriteTransactionAsync(async write =>
                {
                    await write.InsertNewAsync(keepEntities ? entities.Select(e => (e.Schema, e.Entity)) : Draining(entities), cancellationToken);
                    return true;
                }, cancellationToken);
            }
            catch (EntityException e)
            {
                return new DbLessLoad(null, [], e.Message);
            }
            if (!keepEntities)
            {
                entities = [];
                CollectAfterLargeLoad(count);
            }
            var imported = clock.ElapsedMilliseconds;
            Node.MemoryTrace.Log(_logger, "declarative load imported");
            var snapshot = await _snapshots.BuildFromAsync(new EntityDao(database, _registry, _nodeId), cancellationToken);
            // Kept before it is served: a document that cannot be kept is refused rather than lost at the next restart.
            if (persist is not null)
                await persist(cancellationToken);
            var previous = Volatile.Read(ref _current);
            Volatile.Write(ref _current, new Served(database, hash, true));
            _snapshots.Install(snapshot);
            database = null;
            await previous.ReleaseAsync();
            Node.MemoryTrace.Log(_logger, "declarative load served");
            _logger.LogInformation("declarative configuration applied: {Entities} entities, {Routes} routes in {Total} ms (parse and validate {Parse} ms, import {Import} ms, compile {Compile} ms)",
                count, snapshot.Router.RouteCount, clock.ElapsedMilliseconds, parsed, imported - parsed, clock.ElapsedMilliseconds - imported);
            return new DbLessLoad(entities, [], null);
        }
        finally
        {
            if (database is not null)
                await database.DisposeAsync();
        }
    }

    /// <summary>
    /// A large document leaves its declared form (after validation) and its validated form (after the import)
    /// behind as garbage that has lived long enough to sit in the oldest generation, which the collector
    /// would reclaim only after the heap grew by as much again: the resident peak of a 200,000-entity sync
    /// counted it. Collected at once here, that space is reused by the import and the snapshot instead
    /// (measured: docs/hybrid.md, "Memory").
    /// </summary>
    internal static void CollectAfterLargeLoad(int entities)
    {
        if (entities >= LargeLoad)
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>The loaded entities as an array this load alone references (the load itself is dropped), or its errors.</summary>
    private static (DeclaredEntity[]? Entities, IReadOnlyList<DeclarativeError> Errors) Take(DeclarativeLoad load) =>
        load.Config is null || load.Errors.Count > 0 ? (null, load.Errors) : (load.Config.Entities.ToArray(), []);

    /// <summary>The entities in order, each slot cleared once given, so that an entity written is garbage.</summary>
    private static IEnumerable<(EntitySchema, JsonObject)> Draining(DeclaredEntity[] entities)
    {
        for (var i = 0; i < entities.Length; i++)
        {
            var entity = entities[i];
            entities[i] = null!;
            yield return (entity.Schema, entity.Entity);
        }
    }

    /// <summary>The configuration being served, as a 3.0 YAML document (<c>GET /config</c>).</summary>
    public async Task<string> ExportAsync(CancellationToken cancellationToken)
    {
        var served = Volatile.Read(ref _current);
        while (!served.TryHold())
            served = Volatile.Read(ref _current);
        try
        {
            var document = await DeclarativeExporter.ExportAsync(new EntityDao(served.Database, _registry, _nodeId), cancellationToken);
            return DeclarativeText.ToYaml(document);
        }
        finally
        {
            await served.ReleaseAsync();
        }
    }

    /// <summary>
    /// The document a starting node serves: declarative_config_string, else the declarative_config file,
    /// else the last one accepted before the restart (kept in the prefix), else none.
    /// </summary>
    public (string Text, string Source)? StartingDocument(string? inline, string? file)
    {
        if (inline is not null)
            return (inline, "declarative_config_string");
        if (file is not null)
        {
            try
            {
                return (File.ReadAllText(file), file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"cannot read declarative_config {file}: {e.Message}", e);
            }
        }
        return File.Exists(_persistedPath) ? (File.ReadAllText(_persistedPath), _persistedPath) : null;
    }

    /// <summary>Written beside, then renamed over the old one: a crash leaves the old document or the new one, never half of one.</summary>
    private async Task PersistAsync(string text, CancellationToken cancellationToken)
    {
        var temporary = _persistedPath + ".tmp";
        await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, _persistedPath, overwrite: true);
    }

    public async ValueTask DisposeAsync()
    {
        await _current.ReleaseAsync();
        await _template.DisposeAsync();
        _loading.Dispose();
    }
}
