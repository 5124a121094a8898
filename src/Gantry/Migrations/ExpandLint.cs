namespace Gantry.Migrations;

/// <summary>What the operations before the current one in a migration established, for the lint.</summary>
public sealed class ExpandLintContext
{
    public HashSet<string> CreatedTables { get; } = new(StringComparer.Ordinal);

    /// <summary>(table, column) pairs that a validated CHECK (column IS NOT NULL) covers.</summary>
    public HashSet<(string Table, string Column)> ValidatedNotNullChecks { get; } = [];

    /// <summary>Constraints added NOT VALID, by name, with the column they keep non-null (if any).</summary>
    public Dictionary<string, (string Table, string? NotNullColumn)> UnvalidatedChecks { get; } = new(StringComparer.Ordinal);
}

/// <summary>One operation that may not run where it stands.</summary>
public sealed record LintViolation(string Subsystem, string Migration, int Step, string Operation, string Reason)
{
    public override string ToString() => $"{Subsystem}/{Migration} up step {Step + 1} ({Operation}): {Reason}";
}

/// <summary>
/// The expand/contract rule: an Up step runs while the previous release still reads and writes, so it may
/// only add things in a form that neither breaks that release nor blocks its traffic. Destructive or
/// blocking operations belong in Finish, or in their safe form.
/// </summary>
public static class ExpandLint
{
    public static IReadOnlyList<LintViolation> Check(Subsystem subsystem)
    {
        var violations = new List<LintViolation>();
        foreach (var migration in subsystem.Migrations)
            violations.AddRange(Check(subsystem.Name, migration));
        return violations;
    }

    public static IReadOnlyList<LintViolation> Check(string subsystem, Migration migration)
    {
        var violations = new List<LintViolation>();
        var context = new ExpandLintContext();
        var operations = migration.Up.Operations;
        for (var i = 0; i < operations.Count; i++)
        {
            if (operations[i].ExpandViolation(context) is { } reason)
                violations.Add(new LintViolation(subsystem, migration.Name, i, operations[i].Describe(), reason));
            operations[i].Contribute(context);
        }
        return violations;
    }
}
