using System.Data.Common;
using System.Diagnostics;
using Gantry.Configuration;
using Gantry.Store;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Gantry.Migrations;

/// <summary>How long a DDL statement may wait for its lock, and for how long to keep retrying.</summary>
public sealed record LockPolicy(TimeSpan LockTimeout, TimeSpan RetryFor)
{
    public static LockPolicy Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));
}

/// <summary>
/// Runs one journalled step. Every statement waits at most the lock timeout for its lock (so a DDL
/// queued behind a long transaction blocks other sessions for at most that long); a step that times out
/// is rolled back, the sessions blocking it are reported, and it is retried with capped, jittered
/// backoff until the retry budget runs out.
/// </summary>
public sealed class StepExecutor(IDatabase database, MigrationJournal journal, IMigrationReporter reporter, LockPolicy policy)
{
    /// <param name="alsoInCommit">Extra writes that must commit with the step (the migration's own record).</param>
    public async Task RunAsync(IMigrationLock mutex, string subsystem, string migration, MigrationStepRun step,
        Func<DbConnection, DbTransaction, Task>? alsoInCommit, CancellationToken cancellationToken)
    {
        var name = $"{subsystem}/{migration}";
        var clock = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            await mutex.EnsureHeldAsync(cancellationToken);
            try
            {
                if (step.Transactional)
                    await RunInTransactionAsync(subsystem, migration, step, alsoInCommit, cancellationToken);
                else
                    await RunOutsideTransactionAsync(subsystem, migration, step, alsoInCommit, cancellationToken);
                reporter.StepFinished(name, step, clock.Elapsed, attempt);
                return;
            }
            catch (DbException e) when (IsLockTimeout(e))
            {
                var blockers = await DescribeBlockersAsync(step, cancellationToken);
                if (clock.Elapsed >= policy.RetryFor)
                {
                    throw new MigrationException(MigrationFailure.StepFailed,
                        $"migration {name} gave up on its {Phase(step)} step {step.Index + 1} ({step.Describe()}) after {attempt} attempts in {clock.Elapsed.TotalSeconds:F0}s: "
                        + $"its lock stayed taken by {blockers}. Nothing of this step was applied; end that session or run the command again later");
                }
                var delay = Backoff(attempt);
                reporter.StepBlocked(name, step, new StepBlockage(LockOf(step), policy.LockTimeout, blockers, attempt, delay));
                await Task.Delay(delay, cancellationToken);
            }
            catch (DbException e)
            {
                throw new MigrationException(MigrationFailure.StepFailed,
                    $"migration {name} failed in its {Phase(step)} step and was rolled back, so it is not recorded: step {step.Index + 1} ({step.Describe()}): {e.Message}. "
                    + "Steps before it stay applied and journalled; fix the cause and run the command again: it resumes at this step", e);
            }
        }
    }

    private async Task RunInTransactionAsync(string subsystem, string migration, MigrationStepRun step,
        Func<DbConnection, DbTransaction, Task>? alsoInCommit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var context = new MigrationContext(connection, transaction, database.Kind, Trace(subsystem, migration), reporter, subsystem, migration);
        if (database.Kind == DatabaseKind.Postgres)
            await context.ExecuteAsync($"SET LOCAL lock_timeout = {(int)policy.LockTimeout.TotalMilliseconds}", cancellationToken);
        foreach (var operation in step.Operations)
            await operation.ExecuteAsync(context, cancellationToken);
        await journal.MarkAsync(connection, transaction, subsystem, migration, step, completed: true, cancellationToken);
        if (alsoInCommit is not null)
            await alsoInCommit(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
    }

    private async Task RunOutsideTransactionAsync(string subsystem, string migration, MigrationStepRun step,
        Func<DbConnection, DbTransaction, Task>? alsoInCommit, CancellationToken cancellationToken)
    {
        await using (var connection = await database.OpenAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await journal.MarkAsync(connection, transaction, subsystem, migration, step, completed: false, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            var context = new MigrationContext(connection, null, database.Kind, Trace(subsystem, migration), reporter, subsystem, migration);
            if (database.Kind == DatabaseKind.Postgres)
                await context.ExecuteAsync($"SET lock_timeout = {(int)policy.LockTimeout.TotalMilliseconds}", cancellationToken);
            try
            {
                foreach (var operation in step.Operations)
                    await operation.ExecuteAsync(context, cancellationToken);
            }
            finally
            {
                // The connection goes back to the pool: it must not keep this session setting.
                if (database.Kind == DatabaseKind.Postgres && connection.State == System.Data.ConnectionState.Open)
                    await context.ExecuteAsync("RESET lock_timeout", CancellationToken.None);
            }
        }
        await using (var connection = await database.OpenAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await journal.MarkAsync(connection, transaction, subsystem, migration, step, completed: true, cancellationToken);
            if (alsoInCommit is not null)
                await alsoInCommit(connection, transaction);
            await transaction.CommitAsync(cancellationToken);
        }
    }

    private Action<string> Trace(string subsystem, string migration) => sql => reporter.Detail($"{subsystem}/{migration}: {sql}");

    private static string Phase(MigrationStepRun step) => step.Phase.ToString().ToLowerInvariant();

    private string LockOf(MigrationStepRun step)
    {
        var strongest = step.Operations.Select(o => o.Traits(database.Kind)).MaxBy(t => t.Lock);
        return strongest is null ? "table" : strongest.Table is null ? strongest.LockName : $"{strongest.LockName} on {strongest.Table}";
    }

    private static bool IsLockTimeout(DbException e) => e switch
    {
        // 55P03 lock_not_available: lock_timeout expired.
        PostgresException pg => pg.SqlState == PostgresErrorCodes.LockNotAvailable,
        // SQLITE_BUSY / SQLITE_LOCKED once busy_timeout has run out.
        SqliteException sqlite => sqlite.SqliteErrorCode is 5 or 6,
        _ => false,
    };

    /// <summary>Exponential from 250 ms, capped at 5 s, with jitter so that retries of several migrators do not align.</summary>
    private static TimeSpan Backoff(int attempt)
    {
        var ceiling = Math.Min(5000, 250 * Math.Pow(2, Math.Min(attempt - 1, 10)));
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + Random.Shared.NextDouble() * 0.5));
    }

    /// <summary>Who holds locks on the step's tables (or, for a concurrent build, the oldest open transactions).</summary>
    private async Task<string> DescribeBlockersAsync(MigrationStepRun step, CancellationToken cancellationToken)
    {
        if (database.Kind != DatabaseKind.Postgres)
            return "another connection writing to the SQLite file";
        var tables = step.Operations.Select(o => o.Traits(database.Kind).Table).OfType<string>().Distinct().ToArray();
        try
        {
            await using var connection = (NpgsqlConnection)await database.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = tables.Length > 0
                ? """
                  SELECT DISTINCT a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''),
                         coalesce(extract(epoch FROM now() - a.xact_start)::bigint, 0)
                    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE l.granted AND a.pid <> pg_backend_pid()
                     AND l.relation = ANY (SELECT to_regclass(quote_ident(t)) FROM unnest(@tables) AS t)
                   LIMIT 5
                  """
                : """
                  SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''),
                         coalesce(extract(epoch FROM now() - a.xact_start)::bigint, 0)
                    FROM pg_stat_activity a
                   WHERE a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL AND a.datname = current_database()
                     AND a.application_name NOT LIKE 'gantry migrations%'
                   ORDER BY a.xact_start LIMIT 5
                  """;
            command.Parameters.AddWithValue("tables", tables);
            var found = new List<string>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var application = reader.GetString(1);
                found.Add($"pid {reader.GetInt32(0)}{(application.Length > 0 ? $" ('{application}')" : "")}, {reader.GetString(2)}, transaction open for {reader.GetInt64(3)}s");
            }
            return found.Count > 0 ? string.Join("; ", found) : "a session that has since let go";
        }
        catch (DbException e)
        {
            return $"(could not read pg_locks: {e.Message})";
        }
    }
}
