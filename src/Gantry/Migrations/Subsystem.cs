namespace Gantry.Migrations;

/// <summary>
/// A named, ordered list of migrations: <c>core</c>, or a plugin that owns tables. The list order is the
/// execution order, and names must be strictly increasing so that a misplaced entry is caught at load.
/// </summary>
public sealed class Subsystem
{
    public Subsystem(string name, bool isPlugin, IReadOnlyList<Migration> migrations)
    {
        Name = name;
        IsPlugin = isPlugin;
        for (var i = 1; i < migrations.Count; i++)
        {
            if (string.CompareOrdinal(migrations[i - 1].Name, migrations[i].Name) >= 0)
                throw new ArgumentException($"subsystem '{name}': migration '{migrations[i].Name}' must sort after '{migrations[i - 1].Name}'");
        }
        Migrations = migrations;
    }

    public string Name { get; }

    public bool IsPlugin { get; }

    public IReadOnlyList<Migration> Migrations { get; }
}
