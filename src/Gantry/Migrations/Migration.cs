namespace Gantry.Migrations;

/// <summary>
/// One schema change of one subsystem. <see cref="Up"/> is the expand step: it may only add what the
/// previous release's code tolerates. <see cref="Finish"/>, when present, is the contract step that runs
/// once every node runs the new release; until then the migration is pending.
/// </summary>
public sealed class Migration
{
    public Migration(string name, MigrationStep up, MigrationStep? finish = null)
    {
        if (!MigrationName.IsValid(name))
            throw new ArgumentException($"migration name '{name}' must start with a three-digit order and an underscore, such as '000_base'", nameof(name));
        Name = name;
        Up = up;
        Finish = finish;
    }

    public string Name { get; }

    public MigrationStep Up { get; }

    public MigrationStep? Finish { get; }

    public override string ToString() => Name;
}

/// <summary>The operations of one phase of a migration, run in order in one transaction.</summary>
public sealed class MigrationStep(params MigrationOperation[] operations)
{
    public IReadOnlyList<MigrationOperation> Operations { get; } = operations;
}

internal static class MigrationName
{
    public static bool IsValid(string name) =>
        name.Length > 4 && char.IsAsciiDigit(name[0]) && char.IsAsciiDigit(name[1]) && char.IsAsciiDigit(name[2]) && name[3] == '_'
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
