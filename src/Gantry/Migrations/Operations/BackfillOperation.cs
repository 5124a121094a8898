using System.Data.Common;
using System.Globalization;
using Gantry.Configuration;
using Gantry.Migrations.Backfill;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Gantry.Migrations;

/// <summary>What a backfill does, as data.</summary>
/// <param name="Table">The table whose rows it updates.</param>
/// <param name="Key">A unique, sortable column (integer, uuid or text) that the batches walk in order.</param>
/// <param name="Set">The SET list, such as <c>label = upper(name)</c>.</param>
/// <param name="Filter">The rows that still need work, such as <c>label IS NULL</c>; every row when null.</param>
/// <param name="BatchSize">Keys per batch (one short transaction each).</param>
/// <param name="PauseMilliseconds">Rest between batches, to leave room to the application's writes.</param>
/// <param name="StatementTimeoutMilliseconds">PostgreSQL statement_timeout of each batch statement; a batch that hits it is retried at half the size.</param>
public sealed record BackfillDefinition(
    string Table,
    string Key,
    DialectSql Set,
    DialectSql? Filter = null,
    int BatchSize = 1000,
    int PauseMilliseconds = 0,
    int StatementTimeoutMilliseconds = 5000);

/// <summary>
/// Copies or transforms rows in keyset batches without ever holding more than row locks. It runs outside
/// the step's transaction and commits one short transaction per batch, which also moves its checkpoint
/// (<see cref="BackfillCheckpoints"/>): a crash or a kill resumes after the last committed batch, never
/// redoing or skipping one. It covers only the rows that existed at its first run (keys up to the
/// largest key then), so steady inserts cannot keep it running forever; rows written after that are the
/// job of a sync trigger installed before it (<see cref="SyncTriggerOperation"/>).
/// </summary>
public sealed class BackfillOperation(BackfillDefinition definition) : MigrationOperation
{
    private const int MaxAttemptsPerBatch = 12;

    public BackfillDefinition Definition { get; } = definition;

    /// <summary>Identifies the backfill's checkpoint within its migration; tuning (batch size, pause) is not part of it.</summary>
    public string CheckpointKey =>
        $"backfill {Definition.Table} by {Definition.Key}: {Definition.Set.Postgres}{(Definition.Filter is { } f ? $" where {f.Postgres}" : "")}";

    public override string Describe() =>
        $"backfill {Definition.Table} in batches of {Definition.BatchSize} by {Definition.Key}: {Definition.Set.Postgres}"
        + (Definition.Filter is { } filter ? $" where {filter.Postgres}" : "");

    /// <summary>The batch statement, for the plan and the checksum; ExecuteAsync binds the keys.</summary>
    public override IReadOnlyList<string> Statements(DatabaseKind kind) =>
        [$"UPDATE {Sql.Quote(Definition.Table)} SET {Definition.Set.For(kind)} WHERE {Sql.Quote(Definition.Key)} > :last_key AND {Sql.Quote(Definition.Key)} <= :batch_end{FilterClause(kind)}"];

    // Each batch holds ROW EXCLUSIVE and the locks of the rows it updates, for one short transaction.
    public override OperationTraits Traits(DatabaseKind kind) =>
        new(LockLevel.RowExclusive, Definition.Table, Rewrites: false, Scans: false, Transactional: false, Retryable: true);

    // Nothing of the schema to undo: the column it fills goes with the undo of the AddColumn before it,
    // and a rollback forgets the migration's checkpoints together with its journal.
    public override IReadOnlyList<MigrationOperation> Undo => [];

    public override async Task ExecuteAsync(MigrationContext context, CancellationToken cancellationToken)
    {
        if (context.Transaction is not null)
            throw new InvalidOperationException("a backfill commits its own batches and cannot run inside a step's transaction");
        var connection = context.Connection;
        var name = $"{context.Subsystem}/{context.Migration}";
        var table = Definition.Table;
        // Databases bootstrapped before backfills existed lack the table.
        await ExecuteAsync(connection, null, BackfillCheckpoints.CreateTableSql(context.Kind), cancellationToken);

        var checkpoint = await BackfillCheckpoints.ReadAsync(connection, null, context.Subsystem, context.Migration, CheckpointKey, cancellationToken);
        if (checkpoint is null)
        {
            checkpoint = await StartAsync(context, cancellationToken);
            context.Reporter.Progress($"{name}: backfill {table}: {checkpoint.RowsTotal} rows up to {Definition.Key} {checkpoint.UpperBound ?? "(none)"}, in batches of {Definition.BatchSize}");
        }
        else if (checkpoint.Completed)
        {
            context.Reporter.Progress($"{name}: backfill {table} already completed ({checkpoint.RowsDone} rows); nothing to do");
            return;
        }
        else
        {
            context.Reporter.Progress($"{name}: backfill {table} resumed from its checkpoint after {Definition.Key} {checkpoint.LastKey ?? "(start)"}: "
                + $"{checkpoint.RowsDone} of {checkpoint.RowsTotal} rows were done by an interrupted run (started {checkpoint.StartedAt:yyyy-MM-dd HH:mm:ss}Z)");
        }

        var meter = new BackfillMeter(context.Subsystem, context.Migration, table, checkpoint.RowsTotal, checkpoint.RowsDone);
        var sql = new BatchSql(Definition, context.Kind, checkpoint.KeyType);
        context.Trace(sql.Select(first: checkpoint.LastKey is null));
        context.Trace(sql.Update(first: checkpoint.LastKey is null));
        var last = checkpoint.LastKey;
        var done = checkpoint.RowsDone;
        var updated = checkpoint.RowsUpdated;
        var batchSize = Definition.BatchSize;
        var finished = checkpoint.UpperBound is null;
        context.Reporter.Backfill(meter.Read(done, updated, finished: false));
        while (!finished)
        {
            var batch = await RunBatchWithRetryAsync(context, sql, last, checkpoint.UpperBound!, batchSize, cancellationToken);
            batchSize = batch.BatchSize;
            finished = batch.Completed;
            if (batch.EndKey is not null)
            {
                last = batch.EndKey;
                done += batch.Rows;
                updated += batch.Updated;
            }
            context.Reporter.Backfill(meter.Read(done, updated, finished));
            if (!finished && Definition.PauseMilliseconds > 0)
                await Task.Delay(Definition.PauseMilliseconds, cancellationToken);
        }
        var shrank = batchSize < Definition.BatchSize
            ? $"; batches shrank to {batchSize} rows after hitting the {Definition.StatementTimeoutMilliseconds} ms statement timeout"
            : "";
        context.Reporter.Progress(string.Create(CultureInfo.InvariantCulture,
            $"{name}: backfill {table} completed: {done} rows ({updated} updated) in {meter.Elapsed.TotalSeconds:F1}s, {meter.Rate(done):F0} rows/s{shrank}"));
    }

    /// <summary>Captures the key bound and the row count, and records them, at the first run.</summary>
    private async Task<BackfillCheckpoint> StartAsync(MigrationContext context, CancellationToken cancellationToken)
    {
        var connection = context.Connection;
        var key = Sql.Quote(Definition.Key);
        var table = Sql.Quote(Definition.Table);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        string? upper = null;
        var keyType = "";
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            // Qualified, because ORDER BY a bare name would sort by the text output column of the same name.
            command.CommandText = context.Kind == DatabaseKind.Postgres
                ? $"SELECT src.{key}::text, pg_typeof(src.{key})::text FROM {table} AS src WHERE src.{key} IS NOT NULL ORDER BY src.{key} DESC LIMIT 1"
                : $"SELECT src.{key}, typeof(src.{key}) FROM {table} AS src WHERE src.{key} IS NOT NULL ORDER BY src.{key} DESC LIMIT 1";
            context.Trace(command.CommandText);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                upper = Convert.ToString(reader.GetValue(0), CultureInfo.InvariantCulture);
                keyType = reader.GetString(1);
            }
        }
        long total = 0;
        if (upper is not null)
        {
            var sql = new BatchSql(Definition, context.Kind, keyType);
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"SELECT count(*) FROM {table} WHERE {key} <= {sql.Parameter("upper")}";
            // A count of a large table may take longer than one batch's limits; it takes no lock that blocks writes.
            command.CommandTimeout = 0;
            Add(command, "upper", sql.Bind(upper));
            context.Trace(command.CommandText);
            total = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }
        var checkpoint = new BackfillCheckpoint(keyType, null, upper, 0, 0, total, DateTimeOffset.UtcNow, Completed: upper is null);
        await BackfillCheckpoints.CreateAsync(connection, transaction, context.Subsystem, context.Migration, CheckpointKey, checkpoint, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return checkpoint;
    }

    private sealed record BatchResult(string? EndKey, long Rows, long Updated, bool Completed, int BatchSize);

    /// <summary>
    /// One batch, retried when it loses a race with the application (a row lock held past the lock
    /// timeout, a deadlock, a busy SQLite file) or hits the statement timeout (then at half the size).
    /// A failed attempt rolls back with its checkpoint update, so a retry can never count a batch twice.
    /// </summary>
    private async Task<BatchResult> RunBatchWithRetryAsync(MigrationContext context, BatchSql sql, string? last, string upper, int batchSize,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await RunBatchAsync(context, sql, last, upper, batchSize, cancellationToken);
            }
            catch (DbException e) when (attempt < MaxAttemptsPerBatch && Transient(e) is { } reason)
            {
                if (reason == Retry.Smaller)
                    batchSize = Math.Max(1, batchSize / 2);
                var delay = TimeSpan.FromMilliseconds(Math.Min(2000, 50 * Math.Pow(2, attempt - 1)) * (0.5 + Random.Shared.NextDouble() * 0.5));
                context.Reporter.Detail($"{context.Subsystem}/{context.Migration}: backfill {Definition.Table} batch after {Definition.Key} {last ?? "(start)"} "
                    + $"attempt {attempt} failed ({e.Message}); retrying in {delay.TotalMilliseconds:F0} ms with batches of {batchSize}");
                await Task.Delay(delay, cancellationToken);
            }
        }
    }

    private async Task<BatchResult> RunBatchAsync(MigrationContext context, BatchSql sql, string? last, string upper, int batchSize,
        CancellationToken cancellationToken)
    {
        var connection = context.Connection;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (context.Kind == DatabaseKind.Postgres)
            await ExecuteAsync(connection, transaction, $"SET LOCAL statement_timeout = {Definition.StatementTimeoutMilliseconds}", cancellationToken);

        string? end = null;
        long rows = 0;
        await using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            select.CommandText = sql.Select(first: last is null);
            if (last is not null)
                Add(select, "last", sql.Bind(last));
            Add(select, "upper", sql.Bind(upper));
            Add(select, "size", batchSize);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                end = Convert.ToString(reader.GetValue(0), CultureInfo.InvariantCulture);
                rows = reader.GetInt64(1);
            }
        }
        if (end is null)
        {
            // Rows after the last batch were deleted since: nothing is left up to the bound.
            await BackfillCheckpoints.MarkCompletedAsync(connection, transaction, context.Subsystem, context.Migration, CheckpointKey, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return new BatchResult(null, 0, 0, true, batchSize);
        }

        long updated;
        await using (var update = connection.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = sql.Update(first: last is null);
            if (last is not null)
                Add(update, "last", sql.Bind(last));
            Add(update, "end", sql.Bind(end));
            updated = await update.ExecuteNonQueryAsync(cancellationToken);
        }
        // Fewer keys than asked for means none is left up to the bound.
        var completed = rows < batchSize || end == upper;
        await BackfillCheckpoints.AdvanceAsync(connection, transaction, context.Subsystem, context.Migration, CheckpointKey, end, rows, updated,
            completed, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new BatchResult(end, rows, updated, completed, batchSize);
    }

    private enum Retry
    {
        Same,
        Smaller,
    }

    private static Retry? Transient(DbException e) => e switch
    {
        PostgresException { SqlState: PostgresErrorCodes.QueryCanceled } => Retry.Smaller,
        PostgresException { SqlState: PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure } => Retry.Same,
        // SQLITE_BUSY / SQLITE_LOCKED once the busy timeout has run out.
        SqliteException { SqliteErrorCode: 5 or 6 } => Retry.Same,
        _ => null,
    };

    private string FilterClause(DatabaseKind kind) => Definition.Filter is { } filter ? $" AND ({filter.For(kind)})" : "";

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    /// <summary>
    /// The batch statements for one database and key type. Keys travel as text in the checkpoint: on
    /// PostgreSQL they are cast back to the key's type in SQL; on SQLite they are bound as the storage
    /// class the key had, because SQLite compares an integer and a text value by type, not by value.
    /// </summary>
    private sealed class BatchSql(BackfillDefinition definition, DatabaseKind kind, string keyType)
    {
        private readonly string _key = Sql.Quote(definition.Key);
        private readonly string _table = Sql.Quote(definition.Table);

        public string Parameter(string name) => kind == DatabaseKind.Postgres ? $"@{name}::{keyType}" : $"@{name}";

        public object Bind(string value) => kind == DatabaseKind.Sqlite
            ? keyType switch
            {
                "integer" => long.Parse(value, CultureInfo.InvariantCulture),
                "real" => double.Parse(value, CultureInfo.InvariantCulture),
                _ => value,
            }
            : value;

        /// <summary>The last key of the next batch and how many keys it holds.</summary>
        public string Select(bool first)
        {
            var lower = first ? "" : $"{_key} > {Parameter("last")} AND ";
            var endKey = kind == DatabaseKind.Postgres ? "batch.gantry_key::text" : "batch.gantry_key";
            // count(*) OVER () is computed before the outer LIMIT, so it counts the whole batch.
            return $"SELECT {endKey}, count(*) OVER () FROM (SELECT {_key} AS gantry_key FROM {_table} WHERE {lower}{_key} <= {Parameter("upper")} "
                + $"ORDER BY {_key} LIMIT @size) AS batch ORDER BY batch.gantry_key DESC LIMIT 1";
        }

        public string Update(bool first) =>
            $"UPDATE {_table} SET {definition.Set.For(kind)} WHERE {(first ? "" : $"{_key} > {Parameter("last")} AND ")}{_key} <= {Parameter("end")}"
            + (definition.Filter is { } filter ? $" AND ({filter.For(kind)})" : "");
    }
}
