using System.Data.Common;
using Gantry.Configuration;

namespace Gantry.Migrations.Backfill;

/// <summary>Where a backfill stands: the key bound it captured at its first run, and how far it got.</summary>
/// <param name="KeyType">The key column's type (PostgreSQL's name for it, or SQLite's storage class), to bind keys back.</param>
/// <param name="LastKey">The last key of the last committed batch; null before the first batch.</param>
/// <param name="UpperBound">The largest key when the backfill started; null when the table was empty.</param>
public sealed record BackfillCheckpoint(
    string KeyType,
    string? LastKey,
    string? UpperBound,
    long RowsDone,
    long RowsUpdated,
    long RowsTotal,
    DateTimeOffset StartedAt,
    bool Completed);

/// <summary>
/// The table <c>gantry_backfill_checkpoints</c>: one row per backfill, keyed by subsystem, migration and
/// step (the backfill's own description, which is unique within a migration). Each batch updates its row
/// in the batch's own transaction, so a crash leaves the checkpoint exactly at the last committed batch.
/// A completed backfill keeps its row, marked completed: a crash between its last batch and the journal's
/// "step completed" row must not start it over; a rollback forgets the row.
/// </summary>
public static class BackfillCheckpoints
{
    public const string Table = "gantry_backfill_checkpoints";

    public static string CreateTableSql(DatabaseKind kind)
    {
        var time = kind == DatabaseKind.Postgres ? "timestamp with time zone" : "TEXT";
        var count = kind == DatabaseKind.Postgres ? "bigint" : "INTEGER";
        return $"""
            CREATE TABLE IF NOT EXISTS {Table} (
              subsystem text NOT NULL,
              migration text NOT NULL,
              step text NOT NULL,
              key_type text NOT NULL,
              last_key text,
              upper_bound text,
              rows_done {count} NOT NULL,
              rows_updated {count} NOT NULL,
              rows_total {count} NOT NULL,
              started_at {time} NOT NULL,
              updated_at {time} NOT NULL,
              completed_at {time},
              PRIMARY KEY (subsystem, migration, step))
            """;
    }

    public static async Task<BackfillCheckpoint?> ReadAsync(DbConnection connection, DbTransaction? transaction, string subsystem, string migration,
        string step, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, $"""
            SELECT key_type, last_key, upper_bound, rows_done, rows_updated, rows_total, started_at, completed_at
              FROM {Table} WHERE subsystem = @subsystem AND migration = @migration AND step = @step
            """, ("subsystem", subsystem), ("migration", migration), ("step", step));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        return new BackfillCheckpoint(
            reader.GetString(0),
            reader.IsDBNull(1) ? null : reader.GetString(1),
            reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.GetInt64(3),
            reader.GetInt64(4),
            reader.GetInt64(5),
            ReadTime(reader.GetValue(6)),
            !reader.IsDBNull(7));
    }

    public static async Task CreateAsync(DbConnection connection, DbTransaction transaction, string subsystem, string migration, string step,
        BackfillCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        var now = DateTime.UtcNow;
        await using var command = Command(connection, transaction, $"""
            INSERT INTO {Table} (subsystem, migration, step, key_type, last_key, upper_bound, rows_done, rows_updated, rows_total,
                                 started_at, updated_at, completed_at)
            VALUES (@subsystem, @migration, @step, @key_type, NULL, @upper_bound, 0, 0, @rows_total, @now, @now, @completed)
            """, ("subsystem", subsystem), ("migration", migration), ("step", step), ("key_type", checkpoint.KeyType),
            ("upper_bound", checkpoint.UpperBound), ("rows_total", checkpoint.RowsTotal), ("now", now), ("completed", checkpoint.Completed ? now : null));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Moves the checkpoint past one batch; called inside the batch's transaction.</summary>
    public static async Task AdvanceAsync(DbConnection connection, DbTransaction transaction, string subsystem, string migration, string step,
        string lastKey, long rows, long updated, bool completed, CancellationToken cancellationToken)
    {
        var now = DateTime.UtcNow;
        await using var command = Command(connection, transaction, $"""
            UPDATE {Table}
               SET last_key = @last_key, rows_done = rows_done + @rows, rows_updated = rows_updated + @updated,
                   updated_at = @now, completed_at = @completed
             WHERE subsystem = @subsystem AND migration = @migration AND step = @step
            """, ("subsystem", subsystem), ("migration", migration), ("step", step), ("last_key", lastKey), ("rows", rows),
            ("updated", updated), ("now", now), ("completed", completed ? now : null));
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
            throw new InvalidOperationException($"the checkpoint of backfill '{step}' ({subsystem}/{migration}) disappeared while it ran");
    }

    public static async Task MarkCompletedAsync(DbConnection connection, DbTransaction transaction, string subsystem, string migration, string step,
        CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, $"""
            UPDATE {Table} SET completed_at = @now, updated_at = @now
             WHERE subsystem = @subsystem AND migration = @migration AND step = @step
            """, ("subsystem", subsystem), ("migration", migration), ("step", step), ("now", DateTime.UtcNow));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Forgets every backfill of a migration that a rollback undoes, finished or interrupted.</summary>
    public static async Task ForgetMigrationAsync(DbConnection connection, DbTransaction transaction, DatabaseKind kind, string subsystem, string migration,
        CancellationToken cancellationToken)
    {
        // Databases bootstrapped before backfills existed lack the table; a DELETE on it would abort the transaction.
        await using (var create = Command(connection, transaction, CreateTableSql(kind)))
            await create.ExecuteNonQueryAsync(cancellationToken);
        await using var command = Command(connection, transaction, $"DELETE FROM {Table} WHERE subsystem = @subsystem AND migration = @migration",
            ("subsystem", subsystem), ("migration", migration));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }

    private static DateTimeOffset ReadTime(object value) => value switch
    {
        DateTime dt => new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)),
        DateTimeOffset dto => dto,
        string s => DateTimeOffset.Parse(s, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal),
        _ => DateTimeOffset.UtcNow,
    };
}
