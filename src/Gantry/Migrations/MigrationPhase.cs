using Gantry.Configuration;

namespace Gantry.Migrations;

public enum MigrationPhase
{
    Up,
    Finish,
    Rollback,
}

/// <summary>
/// A unit of execution and of the journal: consecutive transactional operations of one phase, run in one
/// transaction that also writes the journal row; or one operation that cannot run in a transaction.
/// </summary>
public sealed record MigrationStepRun(MigrationPhase Phase, int Index, IReadOnlyList<MigrationOperation> Operations, bool Transactional)
{
    public string Describe() => string.Join("; ", Operations.Select(o => o.Describe()));

    public IReadOnlyList<string> Statements(DatabaseKind kind) => Operations.SelectMany(o => o.Statements(kind)).ToList();

    /// <summary>The text the journal keeps, and the plan prints, for this step.</summary>
    public string Sql(DatabaseKind kind) => string.Join(";\n", Statements(kind));

    /// <summary>Splits a phase's operations into steps for the given database.</summary>
    public static IReadOnlyList<MigrationStepRun> Split(MigrationPhase phase, IReadOnlyList<MigrationOperation> operations, DatabaseKind kind)
    {
        var steps = new List<MigrationStepRun>();
        var group = new List<MigrationOperation>();
        foreach (var operation in operations)
        {
            if (operation.Traits(kind).Transactional)
            {
                group.Add(operation);
                continue;
            }
            if (group.Count > 0)
            {
                steps.Add(new MigrationStepRun(phase, steps.Count, group, true));
                group = [];
            }
            steps.Add(new MigrationStepRun(phase, steps.Count, [operation], false));
        }
        if (group.Count > 0)
            steps.Add(new MigrationStepRun(phase, steps.Count, group, true));
        return steps;
    }
}
