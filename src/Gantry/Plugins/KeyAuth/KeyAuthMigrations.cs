using Gantry.Migrations;
using static Gantry.Migrations.ColumnType;
using static Gantry.Plugins.CredentialTables;

namespace Gantry.Plugins.KeyAuth;

/// <summary>The key-auth subsystem: the keyauth_credentials table.</summary>
public static class KeyAuthMigrations
{
    private static readonly Migration Base = new("000_base_key_auth", new MigrationStep(
        new CreateTableOperation(CredentialTable("keyauth_credentials")
            .Column("key", Text, unique: true)
            .Column("ttl", BigInt)
            .Column("tags", TextArray)),
        ConsumerIndex("keyauth_credentials")));

    public static Subsystem Subsystem { get; } = new("key-auth", isPlugin: true, [Base]);
}
