using Gantry.Migrations;
using static Gantry.Migrations.ColumnType;
using static Gantry.Plugins.CredentialTables;

namespace Gantry.Plugins.OAuth2;

/// <summary>The oauth2 subsystem: applications (credentials), authorization codes and tokens.</summary>
public static class OAuth2Migrations
{
    private static readonly Migration Base = new("000_base_oauth2", new MigrationStep(
        new CreateTableOperation(CredentialTable("oauth2_credentials")
            .Column("name", Text)
            .Column("client_id", Text, unique: true)
            .Column("client_secret", Text)
            .Column("hash_secret", Bool)
            .Column("redirect_uris", TextArray)
            .Column("client_type", Text)
            .Column("tags", TextArray)),
        ConsumerIndex("oauth2_credentials"),
        new CreateIndexOperation("oauth2_credentials", "oauth2_credentials_secret_idx", "client_secret"),
        new CreateTableOperation(new TableDefinition("oauth2_authorization_codes")
            .PrimaryKey("id")
            .Column("created_at", BigInt, notNull: true)
            .ForeignKey("credential_id", "oauth2_credentials", OnDelete.Cascade)
            .ForeignKey("service_id", "services", OnDelete.Cascade)
            .ForeignKey("plugin_id", "plugins", OnDelete.Cascade)
            .Column("code", Text, unique: true)
            .Column("authenticated_userid", Text)
            .Column("scope", Text)
            .Column("challenge", Text)
            .Column("challenge_method", Text)
            .Column("ttl", BigInt)),
        new CreateIndexOperation("oauth2_authorization_codes", "oauth2_authorization_codes_authenticated_userid_idx", "authenticated_userid"),
        new CreateIndexOperation("oauth2_authorization_codes", "oauth2_authorization_codes_ttl_idx", "ttl"),
        new CreateTableOperation(new TableDefinition("oauth2_tokens")
            .PrimaryKey("id")
            .Column("created_at", BigInt, notNull: true)
            .ForeignKey("credential_id", "oauth2_credentials", OnDelete.Cascade)
            .ForeignKey("service_id", "services", OnDelete.Cascade)
            .Column("access_token", Text, unique: true)
            .Column("refresh_token", Text, unique: true)
            .Column("token_type", Text)
            .Column("expires_in", BigInt)
            .Column("scope", Text)
            .Column("authenticated_userid", Text)
            .Column("ttl", BigInt)),
        new CreateIndexOperation("oauth2_tokens", "oauth2_tokens_authenticated_userid_idx", "authenticated_userid"),
        new CreateIndexOperation("oauth2_tokens", "oauth2_tokens_ttl_idx", "ttl")));

    public static Subsystem Subsystem { get; } = new("oauth2", isPlugin: true, [Base]);
}
