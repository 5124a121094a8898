using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Gantry.Entities.Schema;

namespace Gantry.Store;

/// <summary>
/// The cluster_events table: every write appends an event in its own transaction, and every node
/// sharing the database polls it. Events are stamped by the database's clock, since no node's own
/// clock orders them across nodes.
/// </summary>
public sealed class ClusterEvents(TransactionRunner runner, Guid nodeId)
{
    /// <summary>The channel of entity changes, which configuration rebuilds follow.</summary>
    public const string Invalidations = "invalidations";

    private static readonly TimeSpan EventLifetime = TimeSpan.FromDays(1);

    private ISqlDialect Dialect => runner.Dialect;

    /// <summary>Records that an entity was created, updated or deleted, in the write's transaction.</summary>
    public Task AppendAsync(DbConnection connection, DbTransaction transaction, EntitySchema schema, string id, string operation, CancellationToken cancellationToken) =>
        AppendAsync(connection, transaction, Invalidations, JsonSerializer.Serialize(new { entity = schema.Name, id, operation }), cancellationToken);

    public Task AppendAsync(DbConnection connection, DbTransaction transaction, string channel, string data, CancellationToken cancellationToken)
    {
        var now = Dialect.NowEpochSeconds;
        var uuid = Dialect.Parameter("id", ColumnStorage.Uuid);
        var node = Dialect.Parameter("node", ColumnStorage.Uuid);
        return connection.ExecuteAsync(transaction,
            $"INSERT INTO cluster_events (id, node_id, at, nbf, expire_at, channel, data) VALUES ({uuid}, {node}, {now}, NULL, {now} + {EventLifetime.TotalSeconds.ToString(CultureInfo.InvariantCulture)}, @channel, @data)",
            cancellationToken, ("id", Dialect.Uuid(Guid.NewGuid().ToString())), ("node", Dialect.Uuid(nodeId.ToString())), ("channel", channel), ("data", data));
    }

    /// <summary>
    /// Broadcasts a message that changes no entity (a manual health change) to every node sharing the
    /// database, on its own channel so that configuration rebuilds ignore it.
    /// </summary>
    public Task PublishAsync(string channel, string data, CancellationToken cancellationToken) =>
        runner.WriteAsync(async (connection, transaction) =>
        {
            await AppendAsync(connection, transaction, channel, data, cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>The database's clock in epoch seconds: the clock events are stamped with.</summary>
    public Task<double> DatabaseNowAsync(CancellationToken cancellationToken) =>
        runner.ReadAsync(async connection =>
            Convert.ToDouble(await connection.ScalarAsync(null, "SELECT " + Dialect.NowEpochSeconds, cancellationToken), CultureInfo.InvariantCulture),
            cancellationToken);

    /// <summary>Events of a channel written after <paramref name="since"/> (the database's epoch seconds), oldest first.</summary>
    public async Task<IReadOnlyList<(Guid Id, Guid NodeId, double At, string Data)>> SinceAsync(string channel, double since, CancellationToken cancellationToken) =>
        await runner.ReadAsync(connection => connection.ListAsync(null,
            "SELECT id, node_id, at, data FROM cluster_events WHERE channel = @channel AND at > @since ORDER BY at",
            reader => (Guid.Parse(reader.GetValue(0).ToString()!), Guid.Parse(reader.GetValue(1).ToString()!),
                Convert.ToDouble(reader.GetValue(2), CultureInfo.InvariantCulture), reader.GetString(3)),
            cancellationToken, ("channel", channel), ("since", since)), cancellationToken);

    /// <summary>
    /// Deletes every event. For the in-memory database of a node without one (a data plane): its writes append
    /// events like any other, but nothing there follows them, and they would pile up with every change applied.
    /// </summary>
    public Task<int> DeleteAllAsync(CancellationToken cancellationToken) =>
        runner.WriteAsync((connection, transaction) => connection.ExecuteAsync(transaction, "DELETE FROM cluster_events", cancellationToken), cancellationToken);

    /// <summary>Deletes the events whose lifetime is over, by the clock that stamped them.</summary>
    public Task<int> DeleteExpiredAsync(CancellationToken cancellationToken) =>
        runner.WriteAsync((connection, transaction) =>
            connection.ExecuteAsync(transaction, $"DELETE FROM cluster_events WHERE expire_at < {Dialect.NowEpochSeconds}", cancellationToken), cancellationToken);
}
