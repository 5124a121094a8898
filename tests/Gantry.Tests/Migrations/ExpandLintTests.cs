using Gantry.Entities.Migrations;
using Gantry.Migrations;

namespace Gantry.Tests.Migrations;

/// <summary>The expand/contract lint over every shipped migration, and over each forbidden operation.</summary>
public sealed class ExpandLintTests
{
    private static readonly TableDefinition Items = new TableDefinition("items").PrimaryKey("id", ColumnType.BigInt).Column("name", ColumnType.Text);

    private static IReadOnlyList<LintViolation> Lint(params MigrationOperation[] up) =>
        ExpandLint.Check("test", new Migration("001_test", new MigrationStep(up)));

    [Fact]
    public void Every_shipped_migration_passes()
    {
        // Every subsystem this build ships: core, and each bundled plugin that owns tables.
        var shipped = MigrationCatalog.For(new Gantry.Plugins.PluginCatalog([]).All, []);
        Assert.Contains(shipped, s => s.Name == "core");
        var violations = shipped.SelectMany(ExpandLint.Check).ToList();
        Assert.True(violations.Count == 0, string.Join("\n", violations));
        Assert.Same(CoreMigrations.Subsystem, shipped[0]);
    }

    public static TheoryData<string, MigrationOperation, string> Forbidden => new()
    {
        { "drop column", new DropColumnOperation("items", "name"), "drop it in Finish" },
        { "drop table", new DropTableOperation("items"), "drop it in Finish" },
        { "rename column", new RenameColumnOperation("items", "name", "title"), "renaming a column" },
        { "rename table", new RenameTableOperation("items", "things"), "renaming a table" },
        { "type change", new AlterColumnTypeOperation("items", "name", ColumnType.BigInt), "rewrites the table" },
        { "plain set not null", new SetNotNullOperation("items", "name"), "NOT VALID" },
        { "validated check", new AddCheckConstraintOperation("items", "c", "id > 0", notValid: false), "NOT VALID" },
        { "plain index on an existing table", new CreateIndexOperation("items", "items_name_idx", "name"), "CreateIndexConcurrentlyOperation" },
        { "drop index", new DropIndexOperation("items_name_idx", concurrently: true), "drop it in Finish" },
        { "volatile default", new AddColumnOperation("items", new ColumnDefinition("token", ColumnType.Uuid, Default: new SqlDefault("gen_random_uuid()", "(lower(hex(randomblob(16))))", Volatile: true))), "rewrite" },
        { "not null without default", new AddColumnOperation("items", new ColumnDefinition("size", ColumnType.BigInt, NotNull: true)), "NOT NULL column without a default" },
        { "raw sql without lock", new SqlOperation("UPDATE items SET name = 'x'", "UPDATE items SET name = 'x'", reason: "fix names"), "declare the lock level" },
        { "raw sql without reason", new SqlOperation("UPDATE items SET name = 'x'", "UPDATE items SET name = 'x'", LockLevel.RowExclusive), "the reason" },
    };

    [Theory]
    [MemberData(nameof(Forbidden))]
    public void Forbidden_operation_in_an_up_step_is_caught(string what, MigrationOperation operation, string reason)
    {
        var violation = Assert.Single(Lint(operation));
        Assert.Contains(reason, violation.Reason);
        Assert.Equal(0, violation.Step);
        Assert.False(string.IsNullOrEmpty(what));
    }

    [Fact]
    public void Forbidden_operations_are_allowed_in_finish()
    {
        var migration = new Migration("001_test", new MigrationStep(), new MigrationStep(new DropColumnOperation("items", "name"), new DropTableOperation("items")));
        Assert.Empty(ExpandLint.Check("test", migration));
    }

    [Fact]
    public void Safe_forms_pass()
    {
        Assert.Empty(Lint(
            new AddColumnOperation("items", new ColumnDefinition("label", ColumnType.Text)),
            new AddColumnOperation("items", new ColumnDefinition("size", ColumnType.BigInt, NotNull: true, Default: 0)),
            new AddColumnOperation("items", new ColumnDefinition("seen_at", ColumnType.Text, Default: new SqlDefault("now()", "CURRENT_TIMESTAMP", Volatile: false))),
            new CreateIndexConcurrentlyOperation("items", "items_label_idx", false, "label"),
            AddCheckConstraintOperation.NotNull("items", "label"),
            new ValidateConstraintOperation("items", "items_label_not_null"),
            new SetNotNullOperation("items", "label"),
            new AddCheckConstraintOperation("items", "positive", "id > 0", notValid: true),
            new SqlOperation("UPDATE items SET label = name WHERE id < 10", "UPDATE items SET label = name WHERE id < 10", LockLevel.RowExclusive, "seed a few labels", "items")));
    }

    [Fact]
    public void A_new_table_may_be_indexed_and_changed_freely_in_the_same_migration()
    {
        Assert.Empty(Lint(
            new CreateTableOperation(Items),
            new CreateIndexOperation("items", "items_name_idx", "name"),
            new SetNotNullOperation("items", "name")));
    }

    [Fact]
    public void Set_not_null_needs_the_check_validated_first()
    {
        var violation = Assert.Single(Lint(
            AddCheckConstraintOperation.NotNull("items", "name"),
            new SetNotNullOperation("items", "name")));
        Assert.Equal(1, violation.Step);
    }
}
