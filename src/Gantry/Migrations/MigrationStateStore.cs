using System.Data.Common;
using Gantry.Configuration;
using Gantry.Store;

namespace Gantry.Migrations;

/// <summary>What the database has recorded: which migrations ran, and whether bootstrap completed.</summary>
public sealed record StoredState(bool HasStateTables, bool BootstrapComplete, IReadOnlyList<MigrationRecord> Records)
{
    public static StoredState Empty { get; } = new(false, false, []);
}

/// <summary>
/// Reads and writes Gantry's migration state: one row per migration in <c>gantry_migrations</c>, and
/// facts about the database as a whole in <c>gantry_meta</c>. Rows are written in the transaction of
/// the step they describe, so a step can never be applied without being recorded.
/// </summary>
public sealed class MigrationStateStore(IDatabase database)
{
    public const string MigrationsTable = "gantry_migrations";
    public const string MetaTable = "gantry_meta";
    public const string BootstrapKey = "bootstrap";

    public async Task<StoredState> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (!await database.ExistsAsync(cancellationToken))
            return StoredState.Empty;
        var tables = await database.ListTablesAsync(cancellationToken);
        if (!tables.Contains(MigrationsTable) || !tables.Contains(MetaTable))
            return StoredState.Empty;

        await using var connection = await database.OpenAsync(cancellationToken);
        var records = new List<MigrationRecord>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT subsystem, name, state, checksum, gantry_version, up_at, finished_at, upgrade_id FROM {MigrationsTable} ORDER BY subsystem, name";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                records.Add(new MigrationRecord(
                    reader.GetString(0),
                    reader.GetString(1),
                    reader.GetString(2) == "executed" ? MigrationRecordState.Executed : MigrationRecordState.Pending,
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    ReadTime(reader, 5),
                    ReadTime(reader, 6),
                    reader.IsDBNull(7) ? null : reader.GetString(7)));
            }
        }
        var bootstrap = await ReadMetaAsync(connection, null, BootstrapKey, cancellationToken);
        return new StoredState(true, bootstrap == "complete", records);
    }

    public async Task EnsureTablesAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var time = database.Kind == DatabaseKind.Postgres ? "timestamp with time zone" : "TEXT";
        await ExecuteAsync(connection, transaction, $"""
            CREATE TABLE IF NOT EXISTS {MigrationsTable} (
              subsystem text NOT NULL,
              name text NOT NULL,
              state text NOT NULL CHECK (state IN ('pending', 'executed')),
              checksum text,
              gantry_version text,
              up_at {time},
              finished_at {time},
              upgrade_id text,
              PRIMARY KEY (subsystem, name))
            """, cancellationToken);
        await ExecuteAsync(connection, transaction, MigrationJournal.CreateTableSql(database.Kind), cancellationToken);
        await ExecuteAsync(connection, transaction, Backfill.BackfillCheckpoints.CreateTableSql(database.Kind), cancellationToken);
        await ExecuteAsync(connection, transaction, $"""
            CREATE TABLE IF NOT EXISTS {MetaTable} (
              key text PRIMARY KEY,
              value text NOT NULL,
              updated_at {time})
            """, cancellationToken);
    }

    /// <summary>Records that a migration's Up ran (pending when it has a Finish still to run) or that it fully ran.</summary>
    /// <param name="upgradeId">The 'up' run that applied it, so that rollback can undo that run as a whole.</param>
    public async Task RecordAsync(DbConnection connection, DbTransaction transaction, string subsystem, Migration migration,
        MigrationRecordState state, string? upgradeId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        // up_at keeps the time Up first ran; finished_at is set when the migration becomes executed.
        command.CommandText = $"""
            INSERT INTO {MigrationsTable} (subsystem, name, state, checksum, gantry_version, up_at, finished_at, upgrade_id)
            VALUES (@subsystem, @name, @state, @checksum, @version, @now, @finished, @upgrade)
            ON CONFLICT (subsystem, name) DO UPDATE SET
              state = excluded.state, checksum = excluded.checksum, gantry_version = excluded.gantry_version,
              finished_at = excluded.finished_at, upgrade_id = coalesce({MigrationsTable}.upgrade_id, excluded.upgrade_id)
            """;
        var now = DateTime.UtcNow;
        command.With("subsystem", subsystem);
        command.With("name", migration.Name);
        command.With("state", state == MigrationRecordState.Executed ? "executed" : "pending");
        command.With("checksum", MigrationChecksum.Compute(migration, database.Kind));
        command.With("version", GantryInfo.Version);
        command.With("now", now);
        command.With("finished", state == MigrationRecordState.Executed ? now : null);
        command.With("upgrade", upgradeId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Forgets a migration that a rollback undid.</summary>
    public async Task DeleteAsync(DbConnection connection, DbTransaction transaction, string subsystem, string name, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"DELETE FROM {MigrationsTable} WHERE subsystem = @subsystem AND name = @name";
        command.With("subsystem", subsystem);
        command.With("name", name);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<string?> ReadMetaAsync(string key, CancellationToken cancellationToken)
    {
        if (!(await database.ListTablesAsync(cancellationToken)).Contains(MetaTable))
            return null;
        await using var connection = await database.OpenAsync(cancellationToken);
        return await ReadMetaAsync(connection, null, key, cancellationToken);
    }

    public async Task SetMetaAsync(DbConnection connection, DbTransaction transaction, string key, string value, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            INSERT INTO {MetaTable} (key, value, updated_at) VALUES (@key, @value, @now)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """;
        command.With("key", key);
        command.With("value", value);
        command.With("now", DateTime.UtcNow);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<string?> ReadMetaAsync(DbConnection connection, DbTransaction? transaction, string key, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT value FROM {MetaTable} WHERE key = @key";
        command.With("key", key);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }


    private static DateTimeOffset? ReadTime(DbDataReader reader, int ordinal)
    {
        if (reader.IsDBNull(ordinal))
            return null;
        var value = reader.GetValue(ordinal);
        return value switch
        {
            DateTime dt => new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)),
            DateTimeOffset dto => dto,
            string s => DateTimeOffset.Parse(s, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal),
            _ => null,
        };
    }
}
