using Gantry.Configuration;
using Gantry.Store;

namespace Gantry.Migrations;

public enum MigrationCommand
{
    Bootstrap,
    Up,
    Finish,
    Rollback,
}

/// <summary>One step a command would run, with what it costs other sessions.</summary>
public sealed record PlannedStep(
    string Subsystem,
    string Migration,
    string Phase,
    int Step,
    string Description,
    IReadOnlyList<string> Statements,
    string Lock,
    string? Table,
    bool Rewrites,
    bool Scans,
    bool Transactional,
    bool Retryable,
    long? EstimatedRows,
    IReadOnlyList<string> Warnings);

/// <summary>The dry run of one command.</summary>
public sealed record MigrationPlan(string Command, string Database, string DatabaseKind, IReadOnlyList<PlannedStep> Steps, string? Refusal);

/// <summary>
/// Works out what bootstrap, up, finish or rollback would run, step by step, from the same state and the
/// same step split the runner uses, and changes nothing.
/// </summary>
internal sealed class MigrationPlanner(MigrationRunner runner, IDatabase database, MigrationJournal journal)
{
    public async Task<MigrationPlan> PlanAsync(MigrationCommand command, CancellationToken cancellationToken)
    {
        var status = await runner.ReadStatusAsync(cancellationToken);
        var steps = new List<(KnownMigration Migration, MigrationStepRun Step)>();
        string? refusal = null;
        switch (command)
        {
            case MigrationCommand.Bootstrap:
                if (status.BootstrapComplete)
                    refusal = "Database already bootstrapped";
                else
                    foreach (var migration in status.Known.Where(m => !m.IsExecuted))
                        await AddAsync(steps, migration, migration.IsPending ? [MigrationPhase.Finish] : [MigrationPhase.Up, MigrationPhase.Finish], cancellationToken);
                break;
            case MigrationCommand.Up:
                refusal = !status.HasStateTables || status.IncompleteBootstrap ? "Database needs bootstrapping"
                    : status.HasPending ? "Database has pending migrations from an earlier upgrade; run 'gantry migrations finish' first"
                    : !status.HasNew ? "Database is already up-to-date" : null;
                if (refusal is null)
                    foreach (var migration in status.Known.Where(m => m.IsNew))
                        await AddAsync(steps, migration, [MigrationPhase.Up], cancellationToken);
                break;
            case MigrationCommand.Finish:
                refusal = !status.HasStateTables ? "Database needs bootstrapping" : !status.HasPending ? "No pending migrations to finish" : null;
                if (refusal is null)
                    foreach (var migration in status.Known.Where(m => m.IsPending))
                        await AddAsync(steps, migration, [MigrationPhase.Finish], cancellationToken);
                break;
            case MigrationCommand.Rollback:
                if (!status.HasStateTables)
                {
                    refusal = "Database needs bootstrapping";
                    break;
                }
                var targets = await runner.PlanRollbackAsync(cancellationToken);
                refusal = targets.Count == 0 ? "nothing to roll back: no upgrade is between 'migrations up' and 'migrations finish'"
                    : targets.Any(t => t.Irreversible.Count > 0) ? "cannot roll back: some operations declare no undo" : null;
                foreach (var target in targets)
                    steps.AddRange(target.Steps.Where(s => !target.CompletedRollbackSteps.Contains(s.Index)).Select(s => (target.Migration, s)));
                break;
        }

        var planned = new List<PlannedStep>();
        if (steps.Count > 0)
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            var catalog = new Catalog(connection, database.Kind);
            var estimates = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (migration, step) in steps)
                planned.Add(await DescribeAsync(migration, step, catalog, estimates, cancellationToken));
        }
        return new MigrationPlan(command.ToString().ToLowerInvariant(), database.DisplayName,
            database.Kind == DatabaseKind.Postgres ? "postgres" : "sqlite", planned, refusal);
    }

    private async Task AddAsync(List<(KnownMigration, MigrationStepRun)> steps, KnownMigration migration, MigrationPhase[] phases, CancellationToken cancellationToken)
    {
        // Steps an interrupted run completed are not run again, so they are not planned either.
        var done = migration.IsNew || migration.IsPending
            ? await CompletedAsync(migration, cancellationToken)
            : [];
        foreach (var phase in phases)
        {
            foreach (var step in runner.StepsOf(migration.Migration, phase))
            {
                if (!done.Contains((phase, step.Index)))
                    steps.Add((migration, step));
            }
        }
    }

    private async Task<HashSet<(MigrationPhase, int)>> CompletedAsync(KnownMigration migration, CancellationToken cancellationToken)
    {
        if (!(await database.ListTablesAsync(cancellationToken)).Contains(MigrationJournal.Table))
            return [];
        var entries = await journal.ReadAsync(migration.Subsystem.Name, migration.Migration.Name, cancellationToken);
        return entries.Where(e => e.Completed).Select(e => (e.Phase, e.Step)).ToHashSet();
    }

    private async Task<PlannedStep> DescribeAsync(KnownMigration migration, MigrationStepRun step, Catalog catalog,
        Dictionary<string, long> estimates, CancellationToken cancellationToken)
    {
        var traits = step.Operations.Select(o => o.Traits(database.Kind)).ToList();
        var strongest = traits.MaxBy(t => t.Lock)!;
        long? rows = null;
        foreach (var table in traits.Select(t => t.Table).OfType<string>().Distinct())
        {
            if (!estimates.TryGetValue(table, out var estimate))
                estimates[table] = estimate = await catalog.EstimateRowsAsync(table, cancellationToken);
            rows = (rows ?? 0) + estimate;
        }
        var warnings = new List<string>();
        if (step.Phase == MigrationPhase.Up)
        {
            var violations = ExpandLint.Check(migration.Subsystem.Name, migration.Migration);
            var operations = migration.Migration.Up.Operations;
            warnings.AddRange(violations.Where(v => step.Operations.Contains(operations[v.Step])).Select(v => v.Reason));
        }
        return new PlannedStep(
            migration.Subsystem.Name,
            migration.Migration.Name,
            step.Phase.ToString().ToLowerInvariant(),
            step.Index + 1,
            step.Describe(),
            step.Statements(database.Kind),
            database.Kind == DatabaseKind.Postgres ? strongest.LockName : "database write lock",
            strongest.Table,
            traits.Any(t => t.Rewrites),
            traits.Any(t => t.Scans),
            step.Transactional,
            step.Transactional || traits.All(t => t.Retryable),
            rows,
            warnings);
    }

    public static string Names(IEnumerable<KnownMigration> migrations) =>
        string.Join(", ", migrations.Select(m => $"{m.Subsystem.Name}/{m.Migration.Name}"));
}
