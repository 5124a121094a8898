using System.Data.Common;
using System.Diagnostics;
using Gantry.Cli;
using Gantry.Store;

namespace Gantry.Migrations;

public sealed record MigrationOptions(TimeSpan LockTimeout, bool Force, string Owner);

/// <summary>
/// Runs bootstrap, up, finish and reset. Each command reads the state once for its preconditions, then
/// takes the migration lock and reads it again: what to run is decided only while the lock is held.
/// Every step commits together with the row that records it.
/// </summary>
public sealed class MigrationRunner
{
    private readonly IDatabase _database;
    private readonly IReadOnlyList<Subsystem> _subsystems;
    private readonly Output _output;
    private readonly MigrationOptions _options;
    private readonly MigrationStateStore _state;

    public MigrationRunner(IDatabase database, IReadOnlyList<Subsystem> subsystems, Output output, MigrationOptions options)
    {
        _database = database;
        _subsystems = subsystems;
        _output = output;
        _options = options;
        _state = new MigrationStateStore(database);
    }

    public async Task<MigrationStatus> ReadStatusAsync(CancellationToken cancellationToken = default) =>
        MigrationStatus.Classify(_subsystems, await _state.ReadAsync(cancellationToken));

    public async Task<int> BootstrapAsync(CancellationToken cancellationToken = default)
    {
        if (!_options.Force && (await ReadStatusAsync(cancellationToken)).BootstrapComplete)
        {
            _output.Line("Database already bootstrapped");
            return ExitCodes.Success;
        }

        await using var mutex = await AcquireLockAsync(cancellationToken);
        if (_options.Force)
        {
            await _database.DropEverythingAsync(cancellationToken);
            _output.Line("Database reset (--force)");
        }
        var status = await ReadStatusAsync(cancellationToken);
        if (status.BootstrapComplete)
        {
            _output.Line("Database already bootstrapped");
            return ExitCodes.Success;
        }

        await _database.PrepareAsync(cancellationToken);
        await InTransactionAsync((connection, transaction) => _state.EnsureTablesAsync(connection, transaction, cancellationToken), cancellationToken);
        _output.Line(status.IncompleteBootstrap ? "Completing an interrupted bootstrap..." : "Bootstrapping database...");

        var run = new RunSummary();
        foreach (var group in status.Known.Where(m => !m.IsExecuted).GroupBy(m => m.Subsystem.Name))
        {
            _output.Line($"migrating {group.Key} on database '{_database.DisplayName}'...");
            foreach (var migration in group)
            {
                // A pending migration of an interrupted bootstrap has run its Up already.
                var steps = migration.IsPending ? [Phase.Finish] : new[] { Phase.Up, Phase.Finish };
                await RunAsync(mutex, migration, steps, MigrationRecordState.Executed, run, cancellationToken);
            }
        }
        await InTransactionAsync((connection, transaction) => _state.SetMetaAsync(connection, transaction, MigrationStateStore.BootstrapKey, "complete", cancellationToken), cancellationToken);
        run.Print(_output);
        _output.Line("Database is up-to-date");
        return ExitCodes.Success;
    }

    public async Task<int> UpAsync(CancellationToken cancellationToken = default)
    {
        var before = await ReadStatusAsync(cancellationToken);
        CheckUpPreconditions(before);
        if (!before.HasNew && !_options.Force)
        {
            _output.Line("Database is already up-to-date");
            return ExitCodes.Success;
        }

        await using var mutex = await AcquireLockAsync(cancellationToken);
        var status = await ReadStatusAsync(cancellationToken);
        CheckUpPreconditions(status);
        var run = new RunSummary();
        if (_options.Force)
            await RerunRecordedAsync(mutex, status, run, cancellationToken);

        var fresh = status.Known.Where(m => m.IsNew).ToList();
        if (fresh.Count == 0 && !_options.Force)
        {
            _output.Line("Database is already up-to-date (another process applied the new migrations while this one waited for the lock)");
            return ExitCodes.Success;
        }
        foreach (var group in fresh.GroupBy(m => m.Subsystem.Name))
        {
            _output.Line($"migrating {group.Key} on database '{_database.DisplayName}'...");
            foreach (var migration in group)
            {
                var state = migration.Migration.Finish is null ? MigrationRecordState.Executed : MigrationRecordState.Pending;
                await RunAsync(mutex, migration, [Phase.Up], state, run, cancellationToken);
            }
        }
        run.Print(_output);
        _output.Line(run.Pending > 0 || (await ReadStatusAsync(cancellationToken)).HasPending
            ? "Database has pending migrations; run 'gantry migrations finish' when ready"
            : "Database is up-to-date");
        return ExitCodes.Success;
    }

    public async Task<int> FinishAsync(CancellationToken cancellationToken = default)
    {
        var before = await ReadStatusAsync(cancellationToken);
        CheckBootstrapped(before);
        if (!before.HasPending && !_options.Force)
        {
            _output.Line("No pending migrations to finish");
            ReportNew(before);
            return ExitCodes.Success;
        }

        await using var mutex = await AcquireLockAsync(cancellationToken);
        var status = await ReadStatusAsync(cancellationToken);
        CheckBootstrapped(status);
        var run = new RunSummary();
        if (_options.Force)
            await RerunRecordedAsync(mutex, status, run, cancellationToken);
        var pending = status.Known.Where(m => m.IsPending).ToList();
        if (pending.Count == 0 && !_options.Force)
        {
            _output.Line("No pending migrations to finish (another process finished them while this one waited for the lock)");
            ReportNew(status);
            return ExitCodes.Success;
        }
        foreach (var group in pending.GroupBy(m => m.Subsystem.Name))
        {
            _output.Line($"migrating {group.Key} on database '{_database.DisplayName}'...");
            foreach (var migration in group)
                await RunAsync(mutex, migration, [Phase.Finish], MigrationRecordState.Executed, run, cancellationToken);
        }
        run.Print(_output);
        if (!ReportNew(status))
            _output.Line("Database is up-to-date");
        return ExitCodes.Success;
    }

    /// <summary>Drops everything in Gantry's schema or file. The caller has asked for confirmation.</summary>
    public async Task<int> ResetAsync(CancellationToken cancellationToken = default)
    {
        if ((await _database.ListTablesAsync(cancellationToken)).Count == 0)
        {
            _output.Line("Database not bootstrapped, nothing to reset");
            return ExitCodes.Success;
        }
        await using var mutex = await AcquireLockAsync(cancellationToken);
        await _database.DropEverythingAsync(cancellationToken);
        _output.Line("Database successfully reset");
        return ExitCodes.Success;
    }

    private static void CheckBootstrapped(MigrationStatus status)
    {
        if (!status.HasStateTables)
            throw new CliException("Database needs bootstrapping; run 'gantry migrations bootstrap'");
        if (status.IncompleteBootstrap)
            throw new CliException("the bootstrap of this database did not complete; run 'gantry migrations bootstrap' to complete it");
    }

    private void CheckUpPreconditions(MigrationStatus status)
    {
        CheckBootstrapped(status);
        // One upgrade at a time: a second expand on top of an unfinished one would leave two releases'
        // contract steps interleaved.
        if (status.HasPending && !_options.Force)
        {
            throw new CliException(
                $"Database has pending migrations from an earlier upgrade ({Describe(status.Pending)}); "
                + "run 'gantry migrations finish' before starting another upgrade");
        }
    }

    private bool ReportNew(MigrationStatus status)
    {
        if (!status.HasNew)
            return false;
        _output.Line("New migrations available; run 'gantry migrations up' to proceed");
        return true;
    }

    /// <summary>--force: runs again what is recorded, for migrations written to be re-runnable.</summary>
    private async Task RerunRecordedAsync(IMigrationLock mutex, MigrationStatus status, RunSummary run, CancellationToken cancellationToken)
    {
        foreach (var group in status.Known.Where(m => !m.IsNew).GroupBy(m => m.Subsystem.Name))
        {
            _output.Line($"re-running {group.Key} migrations on database '{_database.DisplayName}' (--force)...");
            foreach (var migration in group)
            {
                var steps = migration.IsExecuted ? new[] { Phase.Up, Phase.Finish } : [Phase.Up];
                await RunAsync(mutex, migration, steps, migration.Record!.State, run, cancellationToken);
            }
        }
    }

    private enum Phase
    {
        Up,
        Finish,
    }

    private async Task RunAsync(IMigrationLock mutex, KnownMigration migration, Phase[] phases, MigrationRecordState recordAs,
        RunSummary run, CancellationToken cancellationToken)
    {
        await mutex.EnsureHeldAsync(cancellationToken);
        var name = $"{migration.Subsystem.Name}/{migration.Migration.Name}";
        var clock = Stopwatch.StartNew();
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var context = new MigrationContext(connection, transaction, _database.Kind, sql => _output.Verbose($"{name}: {sql}"));
        var current = Phase.Up;
        try
        {
            foreach (var phase in phases)
            {
                current = phase;
                var step = phase == Phase.Up ? migration.Migration.Up : migration.Migration.Finish;
                if (step is null)
                    continue;
                foreach (var operation in step.Operations)
                    await operation.ExecuteAsync(context, cancellationToken);
            }
            await _state.RecordAsync(connection, transaction, migration.Subsystem.Name, migration.Migration, recordAs, cancellationToken);
            if (phases.Contains(Phase.Finish) && migration.Migration.Finish is not null)
                await ReleaseFence.RecordContractAsync(_state, connection, transaction, name, _options.Owner, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        catch (DbException e)
        {
            throw new CliException(
                $"migration {name} failed in its {current.ToString().ToLowerInvariant()} step and was rolled back, so it is not recorded: {e.Message}. "
                + $"{run.Total} migration(s) before it completed and stay recorded; fix the cause and run the command again", ExitCodes.Error, e);
        }
        _output.Verbose($"{name} took {clock.Elapsed.TotalMilliseconds:F0} ms");
        run.Add(recordAs);
        _output.Line($"{migration.Subsystem.Name} migrated up to: {migration.Migration.Name} ({(recordAs == MigrationRecordState.Executed ? "executed" : "pending")})");
    }

    private async Task InTransactionAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Polls a try-lock until the lock timeout, saying once who holds it.</summary>
    private async Task<IMigrationLock> AcquireLockAsync(CancellationToken cancellationToken)
    {
        var mutex = _database.CreateMigrationLock(_options.Owner);
        var clock = Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(100);
        string? announced = null;
        try
        {
            while (true)
            {
                if (await mutex.TryAcquireAsync(cancellationToken))
                {
                    if (announced is not null)
                        _output.Line($"acquired the migration lock after {clock.Elapsed.TotalSeconds:F1}s");
                    return mutex;
                }
                var holder = await mutex.DescribeHolderAsync(cancellationToken) ?? "another process";
                if (announced is null)
                {
                    _output.Line($"waiting up to {_options.LockTimeout.TotalSeconds:0.#}s for the migration lock, held by {holder}...");
                    announced = holder;
                }
                var left = _options.LockTimeout - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    throw new CliException(
                        $"timed out after {_options.LockTimeout.TotalSeconds:0.#}s waiting for the migration lock, held by {holder}; "
                        + "nothing was changed. Wait for that process to finish, or raise --lock-timeout", ExitCodes.LockTimeout);
                }
                await Task.Delay(left < delay ? left : delay, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 1000));
            }
        }
        catch
        {
            await mutex.DisposeAsync();
            throw;
        }
    }

    internal static string Describe(IReadOnlyList<SubsystemMigrations> groups) =>
        string.Join("; ", groups.Select(g => $"{g.Subsystem}: {string.Join(", ", g.Migrations)}"));

    private sealed class RunSummary
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public int Executed { get; private set; }

        public int Pending { get; private set; }

        public int Total => Executed + Pending;

        public void Add(MigrationRecordState state)
        {
            if (state == MigrationRecordState.Executed)
                Executed++;
            else
                Pending++;
        }

        public void Print(Output output)
        {
            output.Line($"{Total} migration{(Total == 1 ? "" : "s")} processed");
            output.Line($"{Executed} executed");
            output.Line($"{Pending} pending");
            output.Line($"took {_clock.Elapsed.TotalSeconds:F2}s");
        }
    }
}
