using Gantry.Entities.Schema;
using Gantry.Migrations;
using static Gantry.Entities.Definitions.CommonFields;

namespace Gantry.Samples.HeaderStamp;

/// <summary>The plugin's own entity, a named header value, and the migration that creates its table.</summary>
public static class HeaderStamps
{
    public static EntitySchema Schema { get; } = new("header_stamps",
    [
        Id(),
        CreatedAt(),
        Name(required: true),
        new Field("value", FieldKind.String) { Required = true, MinLength = 1 },
        Tags(),
    ])
    {
        Table = "header_stamps",
        Path = "header-stamps",
        EndpointKey = "name",
    };

    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new("000_base_header_stamp", new MigrationStep(
            new CreateTableOperation(new TableDefinition("header_stamps")
                .PrimaryKey("id")
                .Column("created_at", ColumnType.BigInt, notNull: true)
                .Column("name", ColumnType.Text, unique: true)
                .Column("value", ColumnType.Text)
                .Column("tags", ColumnType.TextArray)))),
    ];
}
