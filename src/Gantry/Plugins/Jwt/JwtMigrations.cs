using Gantry.Migrations;
using static Gantry.Migrations.ColumnType;
using static Gantry.Plugins.CredentialTables;

namespace Gantry.Plugins.Jwt;

/// <summary>The jwt subsystem: the jwt_secrets table.</summary>
public static class JwtMigrations
{
    private static readonly Migration Base = new("000_base_jwt", new MigrationStep(
        new CreateTableOperation(CredentialTable("jwt_secrets")
            .Column("key", Text, unique: true)
            .Column("secret", Text)
            .Column("rsa_public_key", Text)
            .Column("algorithm", Text)
            .Column("tags", TextArray)),
        ConsumerIndex("jwt_secrets"),
        new CreateIndexOperation("jwt_secrets", "jwt_secrets_secret_idx", "secret")));

    public static Subsystem Subsystem { get; } = new("jwt", isPlugin: true, [Base]);
}
