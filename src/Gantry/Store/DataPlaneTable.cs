using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Gantry.Clustering.Compatibility;
using Gantry.Clustering.Registry;

namespace Gantry.Store;

/// <summary>
/// The SQL of <c>clustering_data_planes</c>, one statement for both databases. Every time in it is the
/// database's clock, whole Unix seconds, since several control plane nodes write the same rows and
/// their own clocks need not agree. A row whose last_seen is older than the purge delay counts as gone
/// for every read at once, whether or not a purge has deleted it yet.
/// </summary>
public sealed class DataPlaneTable(TransactionRunner runner)
{
    private const string Columns = "id, hostname, ip, version, sync_status, config_hash, last_seen, labels, cert_details, updated_at";

    private ISqlDialect Dialect => runner.Dialect;

    private string Now => $"CAST({Dialect.NowEpochSeconds} AS BIGINT)";

    /// <summary>Inserts the data plane's row or replaces every field of it, stamping last_seen and updated_at.</summary>
    public Task UpsertAsync(DataPlaneReport report, CancellationToken cancellationToken) =>
        runner.WriteAsync((connection, transaction) => connection.ExecuteAsync(transaction,
            $"INSERT INTO clustering_data_planes ({Columns}) VALUES ({Dialect.Parameter("id", ColumnStorage.Uuid)}, @hostname, @ip, @version, @sync_status, "
            + $"@config_hash, {Now}, {Dialect.Parameter("labels", ColumnStorage.Json)}, {Dialect.Parameter("cert_details", ColumnStorage.Json)}, {Now}) "
            + "ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, ip = excluded.ip, version = excluded.version, "
            + "sync_status = excluded.sync_status, config_hash = excluded.config_hash, last_seen = excluded.last_seen, labels = excluded.labels, "
            + "cert_details = excluded.cert_details, updated_at = excluded.updated_at",
            cancellationToken,
            ("id", Dialect.Uuid(report.Id.ToString())), ("hostname", report.Hostname), ("ip", report.Ip), ("version", report.Version),
            ("sync_status", report.SyncStatus.Wire()), ("config_hash", report.ConfigHash),
            ("labels", report.Labels is null ? null : JsonSerializer.Serialize(new SortedDictionary<string, string>(report.Labels.ToDictionary(), StringComparer.Ordinal))),
            ("cert_details", report.CertificateExpiry is { } expiry ? JsonSerializer.Serialize(new { expiry_timestamp = expiry }) : null)),
            cancellationToken);

    /// <summary>Up to <paramref name="limit"/> rows seen within <paramref name="purgeDelay"/>, by id, after the id <paramref name="afterId"/>.</summary>
    public Task<List<DataPlaneEntry>> ListAsync(TimeSpan purgeDelay, string? afterId, int limit, CancellationToken cancellationToken) =>
        runner.ReadAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            var delay = (long)purgeDelay.TotalSeconds;
            var sql = $"SELECT id, hostname, ip, version, sync_status, config_hash, last_seen, {Dialect.SelectColumn("labels", ColumnStorage.Json)}, "
                + $"{Dialect.SelectColumn("cert_details", ColumnStorage.Json)}, updated_at, {Now} FROM clustering_data_planes WHERE last_seen >= {Now} - @delay";
            command.With("delay", delay);
            if (afterId is not null)
            {
                sql += $" AND id > {Dialect.Parameter("after", ColumnStorage.Uuid)}";
                command.With("after", Dialect.Uuid(afterId));
            }
            command.CommandText = sql + $" ORDER BY id LIMIT {limit.ToString(CultureInfo.InvariantCulture)}";
            return await command.ListAsync(reader => Read(reader, delay), cancellationToken);
        }, cancellationToken);

    /// <summary>Deletes the rows unseen for longer than <paramref name="purgeDelay"/>; returns how many.</summary>
    public Task<int> PurgeAsync(TimeSpan purgeDelay, CancellationToken cancellationToken) =>
        runner.WriteAsync((connection, transaction) => connection.ExecuteAsync(transaction,
            $"DELETE FROM clustering_data_planes WHERE last_seen < {Now} - @delay", cancellationToken, ("delay", (long)purgeDelay.TotalSeconds)),
            cancellationToken);

    private static DataPlaneEntry Read(DbDataReader reader, long delay)
    {
        var lastSeen = Convert.ToInt64(reader.GetValue(6), CultureInfo.InvariantCulture);
        var now = Convert.ToInt64(reader.GetValue(10), CultureInfo.InvariantCulture);
        return new DataPlaneEntry(
            Guid.Parse(reader.GetValue(0).ToString()!),
            reader.GetString(1),
            reader.GetString(2),
            reader.GetString(3),
            reader.GetString(4),
            reader.GetString(5),
            reader.IsDBNull(7) ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(7)),
            reader.IsDBNull(8) ? null : ReadExpiry(reader.GetString(8)),
            lastSeen,
            Convert.ToInt64(reader.GetValue(9), CultureInfo.InvariantCulture),
            Math.Max(0, lastSeen + delay - now));
    }

    private static long? ReadExpiry(string certDetails)
    {
        using var document = JsonDocument.Parse(certDetails);
        return document.RootElement.TryGetProperty("expiry_timestamp", out var expiry) && expiry.ValueKind == JsonValueKind.Number ? expiry.GetInt64() : null;
    }
}
