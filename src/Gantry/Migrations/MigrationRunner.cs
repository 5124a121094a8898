using System.Data.Common;
using System.Diagnostics;
using Gantry.Store;

namespace Gantry.Migrations;

public sealed record MigrationOptions(TimeSpan LockTimeout, bool Force, string Owner, LockPolicy? Ddl = null);

/// <summary>
/// Runs bootstrap, up, finish, rollback and reset. Each command reads the state once for its
/// preconditions, then takes the migration lock and reads it again: what to run is decided only while
/// the lock is held. Steps are journalled; the step that completes a migration also records it, in the
/// same transaction.
/// </summary>
public sealed class MigrationRunner
{
    private readonly IDatabase _database;
    private readonly IReadOnlyList<Subsystem> _subsystems;
    private readonly IMigrationReporter _reporter;
    private readonly MigrationOptions _options;
    private readonly MigrationStateStore _state;
    private readonly MigrationJournal _journal;
    private readonly StepExecutor _executor;

    public MigrationRunner(IDatabase database, IReadOnlyList<Subsystem> subsystems, IMigrationReporter reporter, MigrationOptions options)
    {
        _database = database;
        _subsystems = subsystems;
        _reporter = reporter;
        _options = options;
        _state = new MigrationStateStore(database);
        _journal = new MigrationJournal(database);
        _executor = new StepExecutor(database, _journal, reporter, options.Ddl ?? LockPolicy.Default);
    }

    public IDatabase Database => _database;

    public async Task<MigrationStatus> ReadStatusAsync(CancellationToken cancellationToken = default) =>
        MigrationStatus.Classify(_subsystems, await _state.ReadAsync(cancellationToken));

    public async Task BootstrapAsync(CancellationToken cancellationToken = default)
    {
        if (!_options.Force && (await ReadStatusAsync(cancellationToken)).BootstrapComplete)
        {
            _reporter.Progress("Database already bootstrapped");
            return;
        }

        await using var mutex = await AcquireLockAsync(cancellationToken);
        if (_options.Force)
        {
            await _database.DropEverythingAsync(cancellationToken);
            _reporter.Progress("Database reset (--force)");
        }
        var status = await ReadStatusAsync(cancellationToken);
        if (status.BootstrapComplete)
        {
            _reporter.Progress("Database already bootstrapped");
            return;
        }

        await _database.PrepareAsync(cancellationToken);
        await InTransactionAsync((connection, transaction) => _state.EnsureTablesAsync(connection, transaction, cancellationToken), cancellationToken);
        _reporter.Progress(status.IncompleteBootstrap ? "Completing an interrupted bootstrap..." : "Bootstrapping database...");

        var run = new RunSummary();
        foreach (var group in status.Known.Where(m => !m.IsExecuted).GroupBy(m => m.Subsystem.Name))
        {
            _reporter.Progress($"migrating {group.Key} on database '{_database.DisplayName}'...");
            foreach (var migration in group)
            {
                // A pending migration of an interrupted bootstrap has run its Up already.
                MigrationPhase[] phases = migration.IsPending ? [MigrationPhase.Finish] : [MigrationPhase.Up, MigrationPhase.Finish];
                await RunMigrationAsync(mutex, migration, phases, MigrationRecordState.Executed, null, run, cancellationToken);
            }
        }
        await InTransactionAsync((connection, transaction) => _state.SetMetaAsync(connection, transaction, MigrationStateStore.BootstrapKey, "complete", cancellationToken), cancellationToken);
        run.Print(_reporter);
        _reporter.Progress("Database is up-to-date");
    }

    public async Task UpAsync(CancellationToken cancellationToken = default)
    {
        var before = await ReadStatusAsync(cancellationToken);
        CheckUpPreconditions(before);
        if (!before.HasNew && !_options.Force)
        {
            _reporter.Progress("Database is already up-to-date");
            return;
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
            _reporter.Progress("Database is already up-to-date (another process applied the new migrations while this one waited for the lock)");
            return;
        }
        // One id for this run, so that 'rollback' can undo exactly what it applied.
        var upgradeId = Guid.NewGuid().ToString("N");
        foreach (var group in fresh.GroupBy(m => m.Subsystem.Name))
        {
            _reporter.Progress($"migrating {group.Key} on database '{_database.DisplayName}'...");
            foreach (var migration in group)
            {
                var state = migration.Migration.Finish is null ? MigrationRecordState.Executed : MigrationRecordState.Pending;
                await RunMigrationAsync(mutex, migration, [MigrationPhase.Up], state, upgradeId, run, cancellationToken);
            }
        }
        run.Print(_reporter);
        _reporter.Progress(run.Pending > 0 || (await ReadStatusAsync(cancellationToken)).HasPending
            ? "Database has pending migrations; run 'gantry migrations finish' when ready"
            : "Database is up-to-date");
    }

    public async Task FinishAsync(CancellationToken cancellationToken = default)
    {
        var before = await ReadStatusAsync(cancellationToken);
        CheckBootstrapped(before);
        if (!before.HasPending && !_options.Force)
        {
            _reporter.Progress("No pending migrations to finish");
            ReportNew(before);
            return;
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
            _reporter.Progress("No pending migrations to finish (another process finished them while this one waited for the lock)");
            ReportNew(status);
            return;
        }
        foreach (var group in pending.GroupBy(m => m.Subsystem.Name))
        {
            _reporter.Progress($"migrating {group.Key} on database '{_database.DisplayName}'...");
            foreach (var migration in group)
                await RunMigrationAsync(mutex, migration, [MigrationPhase.Finish], MigrationRecordState.Executed, null, run, cancellationToken);
        }
        if (pending.Count > 0)
        {
            var names = MigrationPlanner.Names(pending);
            await InTransactionAsync((connection, transaction) => _state.SetMetaAsync(connection, transaction, LastFinishKey,
                $"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss}Z ({names})", cancellationToken), cancellationToken);
        }
        run.Print(_reporter);
        if (!ReportNew(status))
            _reporter.Progress("Database is up-to-date");
    }

    /// <summary>The gantry_meta key that remembers the last finish, so that rollback can say why it refuses.</summary>
    public const string LastFinishKey = "last_finish";

    /// <summary>
    /// Undoes the upgrade that is between 'up' and 'finish': every migration its 'up' applied (and any
    /// migration an interrupted 'up' left half-applied), newest first, by running the undo of each
    /// completed Up operation in reverse order. Refuses, before changing anything, when an operation
    /// cannot be undone or when there is no unfinished upgrade.
    /// </summary>
    public async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        CheckBootstrapped(await ReadStatusAsync(cancellationToken));
        await CheckRollbackPossibleAsync(await PlanRollbackAsync(cancellationToken), cancellationToken);

        await using var mutex = await AcquireLockAsync(cancellationToken);
        var targets = await PlanRollbackAsync(cancellationToken);
        await CheckRollbackPossibleAsync(targets, cancellationToken);
        var clock = Stopwatch.StartNew();
        foreach (var target in targets)
        {
            var name = target.Migration.Migration.Name;
            var subsystem = target.Migration.Subsystem.Name;
            Func<DbConnection, DbTransaction, Task> forget = async (connection, transaction) =>
            {
                await _state.DeleteAsync(connection, transaction, subsystem, name, cancellationToken);
                await _journal.ForgetAsync(connection, transaction, subsystem, name, null, cancellationToken);
                await Backfill.BackfillCheckpoints.ForgetMigrationAsync(connection, transaction, _database.Kind, subsystem, name, cancellationToken);
            };
            var remaining = target.Steps.Where(s => !target.CompletedRollbackSteps.Contains(s.Index)).ToList();
            if (remaining.Count == 0)
                await InTransactionAsync(forget, cancellationToken);
            for (var i = 0; i < remaining.Count; i++)
                await _executor.RunAsync(mutex, subsystem, name, remaining[i], i == remaining.Count - 1 ? forget : null, cancellationToken);
            _reporter.Progress($"{subsystem} rolled back: {name}");
        }
        _reporter.Progress($"{targets.Count} migration{(targets.Count == 1 ? "" : "s")} rolled back");
        _reporter.Progress($"took {clock.Elapsed.TotalSeconds:F2}s");
        _reporter.Progress("The database is back to what the previous release expects; run 'gantry migrations up' again to retry the upgrade");
    }

    /// <summary>What rollback would undo, newest migration first, each with its undo steps.</summary>
    internal async Task<IReadOnlyList<RollbackTarget>> PlanRollbackAsync(CancellationToken cancellationToken)
    {
        var status = await ReadStatusAsync(cancellationToken);
        await using var connection = await _database.OpenAsync(cancellationToken);
        var journal = await _journal.ReadAsync(connection, null, null, cancellationToken);
        var openUpgrades = status.Known.Where(m => m.IsPending).Select(m => m.Record!.UpgradeId).ToHashSet();
        var targets = new List<RollbackTarget>();
        foreach (var migration in status.Known.Reverse())
        {
            var entries = journal.Where(e => e.Subsystem == migration.Subsystem.Name && e.Migration == migration.Migration.Name).ToList();
            var inOpenUpgrade = migration.Record is { } record && openUpgrades.Contains(record.UpgradeId);
            var halfApplied = migration.IsNew && entries.Any(e => e.Phase == MigrationPhase.Up && e.Completed);
            if (!inOpenUpgrade && !halfApplied)
                continue;
            var upSteps = MigrationStepRun.Split(MigrationPhase.Up, migration.Migration.Up.Operations, _database.Kind);
            var completedUp = upSteps.Where(s => entries.Any(e => e.Phase == MigrationPhase.Up && e.Step == s.Index && e.Completed)).ToList();
            var undo = new List<MigrationOperation>();
            var irreversible = new List<MigrationOperation>();
            foreach (var operation in completedUp.SelectMany(s => s.Operations).Reverse())
            {
                if (operation.Undo is { } inverse)
                    undo.AddRange(inverse);
                else
                    irreversible.Add(operation);
            }
            targets.Add(new RollbackTarget(migration, MigrationStepRun.Split(MigrationPhase.Rollback, undo, _database.Kind), irreversible,
                entries.Where(e => e.Phase == MigrationPhase.Rollback && e.Completed).Select(e => e.Step).ToHashSet()));
        }
        return targets;
    }

    private async Task CheckRollbackPossibleAsync(IReadOnlyList<RollbackTarget> targets, CancellationToken cancellationToken)
    {
        if (targets.Count == 0)
        {
            var lastFinish = await _state.ReadMetaAsync(LastFinishKey, cancellationToken);
            throw new MigrationException(MigrationFailure.CannotRollBack, lastFinish is null
                ? "nothing to roll back: no upgrade is between 'migrations up' and 'migrations finish'"
                : $"nothing to roll back: the last upgrade was finished at {lastFinish}. 'finish' ran its contract steps, which remove what the previous "
                  + "release reads, so it cannot be undone; restore the backup taken before 'finish' to go back");
        }
        var irreversible = targets.SelectMany(t => t.Irreversible.Select(o => $"{t.Migration.Subsystem.Name}/{t.Migration.Migration.Name}: {o.Describe()}")).ToList();
        if (irreversible.Count > 0)
            throw new MigrationException(MigrationFailure.CannotRollBack, "cannot roll back: these operations declare no undo, so nothing was changed:\n  " + string.Join("\n  ", irreversible));
    }

    /// <summary>
    /// Compares the step journal with the database catalog. A step that an interruption left "started"
    /// is marked completed when its effect is in the catalog, or forgotten (so the next run redoes it)
    /// when it is not, after dropping an index a failed concurrent build left invalid. A completed step
    /// whose effect is missing from a migration still in progress is forgotten too; one of a recorded
    /// migration cannot be fixed by the journal, and is reported with what is missing.
    /// </summary>
    public async Task<RepairOutcome> RepairAsync(CancellationToken cancellationToken = default)
    {
        CheckTablesExist(await ReadStatusAsync(cancellationToken));
        await using var mutex = await AcquireLockAsync(cancellationToken);
        var status = await ReadStatusAsync(cancellationToken);
        await using var connection = await _database.OpenAsync(cancellationToken);
        var catalog = new Catalog(connection, _database.Kind);
        var journal = await _journal.ReadAsync(connection, null, null, cancellationToken);
        var fixes = 0;
        var unfixable = new List<string>();
        foreach (var migration in status.Known)
        {
            var entries = journal.Where(e => e.Subsystem == migration.Subsystem.Name && e.Migration == migration.Migration.Name).ToList();
            foreach (var entry in entries.Where(e => e.Phase != MigrationPhase.Rollback))
            {
                var step = StepsOf(migration.Migration, entry.Phase).FirstOrDefault(s => s.Index == entry.Step);
                var where = $"{entry.Subsystem}/{entry.Migration} {entry.Phase.ToString().ToLowerInvariant()} step {entry.Step + 1} ({entry.Description})";
                if (step is null)
                {
                    unfixable.Add($"{where}: the journal has a step this release's definition does not; run 'gantry migrations validate'");
                    continue;
                }
                var findings = new List<CatalogFinding>();
                foreach (var operation in step.Operations)
                    findings.Add(await operation.InspectAsync(catalog, cancellationToken));
                var applied = findings.All(f => f is CatalogFinding.Applied or CatalogFinding.Unknown) && findings.Any(f => f == CatalogFinding.Applied);
                var absent = findings.All(f => f is CatalogFinding.Absent or CatalogFinding.Unknown) && findings.Any(f => f == CatalogFinding.Absent);
                if (!entry.Completed)
                {
                    if (findings.Contains(CatalogFinding.Invalid))
                    {
                        foreach (var index in step.Operations.OfType<CreateIndexConcurrentlyOperation>())
                            await ExecuteAsync(connection, $"DROP INDEX {(_database.Kind == Configuration.DatabaseKind.Postgres ? "CONCURRENTLY " : "")}IF EXISTS {Sql.Quote(index.Name)}", cancellationToken);
                        await InTransactionAsync((c, t) => _journal.ForgetStepAsync(c, t, entry, cancellationToken), cancellationToken);
                        _reporter.Progress($"{where}: an interrupted build left its index invalid; dropped it, the next run builds it again");
                        fixes++;
                    }
                    else if (applied)
                    {
                        await InTransactionAsync((c, t) => _journal.MarkAsync(c, t, entry.Subsystem, entry.Migration, step, completed: true, cancellationToken), cancellationToken);
                        _reporter.Progress($"{where}: interrupted after its work was done; marked completed");
                        fixes++;
                    }
                    else if (absent)
                    {
                        await InTransactionAsync((c, t) => _journal.ForgetStepAsync(c, t, entry, cancellationToken), cancellationToken);
                        _reporter.Progress($"{where}: interrupted before its work was done; the next run does it again");
                        fixes++;
                    }
                    else
                    {
                        unfixable.Add($"{where}: interrupted, and the catalog cannot tell whether it completed; check it by hand, then run the command again (it re-runs this step)");
                    }
                }
                else if (!applied && !findings.All(f => f == CatalogFinding.Unknown))
                {
                    if (migration.IsNew)
                    {
                        await InTransactionAsync((c, t) => _journal.ForgetStepAsync(c, t, entry, cancellationToken), cancellationToken);
                        _reporter.Progress($"{where}: journalled as completed, but its effect is not in the database; the next run does it again");
                        fixes++;
                    }
                    else
                    {
                        var missing = step.Operations.Zip(findings).Where(p => p.Second != CatalogFinding.Applied && p.Second != CatalogFinding.Unknown)
                            .Select(p => $"{p.First.Describe()} ({p.Second.ToString().ToLowerInvariant()})");
                        unfixable.Add($"{where}: recorded as done, but the database lacks: {string.Join(", ", missing)}. Something changed the schema outside Gantry; restore it, or restore a backup");
                    }
                }
            }
        }
        foreach (var problem in unfixable)
            _reporter.Problem(problem);
        _reporter.Progress(fixes == 0 && unfixable.Count == 0
            ? "The journal matches the database; nothing to repair"
            : $"{fixes} journal entr{(fixes == 1 ? "y" : "ies")} repaired, {unfixable.Count} problem{(unfixable.Count == 1 ? "" : "s")} left that repair cannot fix");
        return new RepairOutcome(fixes, unfixable.Count);
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Drops everything in Gantry's schema or file. The caller has asked for confirmation.</summary>
    public async Task ResetAsync(CancellationToken cancellationToken = default)
    {
        if ((await _database.ListTablesAsync(cancellationToken)).Count == 0)
        {
            _reporter.Progress("Database not bootstrapped, nothing to reset");
            return;
        }
        // Any release may reset, including one the database has fenced out.
        await using var mutex = await AcquireLockAsync(cancellationToken, fenced: false);
        await _database.DropEverythingAsync(cancellationToken);
        _reporter.Progress("Database successfully reset");
    }

    /// <summary>The steps a command would run, without running anything.</summary>
    public Task<MigrationPlan> PlanAsync(MigrationCommand command, CancellationToken cancellationToken = default) =>
        new MigrationPlanner(this, _database, _journal).PlanAsync(command, cancellationToken);

    private static void CheckTablesExist(MigrationStatus status)
    {
        if (!status.HasStateTables)
            throw new MigrationException(MigrationFailure.NeedsBootstrap, "Database needs bootstrapping; run 'gantry migrations bootstrap'");
    }

    private static void CheckBootstrapped(MigrationStatus status)
    {
        CheckTablesExist(status);
        if (status.IncompleteBootstrap)
            throw new MigrationException(MigrationFailure.NeedsBootstrap, "the bootstrap of this database did not complete; run 'gantry migrations bootstrap' to complete it");
    }

    private void CheckUpPreconditions(MigrationStatus status)
    {
        CheckBootstrapped(status);
        // One upgrade at a time: a second expand on top of an unfinished one would interleave two
        // releases' contract steps.
        if (status.HasPending && !_options.Force)
        {
            throw new MigrationException(MigrationFailure.UpgradePending,
                $"Database has pending migrations from an earlier upgrade ({Describe(status.Pending)}); "
                + "run 'gantry migrations finish' before starting another upgrade");
        }
    }

    private bool ReportNew(MigrationStatus status)
    {
        if (!status.HasNew)
            return false;
        _reporter.Progress("New migrations available; run 'gantry migrations up' to proceed");
        return true;
    }

    /// <summary>--force: runs again what is recorded, for migrations written to be re-runnable.</summary>
    private async Task RerunRecordedAsync(IMigrationLock mutex, MigrationStatus status, RunSummary run, CancellationToken cancellationToken)
    {
        foreach (var group in status.Known.Where(m => !m.IsNew).GroupBy(m => m.Subsystem.Name))
        {
            _reporter.Progress($"re-running {group.Key} migrations on database '{_database.DisplayName}' (--force)...");
            foreach (var migration in group)
            {
                MigrationPhase[] phases = migration.IsExecuted ? [MigrationPhase.Up, MigrationPhase.Finish] : [MigrationPhase.Up];
                await RunMigrationAsync(mutex, migration, phases, migration.Record!.State, migration.Record.UpgradeId, run, cancellationToken,
                    ignoreJournal: true);
            }
        }
    }

    /// <summary>
    /// Runs the given phases of one migration, skipping the steps the journal says completed (an earlier
    /// run was interrupted after them), and records the migration in the commit of its last step.
    /// </summary>
    private async Task RunMigrationAsync(IMigrationLock mutex, KnownMigration migration, MigrationPhase[] phases, MigrationRecordState recordAs,
        string? upgradeId, RunSummary run, CancellationToken cancellationToken, bool ignoreJournal = false)
    {
        var subsystem = migration.Subsystem.Name;
        var name = migration.Migration.Name;
        var completed = ignoreJournal
            ? []
            : (await _journal.ReadAsync(subsystem, name, cancellationToken)).Where(e => e.Completed).Select(e => (e.Phase, e.Step)).ToHashSet();
        var defined = phases.SelectMany(phase => StepsOf(migration.Migration, phase)).ToList();
        var steps = defined.Where(s => !completed.Contains((s.Phase, s.Index))).ToList();
        // Only steps of the phases run now count: 'finish' finds the Up steps that 'up' completed in the
        // journal, and they say nothing about an interruption.
        if (steps.Count > 0 && steps.Count < defined.Count)
            _reporter.Progress($"{subsystem}/{name}: resuming at {steps[0].Phase.ToString().ToLowerInvariant()} step {steps[0].Index + 1} (earlier steps completed in an interrupted run)");

        var contracts = phases.Contains(MigrationPhase.Finish) && migration.Migration.Finish is not null;
        Func<DbConnection, DbTransaction, Task> record = async (connection, transaction) =>
        {
            await _state.RecordAsync(connection, transaction, subsystem, migration.Migration, recordAs, upgradeId, cancellationToken);
            // A contract step removes what older releases read: from now on they are fenced out.
            if (contracts)
                await ReleaseFence.RecordContractAsync(_state, connection, transaction, $"{subsystem}/{name}", _options.Owner, cancellationToken);
        };
        if (steps.Count == 0)
            await InTransactionAsync(record, cancellationToken);
        for (var i = 0; i < steps.Count; i++)
            await _executor.RunAsync(mutex, subsystem, name, steps[i], i == steps.Count - 1 ? record : null, cancellationToken);

        run.Add(recordAs);
        _reporter.Progress($"{subsystem} migrated up to: {name} ({(recordAs == MigrationRecordState.Executed ? "executed" : "pending")})");
    }

    internal IReadOnlyList<MigrationStepRun> StepsOf(Migration migration, MigrationPhase phase)
    {
        var step = phase == MigrationPhase.Up ? migration.Up : migration.Finish;
        return step is null ? [] : MigrationStepRun.Split(phase, step.Operations, _database.Kind);
    }

    private async Task InTransactionAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Polls a try-lock until the lock timeout, saying once who holds it. Once held, the release fence is
    /// checked again: a 'finish' of a newer release may have run while this process waited.
    /// </summary>
    private async Task<IMigrationLock> AcquireLockAsync(CancellationToken cancellationToken, bool fenced = true)
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
                        _reporter.Progress($"acquired the migration lock after {clock.Elapsed.TotalSeconds:F1}s");
                    if (fenced)
                        await ReleaseFence.EnsureAllowedAsync(_database, "run this command from Gantry {0} or newer", cancellationToken);
                    return mutex;
                }
                var holder = await mutex.DescribeHolderAsync(cancellationToken) ?? "another process";
                if (announced is null)
                {
                    _reporter.Progress($"waiting up to {_options.LockTimeout.TotalSeconds:0.#}s for the migration lock, held by {holder}...");
                    announced = holder;
                }
                var left = _options.LockTimeout - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    throw new MigrationException(MigrationFailure.LockTimeout,
                        $"timed out after {_options.LockTimeout.TotalSeconds:0.#}s waiting for the migration lock, held by {holder}; "
                        + "nothing was changed. Wait for that process to finish, or raise --lock-timeout");
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

        public void Print(IMigrationReporter reporter)
        {
            reporter.Progress($"{Total} migration{(Total == 1 ? "" : "s")} processed");
            reporter.Progress($"{Executed} executed");
            reporter.Progress($"{Pending} pending");
            reporter.Progress($"took {_clock.Elapsed.TotalSeconds:F2}s");
        }
    }
}

/// <summary>What 'repair' did: the journal entries it fixed, and the problems it reported but cannot fix.</summary>
public sealed record RepairOutcome(int Repaired, int Unfixable);

/// <summary>One migration a rollback undoes, with the undo steps and which of them already ran.</summary>
internal sealed record RollbackTarget(KnownMigration Migration, IReadOnlyList<MigrationStepRun> Steps, IReadOnlyList<MigrationOperation> Irreversible,
    IReadOnlySet<int> CompletedRollbackSteps);
