using System.Text.Json.Nodes;
using Gantry.Entities.Schema;

namespace Gantry.Store;

/// <summary>A page of entities and the opaque offset of the next one (null on the last page).</summary>
public sealed record EntityPage(IReadOnlyList<JsonObject> Data, string? Offset);

/// <summary>What a list request filters on.</summary>
public sealed record PageRequest(int Size, string? Offset, IReadOnlyList<string> Tags, bool TagsAny, (string Column, string Id)? Parent, bool Descending);

/// <summary>
/// Reads and writes entities of any schema, with the same behaviour on PostgreSQL and SQLite. Reads open
/// a connection each; writes run in a <see cref="WriteTransaction"/>, which the single-entity methods
/// open for one write and <see cref="WriteTransactionAsync{T}"/> opens for several that commit together.
/// A write that conflicts with a concurrent one is run again (see <see cref="TransactionRunner"/>).
/// </summary>
public sealed class EntityDao
{
    private readonly TransactionRunner _runner;
    private readonly EntityRowMapper _mapper;
    private readonly EntityReader _reader;

    public EntityDao(IDatabase database, EntityRegistry registry, Guid nodeId)
    {
        Database = database;
        Registry = registry;
        _runner = new TransactionRunner(database);
        _mapper = new EntityRowMapper(database.Dialect);
        _reader = new EntityReader(registry, _mapper);
        Tags = new TagIndex(_runner);
        Events = new ClusterEvents(_runner, nodeId);
    }

    public IDatabase Database { get; }

    public EntityRegistry Registry { get; }

    /// <summary>The tags index, for <c>/tags</c>.</summary>
    public TagIndex Tags { get; }

    /// <summary>The cluster_events table.</summary>
    public ClusterEvents Events { get; }

    /// <summary>
    /// By id, or by endpoint key (a service's name) when the value is not a UUID. With a parent, only an
    /// entity of that parent is found: a target's address is unique within its upstream only.
    /// </summary>
    public Task<JsonObject?> GetAsync(EntitySchema schema, string idOrKey, CancellationToken cancellationToken, (string Column, string Id)? parent = null) =>
        _runner.ReadAsync(async connection =>
        {
            var found = await _reader.GetAsync(connection, null, schema, idOrKey, parent, cancellationToken);
            if (found is not null)
                await _reader.AttachOwnedNamesAsync(connection, null, schema, [found], cancellationToken);
            return found;
        }, cancellationToken);

    /// <summary>By a field's value (a list filter such as <c>?custom_id=</c>), ignoring case where the field does.</summary>
    public Task<JsonObject?> FindByFieldAsync(EntitySchema schema, Field field, string value, CancellationToken cancellationToken) =>
        _runner.ReadAsync(async connection =>
        {
            var found = await _reader.FindByFieldAsync(connection, null, schema, field, value, cancellationToken);
            if (found is not null)
                await _reader.AttachOwnedNamesAsync(connection, null, schema, [found], cancellationToken);
            return found;
        }, cancellationToken);

    public Task<JsonObject?> FindAsync(EntitySchema schema, string column, object value, CancellationToken cancellationToken) =>
        _runner.ReadAsync(async connection =>
        {
            var found = await _reader.FindAsync(connection, null, schema, column, value, cancellationToken);
            if (found is not null)
                await _reader.AttachOwnedNamesAsync(connection, null, schema, [found], cancellationToken);
            return found;
        }, cancellationToken);

    public Task<EntityPage> PageAsync(EntitySchema schema, PageRequest request, CancellationToken cancellationToken) =>
        _runner.ReadAsync(connection => _reader.PageAsync(connection, schema, request, cancellationToken), cancellationToken);

    /// <summary>
    /// Every entity of each schema, all read in one snapshot of the database (<see cref="ISqlDialect.BeginSnapshot"/>),
    /// so that a reference always finds its parent even while others write; for exports.
    /// </summary>
    public Task<IReadOnlyList<List<JsonObject>>> ReadAllAsync(IReadOnlyList<EntitySchema> schemas, CancellationToken cancellationToken) =>
        _runner.ReadAsync<IReadOnlyList<List<JsonObject>>>(async connection =>
        {
            await connection.ExecuteAsync(null, Database.Dialect.BeginSnapshot, cancellationToken);
            var tables = new List<List<JsonObject>>();
            foreach (var schema in schemas)
                tables.Add(await _reader.AllAsync(connection, schema, cancellationToken));
            await connection.ExecuteAsync(null, "ROLLBACK", cancellationToken);
            return tables;
        }, cancellationToken);

    /// <summary>The distinct values of a column of the schema's table, sorted (the plugin names in use).</summary>
    public async Task<IReadOnlyList<string>> DistinctAsync(EntitySchema schema, string column, CancellationToken cancellationToken) =>
        await _runner.ReadAsync(connection => _reader.DistinctAsync(connection, schema, column, cancellationToken), cancellationToken);

    /// <summary>
    /// Runs several writes in one transaction: all of them commit, or none (the first refusal is thrown).
    /// After a deadlock or a similar conflict with a concurrent transaction <paramref name="writes"/> runs
    /// again from the start, so it must do nothing outside the transaction until it returns.
    /// </summary>
    public async Task<T> WriteTransactionAsync<T>(Func<WriteTransaction, Task<T>> writes, CancellationToken cancellationToken)
    {
        var result = await _runner.WriteAsync((connection, transaction) => writes(new WriteTransaction(connection, transaction, Registry, _mapper, _reader, Tags, Events)), cancellationToken);
        Committed?.Invoke();
        return result;
    }

    /// <summary>
    /// Raised after a write transaction through this DAO committed: a control plane sends its data planes the
    /// change at once instead of at its next read of cluster_events. Handlers must be quick and must not throw.
    /// </summary>
    public event Action? Committed;

    /// <summary>Inserts a validated entity; a clash on id is a primary key violation.</summary>
    public Task<JsonObject> InsertAsync(EntitySchema schema, JsonObject entity, CancellationToken cancellationToken) =>
        WriteTransactionAsync(write => write.InsertAsync(schema, entity, cancellationToken), cancellationToken);

    /// <summary>Creates or replaces the entity with this id (PUT).</summary>
    public Task<JsonObject> UpsertAsync(EntitySchema schema, JsonObject entity, CancellationToken cancellationToken) =>
        WriteTransactionAsync(write => write.UpsertAsync(schema, entity, cancellationToken), cancellationToken);

    /// <summary>Writes an updated entity (PATCH), already merged and validated.</summary>
    public Task<JsonObject> UpdateAsync(EntitySchema schema, JsonObject entity, CancellationToken cancellationToken) =>
        WriteTransactionAsync(write => write.UpdateAsync(schema, entity, cancellationToken), cancellationToken);

    /// <summary>Deletes an entity and, by the schemas' rules, its children; false when it did not exist.</summary>
    public Task<bool> DeleteAsync(EntitySchema schema, string id, CancellationToken cancellationToken) =>
        WriteTransactionAsync(write => write.DeleteAsync(schema, id, cancellationToken), cancellationToken);

    /// <summary>
    /// Broadcasts a message that changes no entity (a manual health change) to every node sharing the
    /// database, on its own channel so that configuration rebuilds ignore it.
    /// </summary>
    public Task PublishEventAsync(string channel, string data, CancellationToken cancellationToken) => Events.PublishAsync(channel, data, cancellationToken);

    /// <summary>The database's clock in epoch seconds: the clock cluster events are stamped with.</summary>
    public Task<double> DatabaseNowAsync(CancellationToken cancellationToken) => Events.DatabaseNowAsync(cancellationToken);

    /// <summary>Events of a channel written after <paramref name="since"/> (the database's epoch seconds), oldest first.</summary>
    public Task<IReadOnlyList<(Guid Id, Guid NodeId, double At, string Data)>> EventsSinceAsync(string channel, double since, CancellationToken cancellationToken) =>
        Events.SinceAsync(channel, since, cancellationToken);
}
