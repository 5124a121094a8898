using Gantry.Migrations;
using static Gantry.Migrations.ColumnType;
using static Gantry.Plugins.CredentialTables;

namespace Gantry.Plugins.HmacAuth;

/// <summary>The hmac-auth subsystem: the hmacauth_credentials table.</summary>
public static class HmacAuthMigrations
{
    private static readonly Migration Base = new("000_base_hmac_auth", new MigrationStep(
        new CreateTableOperation(CredentialTable("hmacauth_credentials")
            .Column("username", Text, unique: true)
            .Column("secret", Text)
            .Column("tags", TextArray)),
        ConsumerIndex("hmacauth_credentials")));

    public static Subsystem Subsystem { get; } = new("hmac-auth", isPlugin: true, [Base]);
}
