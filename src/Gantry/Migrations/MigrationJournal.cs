using System.Data.Common;
using Gantry.Configuration;
using Gantry.Store;

namespace Gantry.Migrations;

/// <summary>One journal row: a step of a migration's phase, started or completed.</summary>
public sealed record JournalEntry(string Subsystem, string Migration, MigrationPhase Phase, int Step, bool Completed, string Description, string Sql);

/// <summary>
/// The step journal (<c>gantry_migration_steps</c>). A transactional step writes its "completed" row in
/// its own transaction; a step that cannot run in a transaction writes "started" before it runs and
/// "completed" after, so an interruption leaves a "started" row that the next run (or 'repair') resolves.
/// </summary>
public sealed class MigrationJournal(IDatabase database)
{
    public const string Table = "gantry_migration_steps";

    public static string CreateTableSql(DatabaseKind kind) => $"""
        CREATE TABLE IF NOT EXISTS {Table} (
          subsystem text NOT NULL,
          migration text NOT NULL,
          phase text NOT NULL,
          step integer NOT NULL,
          state text NOT NULL CHECK (state IN ('started', 'completed')),
          description text NOT NULL,
          statements text NOT NULL,
          updated_at {(kind == DatabaseKind.Postgres ? "timestamp with time zone" : "TEXT")},
          PRIMARY KEY (subsystem, migration, phase, step))
        """;

    public async Task<IReadOnlyList<JournalEntry>> ReadAsync(DbConnection connection, string? subsystem, string? migration, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT subsystem, migration, phase, step, state, description, statements FROM {Table}"
            + (subsystem is null ? "" : " WHERE subsystem = @subsystem AND migration = @migration")
            + " ORDER BY subsystem, migration, phase, step";
        if (subsystem is not null)
            command.With("subsystem", subsystem).With("migration", migration);
        var entries = new List<JournalEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new JournalEntry(reader.GetString(0), reader.GetString(1), Enum.Parse<MigrationPhase>(reader.GetString(2), ignoreCase: true),
                reader.GetInt32(3), reader.GetString(4) == "completed", reader.GetString(5), reader.GetString(6)));
        }
        return entries;
    }

    public async Task<IReadOnlyList<JournalEntry>> ReadAsync(string subsystem, string migration, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await ReadAsync(connection, subsystem, migration, cancellationToken);
    }

    public Task MarkAsync(DbConnection connection, DbTransaction transaction, string subsystem, string migration, MigrationStepRun step,
        bool completed, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, $"""
            INSERT INTO {Table} (subsystem, migration, phase, step, state, description, statements, updated_at)
            VALUES (@subsystem, @migration, @phase, @step, @state, @description, @statements, @now)
            ON CONFLICT (subsystem, migration, phase, step) DO UPDATE SET
              state = excluded.state, description = excluded.description, statements = excluded.statements, updated_at = excluded.updated_at
            """, cancellationToken,
            ("subsystem", subsystem), ("migration", migration), ("phase", step.Phase.ToString().ToLowerInvariant()), ("step", step.Index),
            ("state", completed ? "completed" : "started"), ("description", step.Describe()), ("statements", step.Sql(database.Kind)),
            ("now", DateTime.UtcNow));

    /// <summary>Forgets a migration's journal (after a rollback), or one phase of it.</summary>
    public Task ForgetAsync(DbConnection connection, DbTransaction transaction, string subsystem, string migration, MigrationPhase? phase,
        CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction,
            $"DELETE FROM {Table} WHERE subsystem = @subsystem AND migration = @migration" + (phase is null ? "" : " AND phase = @phase"),
            cancellationToken, ("subsystem", subsystem), ("migration", migration), ("phase", phase?.ToString().ToLowerInvariant()));

    /// <summary>Forgets one step, so that the next run does it again.</summary>
    public Task ForgetStepAsync(DbConnection connection, DbTransaction transaction, JournalEntry entry, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction,
            $"DELETE FROM {Table} WHERE subsystem = @subsystem AND migration = @migration AND phase = @phase AND step = @step",
            cancellationToken, ("subsystem", entry.Subsystem), ("migration", entry.Migration),
            ("phase", entry.Phase.ToString().ToLowerInvariant()), ("step", entry.Step));

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            command.With(name, value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
