using Gantry.Migrations;
using static Gantry.Migrations.ColumnType;
using static Gantry.Plugins.CredentialTables;

namespace Gantry.Plugins.BasicAuth;

/// <summary>The basic-auth subsystem: the basicauth_credentials table.</summary>
public static class BasicAuthMigrations
{
    private static readonly Migration Base = new("000_base_basic_auth", new MigrationStep(
        new CreateTableOperation(CredentialTable("basicauth_credentials")
            .Column("username", Text, unique: true)
            .Column("password", Text)
            .Column("tags", TextArray)),
        ConsumerIndex("basicauth_credentials")));

    public static Subsystem Subsystem { get; } = new("basic-auth", isPlugin: true, [Base]);
}
